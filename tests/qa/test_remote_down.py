"""A remote that is down: commits stay local, say so, and nothing hangs or is lost. The hard case is a remote that
accepts the connection and then never answers (a hung server): without a network timeout every fetch, and so the
Store's start-up and every commit, waited forever."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from gitstore.demo import init_demo

COMMIT_ONE_FLAG = """
import json, sys
from gitstore.model.changes import Change, Kind
from gitstore.store import open_store
from gitstore.results import Author

store = open_store(sys.argv[1])
try:
    snap = store.snapshot("staging")
    flag = next(f for f in snap.namespaces["default"].document.flags if f.key == "maintenance-mode")
    change = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
    result = store.commit("staging", [change], Author("QA", "qa@example.com"), snap.commit)
    state = store.sync_state("staging")
    print(json.dumps({"commit": result.commit, "pushed": result.pushed, "ahead": state.ahead,
                      "reachable": state.reachable, "error": state.last_error}))
finally:
    store.close()
"""


@pytest.fixture
def silent_remote() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that completes the handshake (the listen backlog) but never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def demo_with_remote(tmp_path: Path, remote: str, timeout: str | None) -> Path:
    """The demo of `flagdeck init` with `remote` set, and `timeout` set (None: the line removed, the default)."""
    demo = tmp_path / "demo"
    config = demo / "flagdeck.yaml" if demo.exists() else init_demo(demo)
    text = config.read_text().replace("remote: null", f"remote: {remote}")
    lines = [line for line in text.splitlines() if not line.strip().startswith("timeout:")]
    if timeout is not None:
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("poll_interval:"))
        lines.insert(at + 1, f"    timeout: {timeout}")
    config.write_text("\n".join(lines) + "\n")
    return config


def commit_in_child(config: Path, limit: float) -> dict:
    done = subprocess.run([sys.executable, "-c", COMMIT_ONE_FLAG, str(config)], capture_output=True, text=True,
                          timeout=limit)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def branch_tip(config: Path) -> str:
    return str(pygit2.Repository(str(config.parent / "repo")).references["refs/heads/main"].target)


def test_a_remote_that_never_answers_times_out_and_the_commit_stays_local(tmp_path: Path, silent_remote: int) -> None:
    config = demo_with_remote(tmp_path, f"git://127.0.0.1:{silent_remote}/flags.git", "1s")
    before = branch_tip(config)
    started = time.monotonic()
    result = commit_in_child(config, limit=60)
    assert time.monotonic() - started < 30  # start-up fetch, commit fetch and push: each gives up after ~1 s
    assert result["pushed"] is False and result["reachable"] is False
    assert "timed out" in result["error"] and f"127.0.0.1:{silent_remote}" in result["error"]
    assert branch_tip(config) == result["commit"] != before
    assert result["ahead"] >= 1


def test_a_missing_file_remote_keeps_commits_local_and_reports_it(tmp_path: Path) -> None:
    config = demo_with_remote(tmp_path, (tmp_path / "nonexistent.git").as_uri(), None)
    result = commit_in_child(config, limit=60)
    assert result["pushed"] is False and result["reachable"] is False
    assert "nonexistent.git" in result["error"]
    assert branch_tip(config) == result["commit"]


def test_the_network_timeout_is_a_checked_duration(tmp_path: Path) -> None:
    from gitstore.config import load_config
    from gitstore.errors import ConfigError

    config = demo_with_remote(tmp_path, "git://127.0.0.1:9/flags.git", "soon")
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:\d+: storage.local.timeout: 'soon' is not a duration"):
        load_config(config)
    assert load_config(demo_with_remote(tmp_path, "git://127.0.0.1:9/x.git", "1500ms")).storage["local"].timeout == 1.5


@pytest.mark.parametrize("command", [["validate", "--env", "staging"], ["eval", "--env", "staging", "-e", "u"],
                                     ["export", "--env", "staging"]])
def test_commands_reading_an_environment_say_they_use_the_local_copy(tmp_path: Path, command: list[str]) -> None:
    config = demo_with_remote(tmp_path, (tmp_path / "gone.git").as_uri(), None)
    done = subprocess.run([str(Path(sys.executable).parent / "flagdeck"), *command, "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    warning = f"warning: remote {(tmp_path / 'gone.git').as_uri()} unreachable"
    assert warning in done.stderr and f"using the local copy of staging at {branch_tip(config)[:8]}" in done.stderr
    assert "1 commit not pushed" in done.stderr  # the demo's own commit never reached the remote


def test_no_warning_without_a_remote(tmp_path: Path) -> None:
    config = init_demo(tmp_path / "demo")
    done = subprocess.run([str(Path(sys.executable).parent / "flagdeck"), "validate", "--env", "staging", "--config",
                           str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "unreachable" not in done.stderr


@pytest.mark.parametrize("empty", ['""', "''", '"  "'])
def test_an_empty_remote_means_no_remote(tmp_path: Path, empty: str) -> None:
    from gitstore.config import load_config

    config = demo_with_remote(tmp_path, empty, None)
    assert load_config(config).storage["local"].remote is None  # was the configuration's own directory
    result = commit_in_child(config, limit=60)
    assert result["pushed"] is None and result["error"] is None
