"""Flagdeck's data plane: the pure evaluation engine and the Flipt-compatible aiohttp server."""
