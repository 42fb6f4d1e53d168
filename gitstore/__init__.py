"""Flagdeck's storage and domain model: Flipt-format documents on Git branches."""
