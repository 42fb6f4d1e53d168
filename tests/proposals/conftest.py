"""Fixtures for proposals: the demo repository (production and staging) with production protected, real stores
opened on real flagdeck.yaml files; remotes are real bare repositories."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.model.changes import Change, Kind
from gitstore.store import Author, Store

ALICE = Author("Alice Example", "alice@example.com")
BOB = Author("Bob Example", "bob@example.com")
CAROL = Author("Carol Example", "carol@example.com")
PROTECT = "protect: {proposals: required, approvals: 1, approvers: admin}"


def protect(config: Path, policy: str = PROTECT, remote: str | None = None) -> Path:
    """Protect production in a demo's flagdeck.yaml (and give its storage a remote)."""
    text = config.read_text()
    text = text.replace("production: {storage: local, directory: production, default: true}",
                        f"production: {{storage: local, directory: production, default: true, {policy}}}")
    if remote is not None:
        text = re.sub(r"remote: null.*", f"remote: {remote}", text)
    config.write_text(text)
    return config


def open_as(config: Path, who: Author | None, roles: dict[str, str] | None = None) -> Store:
    return Store(load_config(config), roles=roles, identity=who)


def toggle(store: Store, env: str, key: str = "new-checkout", namespace: str = "default") -> Change:
    """The change that flips a flag's `enabled` in `env` as it is now."""
    flag = store.snapshot(env).document(namespace).flag(key)
    return Change(namespace, Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))


def bare(path: Path) -> Path:
    pygit2.init_repository(str(path), bare=True, initial_head="main")
    return path


def message(store: Store, env: str) -> str:
    return store.history(env, "default", limit=1)[0].message


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return protect(init_demo(tmp_path / "demo"))


@pytest.fixture
def admin(config: Path) -> Iterator[Store]:
    store = open_as(config, BOB)
    yield store
    store.close()
