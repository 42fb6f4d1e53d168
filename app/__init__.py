"""Flagdeck's control plane: the `flagdeck` command line, the Textual console and the SSH server."""
