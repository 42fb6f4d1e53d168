"""`flagdeck serve` / `python -m evaluator`: the evaluator's command line (one click command, used by both)."""

from __future__ import annotations

import logging

import click

from gitstore.errors import FlagdeckError


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=True), default=None,
              help="flagdeck.yaml (or its directory); without it: $FLAGDECK_CONFIG, then ./flagdeck.yaml, "
                   "then ./.flagdeck/flagdeck.yaml")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="port (0 = any free port; the chosen one is printed)")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="processes serving the same port")
@click.option("--cors/--no-cors", default=True, show_default=True,
              help="CORS headers on every answer (any origin) and preflight answers, for browser clients")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="allow browsers only from this origin (repeatable), e.g. https://app.example.com; default: any")
@click.option("--heartbeat", default=15.0, show_default=True, type=click.FloatRange(0),
              help="seconds between keep-alive comments on idle SSE streams (0 = none)")
@click.option("--hot-lane/--no-hot-lane", default=True, show_default=True,
              help="answer complete evaluation and snapshot requests on idle connections without aiohttp's "
                   "request/response objects (same answers, a fraction of the cost)")
@click.option("--access-log", is_flag=True, help="one line per request (aiohttp's format) on standard error")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def command(config_path: str | None, host: str, port: int, workers: int, cors: bool, cors_origins: tuple[str, ...],
            heartbeat: float, hot_lane: bool, access_log: bool, log_level: str) -> None:
    """Serve every configured environment to Flipt SDKs, OpenFeature providers and HTTP clients."""
    from evaluator.server.runner import serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if access_log:
        logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    try:
        status = serve(config_path, host, port, workers, cors=cors, cors_origins=cors_origins, heartbeat=heartbeat,
                       hot_lane=hot_lane, access_log=access_log)
    except FlagdeckError as exc:  # a bad configuration or a storage that cannot be opened: nothing was bound
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    raise SystemExit(status)
