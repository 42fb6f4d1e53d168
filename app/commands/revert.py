"""`flagdeck revert COMMIT`: undo what a commit changed in a namespace (or in one flag) with a new commit, or with
`--restore` put it back as it was at that commit (`--break-glass REASON`: an admin's way into a protected
environment, recorded). Says what it committed, or exactly why it made no commit.
Exit status: 0 a commit was made, 1 no commit was made (the reason is printed), 2 usage."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.writing import glass
from gitstore.errors import FlagdeckError


@click.command("revert")
@click.argument("commit")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
@click.option("--env", "env", default=None, help="Environment (default: the configured default).")
@click.option("-n", "--namespace", "namespace", default="default", show_default=True, help="Namespace.")
@click.option("--flag", "flag", default=None, help="Only this flag's change (default: the whole namespace).")
@click.option("--restore", is_flag=True, help="Put the namespace (or flag) back as it was at COMMIT instead of "
                                              "undoing COMMIT's change.")
@click.option("--user", "user", default=None, help='Commit author "NAME <EMAIL>" (default: $FLAGDECK_USER, '
              "else Git's identity).")
@click.option("--break-glass", "reason", default=None, metavar="REASON",
              help="Admins: write to a protected environment without a proposal; REASON is recorded.")
def command(commit: str, config_path: Path | None, env: str | None, namespace: str, flag: str | None,
            restore: bool, user: str | None, reason: str | None) -> None:
    """Revert COMMIT (any revision: id, short id, HEAD~2) in an environment, as a new commit."""
    from app.authors import resolve_author
    from app.commands.access import open_cli_store
    from gitstore.model.revert import NothingToRevert
    from gitstore.results import Author

    try:
        author = resolve_author(user)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    what = f"flag {namespace}/{flag}" if flag else f"namespace {namespace}"
    try:
        store = open_cli_store(config_path, Author(*author) if author else None)
    except (FlagdeckError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        env = env or store.config.default_environment
        with glass(store, env, reason):
            if restore:
                result = store.restore(env, namespace, commit, flag=flag)
                click.echo(f"restored {what} in {env} to {commit}: committed {result.commit[:8]}")
            else:
                result = store.revert(env, namespace, commit, flag=flag)
                click.echo(f"reverted {commit} for {what} in {env}: committed {result.commit[:8]}")
        if result.pushed is False:
            click.echo(f"warning: not pushed yet: {store.sync_state(env).last_error or 'remote unreachable'}",
                       err=True)
    except NothingToRevert as exc:
        click.echo(f"no commit made: {exc}", err=True)
        raise SystemExit(1) from None
    except FlagdeckError as exc:
        raise click.ClickException(f"no commit made: {exc}") from None
    finally:
        store.close()
