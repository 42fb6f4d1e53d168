"""`flagdeck ssh-server`: serve the console over SSH to a team (see docs/ssh.md)."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from pathlib import Path

import click

DEFAULT_STATE = Path.home() / ".flagdeck" / "ssh"


@click.command("ssh-server")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="flagdeck.yaml (default: $FLAGDECK_CONFIG, else ./flagdeck.yaml, else ./.flagdeck/flagdeck.yaml).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=2222,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port; the chosen one is logged).",
)
@click.option(
    "--host-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE / "host_ed25519",
    show_default=True,
    help="Host key file; an ed25519 key is generated there (mode 0600) on first start.",
)
@click.option(
    "--users",
    "users",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE / "users.yaml",
    show_default=True,
    help="Users file: public keys -> name, email and roles. Re-read for each new connection.",
)
@click.option(
    "--max-connections",
    default=32,
    show_default=True,
    type=click.IntRange(1),
    help="Concurrent connections allowed.",
)
@click.option(
    "--login-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds allowed to authenticate.",
)
@click.option(
    "--idle-timeout",
    default=1800.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds without input before a session is closed (0: never).",
)
@click.option(
    "--console-command",
    hidden=True,
    help="Program to run per session instead of `flagdeck console` (development and tests).",
)
def command(
    config: Path | None,
    host: str,
    port: int,
    host_key: Path,
    users: Path,
    max_connections: int,
    login_timeout: float,
    idle_timeout: float,
    console_command: str | None,
) -> None:
    """Serve the Flagdeck console over SSH (public-key authentication; one console per connection).

    Logs one JSON line per login, refusal, logout and commit on standard output."""
    from app.ssh.hostkey import HostKeyError
    from app.ssh.server import SSHSettings, serve
    from app.ssh.users import UsersFileError
    from gitstore.config import find_config, load_config
    from gitstore.errors import ConfigError, FlagdeckError

    try:
        # the same search as every other command: --config, $FLAGDECK_CONFIG, ./flagdeck.yaml, ./.flagdeck/
        config = find_config(config)
    except ConfigError as exc:
        if config is not None:
            raise click.ClickException(str(exc)) from None
        if console_command is None:
            raise click.ClickException(
                "no configuration: pass --config F, set FLAGDECK_CONFIG or run in the directory holding "
                "flagdeck.yaml or .flagdeck/flagdeck.yaml (flagdeck init makes one)"
            ) from None
        config = None  # a development console command may run without one
    if config is not None:
        try:
            load_config(config)  # fail now, not in every session's console
        except FlagdeckError as exc:
            raise click.ClickException(str(exc)) from None
    settings = SSHSettings(
        host_key=host_key,
        users=users,
        config=config,
        host=host,
        port=port,
        max_connections=max_connections,
        login_timeout=login_timeout,
        idle_timeout=idle_timeout,
        console_command=shlex.split(console_command) if console_command else None,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings))
    except (UsersFileError, HostKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

