"""Fixtures for the store tests: real repositories under tmp_path, configured through real flagdeck.yaml files."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType
from gitstore.store import Author, Store

ALICE = Author("Alice Example", "alice@example.com")
BOB = Author("Bob Example", "bob@example.com")


def write_config(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "flagdeck.yaml"
    path.write_text(body)
    return path


def single_env_config(root: Path, remote: str | None = None, poll: str = "1s", repo: str = "repo") -> Path:
    remote_line = f"    remote: {remote}\n" if remote else ""
    return write_config(root, f"storage:\n  local:\n    path: {repo}\n    branch: main\n{remote_line}"
                              f"    poll_interval: {poll}\nenvironments:\n  production: {{storage: local}}\n")


def boolean_flag(key: str, enabled: bool = False, name: str | None = None) -> Flag:
    return Flag(key=key, name=name or key.replace("-", " ").title(), type=FlagType.BOOLEAN, enabled=enabled)


def put_flag(key: str, enabled: bool = False, namespace: str = "default", name: str | None = None) -> Change:
    return Change(namespace, Kind.FLAG, key, boolean_flag(key, enabled, name))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    return init_demo(tmp_path / "demo")


@pytest.fixture
def demo_store(demo_config: Path) -> Iterator[Store]:
    store = Store(load_config(demo_config))
    yield store
    store.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """One environment on a fresh repository (holding only Flipt's `add initial README` commit)."""
    store = Store(load_config(single_env_config(tmp_path / "single")))
    yield store
    store.close()
