"""`flagdeck doctor [--fix]`: find what a crash can leave in the configured repositories (stale lock files, an
interrupted work-tree update, a work tree and index behind the branch, symbolic links where namespaces would be) and,
with `--fix`, repair what is safe to repair. Exit status: 0 nothing left to do, 1 findings remain, 2 usage."""

from __future__ import annotations

from pathlib import Path

import click

from gitstore.errors import FlagdeckError


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from gitstore.config import parse_duration

    if value is None:
        return None
    if value.strip() in ("0", "0s"):
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("doctor")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--fix", is_flag=True, help="Remove stale locks, finish an interrupted work-tree update and bring a "
                                          "work tree left behind its branch up to it.")
@click.option("--older-than", "older_than", default=None, callback=_duration, metavar="DURATION",
              help="A lock file nobody holds is stale once this old (default: storage.<name>.stale_lock_after, "
                   "30s; 0 = as soon as nobody holds it).")
def command(config_path: Path | None, fix: bool, older_than: float | None) -> None:
    """Check the repositories for what a crash leaves behind; --fix repairs it."""
    from app.commands.access import env_roles
    from app.settings import load_flagdeck_config as load_config
    from gitstore import doctor
    from gitstore import roles as access

    try:
        config = load_config(config_path)
    except FlagdeckError as exc:
        raise click.ClickException(str(exc)) from None
    if fix:
        roles = env_roles()
        for env in config.environments:
            try:
                access.require(roles, env, access.Action.REPAIR, "this user", "doctor --fix")
            except FlagdeckError as exc:
                raise click.ClickException(str(exc)) from None
    findings = doctor.examine(config, fix=fix, older_than=older_than)
    for name, storage in config.storage.items():
        mine = [f for f in findings if f.storage == name]
        click.echo(f"{name} ({storage.path}): " + ("ok" if not mine else f"{len(mine)} finding(s)"))
        for finding in mine:
            click.echo(f"  {finding}")
    if any(not f.fixed for f in findings):
        raise SystemExit(1)
