"""`flagdeck serve` / `python -m evaluator`: the evaluator's command line (one click command, used by both).

Every option but `--config` and `--log-level` has a counterpart in flagdeck.yaml's `server:` section; an option given
on the command line wins, otherwise the file's value applies, otherwise the default shown in `--help`."""

from __future__ import annotations

import logging
from typing import TypeVar

import click
from click.core import ParameterSource

from gitstore.errors import FlagdeckError

_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
T = TypeVar("T")


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=True), default=None,
              help="flagdeck.yaml (or its directory); without it: $FLAGDECK_CONFIG, then ./flagdeck.yaml, "
                   "then ./.flagdeck/flagdeck.yaml")
@click.option("--host", default="127.0.0.1", help="address to listen on  [default: server.host, else 127.0.0.1]")
@click.option("--port", default=8080, type=click.IntRange(0, 65535),
              help="port (0 = any free port; the chosen one is printed)  [default: server.port, else 8080]")
@click.option("--workers", default=1, type=click.IntRange(1, 64),
              help="processes serving the same port  [default: server.workers, else 1]")
@click.option("--cors/--no-cors", default=True,
              help="CORS headers on every answer (any origin) and preflight answers, for browser clients  "
                   "[default: server.cors.enabled, else on]")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="allow browsers only from this origin (repeatable), e.g. https://app.example.com; replaces "
                   "server.cors.allowed_origins and turns CORS on unless --no-cors  [default: the file's, else any]")
@click.option("--heartbeat", default=15.0, type=click.FloatRange(0),
              help="seconds between keep-alive comments on idle SSE streams (0 = none)  "
                   "[default: server.heartbeat, else 15]")
@click.option("--hot-lane/--no-hot-lane", default=True,
              help="answer complete evaluation and snapshot requests on idle connections without aiohttp's "
                   "request/response objects (same answers, a fraction of the cost)  "
                   "[default: server.hot_lane, else on]")
@click.option("--access-log/--no-access-log", default=False,
              help="one line per request (aiohttp's format) on standard error  "
                   "[default: server.access_log, else off]")
@click.option("--header-timeout", default=10.0, type=click.FloatRange(0, min_open=True), metavar="SECONDS",
              help="a request's headers must arrive within this time of its first byte, else 408 and the "
                   "connection is closed  [default: server.header_timeout, else 10]")
@click.option("--body-timeout", default=30.0, type=click.FloatRange(0, min_open=True), metavar="SECONDS",
              help="a request's body must arrive within this time of its headers, else 408 and the connection is "
                   "closed  [default: server.body_timeout, else 30]")
@click.option("--idle-timeout", default=75.0, type=click.FloatRange(0, min_open=True), metavar="SECONDS",
              help="close a keep-alive connection idle this long  [default: server.idle_timeout, else 75]")
@click.option("--max-connections", default=10_000, type=click.IntRange(0), metavar="N",
              help="open connections per worker; beyond them new ones are answered 503 (0 = no cap; lowered to "
                   "what the open-file limit allows)  [default: server.max_connections, else 10000]")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="serve HTTPS with this PEM certificate (chain); needs --tls-key  [default: server.tls.cert_file]")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="the certificate's PEM private key (unencrypted)  [default: server.tls.key_file]")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def command(ctx: click.Context, config_path: str | None, host: str, port: int, workers: int, cors: bool,
            cors_origins: tuple[str, ...], heartbeat: float, hot_lane: bool, access_log: bool,
            header_timeout: float, body_timeout: float, idle_timeout: float, max_connections: int,
            tls_cert: str | None, tls_key: str | None, log_level: str) -> None:
    """Serve every configured environment to Flipt SDKs, OpenFeature providers and HTTP clients."""
    from evaluator.server.runner import serve

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together (or set server.tls in flagdeck.yaml)")

    def given(name: str, value: T) -> T | None:
        """The option's value when given on the command line, else None: flagdeck.yaml's `server:` decides."""
        return value if ctx.get_parameter_source(name) in _GIVEN else None

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        status = serve(config_path, given("host", host), given("port", port), given("workers", workers),
                       tls=(tls_cert, tls_key) if tls_cert and tls_key else None,
                       cors=given("cors", cors), cors_origins=cors_origins or None,
                       heartbeat=given("heartbeat", heartbeat), hot_lane=given("hot_lane", hot_lane),
                       access_log=given("access_log", access_log),
                       header_timeout=given("header_timeout", header_timeout),
                       body_timeout=given("body_timeout", body_timeout),
                       idle_timeout=given("idle_timeout", idle_timeout),
                       max_connections=given("max_connections", max_connections))
    except FlagdeckError as exc:  # a bad configuration, a storage that cannot be opened, an address in use
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot serve: {exc.strerror or exc}") from None
    raise SystemExit(status)
