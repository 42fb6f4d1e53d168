"""Steps on the real console over SSH shared by the end-to-end tests: open it, stage a toggle, commit, and read
the repository's log and flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitstore.config import load_config
from gitstore.store import Store

from .helpers import ssh_command


def git_log(config: Path, count: int) -> list[str]:
    repo = config.parent / "repo"
    out = subprocess.run(
        ["git", "-C", str(repo), "log", f"-{count}", "--format=%an <%ae>|%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()


def enabled(config: Path, env: str) -> dict[str, bool]:
    with Store(load_config(config)) as store:
        return {f.key: f.enabled for f in store.snapshot(env).namespaces["default"].document.flags}


def open_console(tmux, team, server, who: str, width: int = 110, height: int = 30):
    client = tmux(ssh_command(team.keys[who], server.port, "-tt"), width=width, height=height)
    client.wait_for("new-checkout", timeout=20)  # the flag list has rendered
    return client


def stage_toggle(client, flag: str, moves: int) -> None:
    client.keys(*(["Down"] * moves))
    client.wait_for(f"> {flag}")
    client.keys("Space")
    client.wait_for(f"* {flag}")


def commit_pending(client) -> None:
    client.keys("C-s")
    client.wait_for("Pending edits")
    client.keys("Enter")
