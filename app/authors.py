"""Who a commit made from the command line or the console is by: `--user`, `FLAGDECK_USER` or Git's identity."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*(?:<(?P<email>[^<>]*)>)?\s*$")


def parse_author(text: str) -> tuple[str, str]:
    """`"Ada Lovelace <ada@example.com>"` -> (name, email); a bare name gets `<name>@localhost`."""
    match = _AUTHOR.match(text or "")
    if not match:
        raise ValueError(f"not an author: {text!r} (expected 'NAME <EMAIL>')")
    name = match["name"]
    email = match["email"] or f"{re.sub(r'[^A-Za-z0-9._-]+', '.', name).strip('.') or 'user'}@localhost"
    return name, email


def git_identity() -> tuple[str, str] | None:
    """Git's configured `user.name`/`user.email` (global or system config), if any."""
    try:
        import pygit2

        config = pygit2.Config.get_global_config()
        name, email = config["user.name"], config["user.email"]
        return (name, email) if name is not None and email is not None else None
    except (KeyError, OSError, ImportError, pygit2.GitError):
        return None


def resolve_author(user: str | None, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The commit author: `--user`, else `FLAGDECK_USER`, else Git's identity (None: the store's fall-back)."""
    environ = os.environ if environ is None else environ
    text = user or environ.get("FLAGDECK_USER")
    return parse_author(text) if text else git_identity()
