"""`flagdeck console`: the Textual console over the configured Git store."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitstore.errors import FlagdeckError

if TYPE_CHECKING:
    from gitstore.config import Config

REMOTE_ENV = "FLAGDECK_REMOTE"  # "ssh" when `flagdeck ssh-server` runs the console for someone elsewhere


def require_terminal() -> None:
    """Refuse, with exit status 2, when standard input or output is not a terminal: a full-screen console would
    otherwise spin writing escape codes into a file or pipe with nobody to read them."""
    missing = [name for name, stream in (("input", sys.stdin), ("output", sys.stdout))
               if stream is None or not stream.isatty()]
    if missing:
        verb = "are not terminals" if len(missing) > 1 else "is not a terminal"
        click.echo(f"flagdeck console needs a terminal (standard {' and '.join(missing)} {verb})", err=True)
        raise click.exceptions.Exit(2)



def branch_refs(config: Config, key: str) -> bool:
    """Whether `key` may name a branch environment (NAME or ENV/NAME): some environment's repository has a Git
    branch `flipt/ENV/NAME`, local or fetched, or its remote may have one (fetched when the store opens)."""
    import pygit2

    from gitstore.branches import names_in

    env, _, name = key.rpartition("/")
    for base, cfg in config.environments.items():
        storage = config.storage[cfg.storage]
        if env and env != base:
            continue
        if storage.remote:
            return True
        try:
            if name in names_in(pygit2.Repository(str(storage.path)), base):
                return True
        except pygit2.GitError:
            continue
    return False

@click.command("console")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="flagdeck.yaml (default: $FLAGDECK_CONFIG, else ./flagdeck.yaml, else "
                   "./.flagdeck/flagdeck.yaml).")
@click.option("--env", "env", default=None, help="Environment to open (default: the one open when the console was "
              "last left, else the configured default).")
@click.option("--namespace", "namespace", default=None, help="Namespace to open (default: the one last open in that "
              "environment, else default).")
@click.option("--user", "user", default=None, help='Commit author "NAME <EMAIL>" (default: $FLAGDECK_USER, '
              "else Git's identity).")
@click.option("--sample", "sample_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="JSON lines of {entityId, context}: real contexts added to the impact preview's population.")
def command(config_path: Path | None, env: str | None, namespace: str | None, user: str | None,
            sample_path: Path | None) -> None:
    """Manage flags, segments and namespaces in a terminal; every change is reviewed and committed."""
    from app.authors import resolve_author
    from app.commands.access import env_roles
    from app.session import Session
    from app.settings import load_flagdeck_config as load_config
    from gitstore.store import Author, Store

    try:
        author = resolve_author(user)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    roles = env_roles()
    from app.insight.impact import load_sample

    try:
        sample = load_sample(sample_path) if sample_path else []
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        config = load_config(config_path)
        if env is not None and env not in config.environments and not branch_refs(config, env):
            raise click.ClickException(f"no environment {env!r} in {config.path}: "
                                       f"known are {', '.join(config.environments)} and their branches")
        require_terminal()  # before the store opens (it may fetch a remote)
        store = Store(config, roles=roles, identity=Author(*author) if author else None)
        from app.ssh.report import commit_reporter

        store.on_commit = commit_reporter(os.environ)  # run by `flagdeck ssh-server`: tell it which commits are ours
    except (FlagdeckError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    from app.insight.places import LastPlace

    places = LastPlace(config.path or Path("flagdeck.yaml"))
    last = places.get(env)  # --env wins; without it, the environment last open if it still exists
    if env is None:
        env = last.env if last.env in config.environments else config.default_environment
        last = places.get(env)
    session = Session(store, env=env, namespace=namespace or last.namespace or "default", author=author, roles=roles,
                      freeze_gc=True, namespace_remembered=namespace is None and last.namespace is not None,
                      remember=places.remember)
    # the environment is read while the console's modules load (100,000 flags: its parse overlaps them)
    threading.Thread(target=session.read_ahead, name="flagdeck-read-ahead", daemon=True).start()
    from app.console import ConsoleApp

    try:
        app = ConsoleApp(session, remote=os.environ.get(REMOTE_ENV) == "ssh")
        app.insight.sample = sample
        app.run()
    finally:
        store.close()
