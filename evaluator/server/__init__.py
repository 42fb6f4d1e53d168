"""The evaluator's HTTP server: Flipt v2 compatible evaluation, client snapshots, streams and OFREP.

`create_app` is imported on first use, so `evaluator.server.cli` (`flagdeck serve --help`) loads without aiohttp."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluator.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from evaluator.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
