"""`make run` as the README describes it: create the demo on first use, start the evaluator in the background, open
the console, stop the evaluator when the console quits; reuse the demo the second time; and when the evaluator
cannot start (the port is taken), say so and stop instead of opening a console with no evaluator behind it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from tmux_terminal import Tmux

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

pytestmark = pytest.mark.skipif(not (shutil.which("make") and shutil.which("tmux")), reason="needs make and tmux")


def make_run(port: int, *extra: str) -> list[str]:
    # -o install: the virtualenv running these tests is the installed one (no pip inside a test)
    return ["make", "-s", "-f", str(ROOT / "Makefile"), "-o", "install", "run", f"VENV={VENV}", f"PORT={port}",
            *extra]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return answer.status
    except OSError:
        return None


def health_becomes(port: int, wanted: int | None, within: float = 30) -> int | None:
    """Poll /health until it answers `wanted` (None: nothing listens) or `within` seconds pass; the last answer.
    The evaluator prints `listening` once its socket is bound, before it has loaded the environments."""
    deadline = time.monotonic() + within
    found = health(port)
    while found != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        found = health(port)
    return found


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_a_taken_port_stops_make_run_with_the_reason_before_the_console(tmp_path: Path, busy_port: int) -> None:
    marker = tmp_path / "console-started"
    done = subprocess.run(make_run(busy_port, f"CONSOLE=touch {marker}"), cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "the evaluator did not start" in done.stderr and "Address already in use" in done.stderr
    assert f"127.0.0.1:{busy_port}" in done.stderr
    assert not marker.exists()
    assert (tmp_path / ".flagdeck" / "flagdeck.yaml").is_file()  # the demo was still created, nothing lost


def test_make_run_serves_while_the_console_is_open_and_stops_the_evaluator_on_quit(tmp_path: Path) -> None:
    port, heads = free_port(), []
    for _run in range(2):  # the second run reuses the demo of the first; a fresh tmux server for each
        pane = Tmux(make_run(port), cwd=tmp_path, env={"FLAGDECK_STATE_DIR": str(tmp_path / "state")})
        try:
            pane.wait_for("4 of 4 flags", timeout=30)
            assert health_becomes(port, 200) == 200
            repo = pygit2.Repository(str(tmp_path / ".flagdeck" / "repo"))
            heads.append(str(repo.references["refs/heads/main"].target))
            pane.keys("q")
            assert pane.wait_dead(timeout=30) == 0, pane.screen()
            assert health_becomes(port, None, within=10) is None, "the evaluator outlived the console"
        finally:
            pane.kill()
    assert heads[0] == heads[1]
    assert "listening" in (tmp_path / ".flagdeck" / "evaluator.log").read_text()
