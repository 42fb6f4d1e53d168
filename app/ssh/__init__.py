"""Serving the Flagdeck console over SSH: server, users file, host key, session PTYs and the JSON log."""
