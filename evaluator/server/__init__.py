"""The evaluator's HTTP server: Flipt v2 compatible evaluation, client snapshots, streams and OFREP."""

from evaluator.server.app import create_app

__all__ = ["create_app"]
