"""What the commands that write (`flagdeck flag`, `schedule`, `unschedule`, `ramp`) share: the store opened as the
acting user (`--user`, else `FLAGDECK_USER`, else Git's identity; roles from `FLAGDECK_ROLES`), `--break-glass`,
and one rule for refusals: exit 1 with one line saying why (role, protection, conflict, not found, invalid)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from gitstore.results import Author, CommitResult
    from gitstore.store import Store

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="flagdeck.yaml (default: $FLAGDECK_CONFIG, ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml).")
user_option = click.option("--user", "user", default=None,
                           help='Acting user "NAME <EMAIL>" (default: $FLAGDECK_USER, else Git\'s identity).')
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
env_option = click.option("--env", "env", default=None, help="Environment (default: the configured default).")
namespace_option = click.option("-n", "--namespace", "namespace", default="default", show_default=True,
                                help="Namespace.")
glass_option = click.option("--break-glass", "reason", default=None, metavar="REASON",
                            help="Admins: write to a protected environment without a proposal; REASON is recorded.")


def stacked(*options: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying click options in the order written (the first is listed first in --help)."""
    def apply(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


writer_options = stacked(user_option, glass_option, json_option, config_option)  # what every writing command takes


def glass(store: Store, env: str, reason: str | None) -> contextlib.AbstractContextManager[object]:
    """`--break-glass REASON`: the store's break glass for `env` (admins, protected environments), else nothing."""
    return store.break_glass(env, reason) if reason is not None else contextlib.nullcontext()


def open_as(config_path: Path | None, user: str | None) -> tuple[Store, Author | None]:
    """The configured store opened as the acting user; a bad `--user` is a usage error, a store that cannot be
    opened a one-line error (both before anything is written)."""
    from app.authors import resolve_author
    from app.commands.access import open_cli_store
    from gitstore.errors import FlagdeckError
    from gitstore.results import Author

    try:
        identity = resolve_author(user)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    author = Author(*identity) if identity else None
    try:
        return open_cli_store(config_path, author), author
    except (FlagdeckError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """A refusal (role, protection, conflict, not found, invalid) exits 1 with one line on standard error."""
    from gitstore.errors import FlagdeckError

    try:
        yield
    except FlagdeckError as exc:
        click.echo(f"refused: {' '.join(str(exc).split())}", err=True)
        raise SystemExit(1) from None


@contextlib.contextmanager
def writing(config_path: Path | None, user: str | None, env: str | None = None,
            reason: str | None = None) -> Iterator[tuple[Store, str, Author | None]]:
    """(store, environment, author) for one write; any refusal exits 1 with one line on standard error."""
    store, author = open_as(config_path, user)
    try:
        with refusals():
            name = env or store.config.default_environment
            with glass(store, name, reason):
                yield store, name, author
    finally:
        store.close()


def direct_or_proposed(store: Store, env: str, reason: str | None, kind: str, namespace: str, key: str,
                       author: Author | None, write: Callable[[str, bool], tuple[Any, CommitResult]],
                       as_json: bool = False) -> tuple[Any, CommitResult | None]:
    """A schedule or a ramp (`write(environment, proposed)` records it): written to `env`, or, in a protected
    environment without `--break-glass`, proposed (`gitstore.automation.proposed`: a branch holding the record, and
    a proposal whose merge adds it), said on standard output; (record, commit), or (record, None) when proposed."""
    from gitstore.proposals.protection import protected

    if reason is not None or not protected(store.config, env):
        return write(env, False)
    from gitstore.automation import proposed

    (made, _), status = proposed.open_proposal(store, env, proposed.stem_of(kind, namespace, key), author,
                                               lambda branch: write(branch, True), proposed.title_of(kind, env))
    if as_json:
        click.echo(json.dumps({"environment": env, "proposal": status.id, "branch": status.proposal.branch,
                               kind: made.model_dump(mode="json")}, indent=2))
    else:
        click.echo(f"{env} is protected: opened proposal {status.id} (branch {status.proposal.branch}); once "
                   f"approved and merged it adds {kind} {made.id}: {made.what()}"
                   + (f" at {made.at.isoformat()}" if hasattr(made, "at") else ""))
    return made, None


def report(store: Store, env: str, result: CommitResult, what: str, as_json: bool, **extra: Any) -> None:
    """Say what was committed (or that nothing changed), and warn when the commit waits to be pushed."""
    if as_json:
        click.echo(json.dumps({"environment": env, "commit": result.commit, "created": result.created,
                               "pushed": result.pushed, **extra}, indent=2, default=str))
    elif result.created:
        click.echo(f"{what} in {env}: committed {result.commit[:8]}")
    else:
        click.echo(f"{what} in {env}: already so, no commit made")
    if result.pushed is False:
        click.echo(f"warning: not pushed yet: {store.sync_state(env).last_error or 'remote unreachable'}", err=True)


def parse_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() in ("true", "on", "yes", "1")


bool_choice = click.Choice(["true", "false", "on", "off"], case_sensitive=False)


def parse_rollouts(values: tuple[str, ...]) -> dict[str, float] | None:
    """`--rollout VARIANT=PCT` (repeatable) as a distribution; `click.BadParameter` for a malformed one."""
    if not values:
        return None
    found: dict[str, float] = {}
    for value in values:
        key, sep, pct = value.partition("=")
        try:
            found[key.strip()] = float(pct.strip().rstrip("%"))
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r}: expected VARIANT=PERCENT, e.g. blue=25", param_hint="--rollout")
    return found
