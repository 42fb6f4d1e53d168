"""Fixtures for automation: the demo repository (production and staging) opened through real flagdeck.yaml files,
and `flagdeck` run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.store import Author, Store

ROOT = Path(__file__).resolve().parents[2]
ALICE = Author("Alice Example", "alice@example.com")
PROTECT = "protect: {proposals: required, approvals: 1, approvers: admin}"


def protect(config: Path) -> Path:
    """Protect production in a demo's flagdeck.yaml."""
    text = config.read_text()
    config.write_text(text.replace("production: {storage: local, directory: production, default: true}",
                                   f"production: {{storage: local, directory: production, default: true, {PROTECT}}}"))
    return config


def flagdeck(config: Path, *args: str, user: str = "Alice Example <alice@example.com>", roles: str = "",
             timeout: float = 60) -> tuple[int, str, str]:
    env = {**os.environ, "FLAGDECK_CONFIG": str(config), "FLAGDECK_ROLES": roles, "FLAGDECK_USER": user}
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def open_store(config: Path, who: Author | None = ALICE, roles: dict[str, str] | None = None) -> Store:
    return Store(load_config(config), roles=roles, identity=who)


def messages(config: Path, limit: int = 20) -> list[str]:
    """The newest commit messages of the demo repository's branch (every environment: one branch), newest first."""
    import pygit2

    repo = pygit2.Repository(str(config.parent / "repo"))
    found = []
    for commit in repo.walk(repo.references["refs/heads/main"].target):
        found.append(commit.message)
        if len(found) == limit:
            break
    return found


def trailer(message: str, key: str) -> str | None:
    return next((line.split(": ", 1)[1] for line in message.splitlines() if line.startswith(f"{key}: ")), None)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return init_demo(tmp_path / "demo")
