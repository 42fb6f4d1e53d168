"""Fixtures for branch environments: real repositories in tmp_path, a real bare remote and clones of it."""

from __future__ import annotations

import os

# the console tests here render as tests/console's do: Textual reads TEXTUAL_* when it is imported
for _name in [n for n in os.environ if n.startswith("TEXTUAL_") and n != "TEXTUAL_SNAPSHOT_TEMPDIR"] + ["ESCDELAY"]:
    os.environ.pop(_name, None)
os.environ["TEXTUAL_ANIMATIONS"] = "none"

from pathlib import Path  # noqa: E402

import pygit2  # noqa: E402

from gitstore.config import load_config  # noqa: E402
from gitstore.model.changes import Change, Kind  # noqa: E402
from gitstore.model.documents import Flag, FlagType  # noqa: E402
from gitstore.store import Author, Store  # noqa: E402

ALICE = Author("Alice Example", "alice@example.com")
BOB = Author("Bob Example", "bob@example.com")


def write_config(root: Path, remote: str | None = None, poll: str = "1s") -> Path:
    """Two environments in one repository (staging in `staging/`, production at the root), optional remote."""
    root.mkdir(parents=True, exist_ok=True)
    remote_line = f"    remote: {remote}\n" if remote else ""
    path = root / "flagdeck.yaml"
    path.write_text(f"storage:\n  local:\n    path: repo\n    branch: main\n{remote_line}    poll_interval: {poll}\n"
                    "environments:\n  production: {storage: local, default: true}\n"
                    "  staging: {storage: local, directory: staging}\n")
    return path


def open_store(root: Path, remote: str | None = None, poll: str = "1s", **kwargs: object) -> Store:
    return Store(load_config(write_config(root, remote, poll)), **kwargs)  # type: ignore[arg-type]


def bare(path: Path) -> Path:
    pygit2.init_repository(str(path), bare=True, initial_head="main")
    return path


def refs(path: Path, prefix: str = "refs/heads/flipt/") -> dict[str, str]:
    repo = pygit2.Repository(str(path))
    return {name: str(repo.references[name].target) for name in repo.listall_references() if name.startswith(prefix)}


def flag(key: str, enabled: bool, namespace: str = "default") -> Change:
    return Change(namespace, Kind.FLAG, key, Flag(key=key, name=key.title(), type=FlagType.BOOLEAN, enabled=enabled))


def enabled(store: Store, env: str, key: str, namespace: str = "default") -> bool | None:
    doc = store.snapshot(env).document(namespace)
    found = next((f for f in doc.flags if f.key == key), None) if doc is not None else None
    return found.enabled if found is not None else None
