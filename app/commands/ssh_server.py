"""`flagdeck ssh-server`: serve the console over SSH to a team (see docs/ssh.md)."""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path

import click
from click.core import ParameterSource

DEFAULT_STATE = Path.home() / ".flagdeck" / "ssh"
_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


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
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE,
    show_default=True,
    help="The server's own files: host key and users file (unless given), and each person's console state.",
)
@click.option(
    "--host-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Host key file (default: STATE_DIR/host_ed25519); an ed25519 key is generated there (mode 0600) on "
    "first start.",
)
@click.option(
    "--users",
    "users",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Users file: public keys -> name, email and roles (default: STATE_DIR/users.yaml). Read again for each "
    "new connection and every second; a key gone or a role lowered ends that person's open sessions.",
)
@click.option("--max-connections", default=32, show_default=True, type=click.IntRange(1),
              help="Concurrent connections allowed.")
@click.option("--max-connections-per-address", default=8, show_default=True, type=click.IntRange(1),
              help="Concurrent connections allowed from one client address.")
@click.option("--max-auth-tries", default=6, show_default=True, type=click.IntRange(1),
              help="Keys a connection may offer without success before it is disconnected.")
@click.option("--max-sessions-per-connection", default=2, show_default=True, type=click.IntRange(1),
              help="Session channels open at once on one connection.")
@click.option("--max-consoles-per-user", default=3, show_default=True, type=click.IntRange(1),
              help="Consoles one person may have running at once.")
@click.option("--max-consoles", default=16, show_default=True, type=click.IntRange(1),
              help="Consoles running at once in total (each is a process of some 60-70 MB).")
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
@click.pass_context
def command(
    ctx: click.Context,
    config: Path | None,
    host: str,
    port: int,
    state_dir: Path,
    host_key: Path | None,
    users: Path | None,
    max_connections: int,
    max_connections_per_address: int,
    max_auth_tries: int,
    max_sessions_per_connection: int,
    max_consoles_per_user: int,
    max_consoles: int,
    login_timeout: float,
    idle_timeout: float,
    console_command: str | None,
) -> None:
    """Serve the Flagdeck console over SSH (public-key authentication; one console per session).

    Logs one JSON line per login, refusal, logout, revocation and commit on standard output. Each option not given
    comes from flagdeck.yaml's `ssh:` section, else the default shown."""
    import asyncio

    from app.settings import SshConfig, load_flagdeck_config
    from app.ssh.hostkey import HostKeyError
    from app.ssh.server import SSHSettings, serve
    from app.ssh.users import UsersFileError
    from gitstore.config import find_config
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
    file = SshConfig()
    if config is not None:
        config = config.resolve()  # the consoles and the log get the absolute path
        try:
            file = load_flagdeck_config(config).ssh  # fail now, not in every session's console
        except FlagdeckError as exc:
            raise click.ClickException(str(exc)) from None
    # an option given on the command line wins over the file's `ssh:` section, which wins over the default
    chosen = {name: ctx.params[name] if ctx.get_parameter_source(name) in _GIVEN else getattr(file, name)
              for name in SshConfig.model_fields}
    state_dir, host, port = chosen.pop("state_dir"), chosen["host"], chosen["port"]
    settings = SSHSettings(
        state_dir=state_dir,
        host_key=chosen.pop("host_key") or state_dir / "host_ed25519",
        users=chosen.pop("users") or state_dir / "users.yaml",
        config=config,
        **chosen,
        console_command=shlex.split(console_command) if console_command else None,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings))
    except (UsersFileError, HostKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

