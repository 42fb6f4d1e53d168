"""`flagdeck branch create|list|delete --env ENV`: branch environments (issue 15; Flipt v2's `flipt/ENV/NAME` Git
branches, gitstore/branches.py). A branch is an environment of its own, keyed NAME: edit, evaluate and serve it
as any environment, with `--env NAME`.
Exit status: 0 done, 1 refused (one line says why: a taken name, a role, an unreachable remote), 2 usage (an
unknown environment, a name Git cannot use)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from gitstore.store import Store

T = TypeVar("T")
CONFIG_HELP = "flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml)."


def _options(fn: Callable[..., T]) -> Callable[..., T]:
    fn = click.option("--env", "env", required=True, help="The environment the branch is (or will be) of.")(fn)
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help=CONFIG_HELP)(fn)


@contextmanager
def _store(config_path: Path | None, user: str | None = None) -> Iterator[Store]:
    """The store, and the errors a branch command turns into its exit status: usage 2, refused 1."""
    from app.authors import resolve_author
    from app.commands.access import open_cli_store
    from gitstore.branches import BranchNameError
    from gitstore.errors import ConfigError, FlagdeckError
    from gitstore.results import Author

    try:
        author = resolve_author(user)
        store = open_cli_store(config_path, Author(*author) if author else None)
    except (FlagdeckError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    try:
        yield store
    except (BranchNameError, ConfigError) as exc:
        raise click.UsageError(str(exc)) from None
    except FlagdeckError as exc:
        raise click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    finally:
        store.close()


@click.group("branch")
def command() -> None:
    """Branch environments: create, list (--json) and delete the branches of an environment (--env)."""


@command.command("create")
@click.argument("name")
@_options
@click.option("--user", "user", default=None, help='Who creates it "NAME <EMAIL>" (default: $FLAGDECK_USER, '
              "else Git's identity).")
def create(name: str, env: str, config_path: Path | None, user: str | None) -> None:
    """Create branch NAME of ENV from ENV's tip (Git branch flipt/ENV/NAME), pushed when there is a remote."""
    with _store(config_path, user) as store:
        info = store.branch(env, name)
        state = store.sync_state(info.name)
        click.echo(f"created branch {info.name} of {env} (Git branch {info.branch}) at {store.head(info.name)}")
        if info.remote and state.reachable is not True:  # its push went through, or it stays local for now
            click.echo(f"warning: not pushed yet: {state.last_error or 'remote unreachable'}", err=True)


@command.command("list")
@_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {branches: [...]}, Flipt's shape with "
                                                      "ahead, behind and head.")
def list_branches(env: str, config_path: Path | None, as_json: bool) -> None:
    """List ENV's branches: key, Git ref, environment, and commits ahead of and behind ENV."""
    with _store(config_path) as store:
        found = store.branches(env)
    if as_json:
        click.echo(json.dumps({"branches": [{"key": b.key, "ref": b.ref, "environmentKey": b.environment_key,
                                             "head": b.head, "ahead": b.ahead, "behind": b.behind}
                                            for b in found]}, indent=2))
        return
    if not found:
        click.echo(f"{env} has no branches")
        return
    rows = [("KEY", "REF", "ENVIRONMENT", "AHEAD", "BEHIND")]
    rows += [(b.key, b.ref, b.environment_key, str(b.ahead), str(b.behind)) for b in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@command.command("delete")
@click.argument("name")
@_options
def delete(name: str, env: str, config_path: Path | None) -> None:
    """Delete branch NAME of ENV, on the remote too."""
    with _store(config_path) as store:
        store.delete_branch(env, name)
    click.echo(f"deleted branch {name} of {env}")
