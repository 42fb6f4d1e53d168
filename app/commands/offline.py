"""A one-line warning for commands that read an environment whose remote could not be reached: they then work on
the local copy, which may be behind the remote (or hold commits not pushed yet), and the user should know."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gitstore.git.snapshot import Snapshot
    from gitstore.store import Store


def warn_if_offline(store: Store, env: str) -> None:
    """Print `warning: remote URL unreachable (...); using the local copy at COMMIT (N commits not pushed)` to
    standard error when the environment's remote failed at the last fetch or push; nothing otherwise."""
    state = store.sync_state(env)
    if state.remote is None or state.reachable is not False:
        return
    head = store.head(env)
    where = f" at {head[:8]}" if head else ""
    unpushed = f" ({state.ahead} commit{'s' if state.ahead != 1 else ''} not pushed)" if state.ahead else ""
    reason = f" ({state.last_error})" if state.last_error else ""
    click.echo(f"warning: remote {state.remote} unreachable{reason}; using the local copy of {env}{where}{unpushed}",
               err=True)


def read_snapshot(config: Path | None, env: str | None, commit: str | None = None) -> Snapshot:
    """The environment's snapshot (`env` None: the configured default) at `commit` or its branch tip, with the
    offline warning above; the store is closed again. Raises `FlagdeckError`."""
    from app.commands.access import open_cli_store

    store = open_cli_store(config)
    try:
        env = env or store.config.default_environment
        snapshot = store.snapshot(env, commit)
        warn_if_offline(store, env)
    finally:
        store.close()
    return snapshot
