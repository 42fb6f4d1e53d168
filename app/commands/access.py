"""What every command that acts on a store shares: the roles from `FLAGDECK_ROLES` (decided by `gitstore.roles`,
the same for the console, the other commands and the SSH server's sessions) and a store opened with them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitstore import roles as access

if TYPE_CHECKING:
    from gitstore.results import Author
    from gitstore.store import Store


def env_roles() -> dict[str, str] | None:
    """`FLAGDECK_ROLES` (JSON, e.g. {"*": "editor"}); None when unset: the local user is admin everywhere."""
    try:
        return access.parse_roles(os.environ.get("FLAGDECK_ROLES"))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def open_cli_store(config: Path | None, identity: Author | None = None) -> Store:
    """A Store on the configuration found from `config`, with the roles of `FLAGDECK_ROLES`."""
    from app.settings import load_flagdeck_config
    from gitstore.store import Store

    return Store(load_flagdeck_config(config), roles=env_roles(), identity=identity)
