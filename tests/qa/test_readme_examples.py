"""Every command example of README.md's command table, run exactly as written from a project root in which
`flagdeck init .flagdeck` (what `make run` does first) created the demo: no `--config`, no edits. The console is
driven in tmux by test_make_run.py; `ssh-server` needs a users file the reader writes first (docs/ssh.md)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOT_RUN_HERE = ("flagdeck console", "flagdeck ssh-server")


def readme_examples() -> list[str]:
    """The code spans of the table's last column that are commands (`flagdeck ...`, `git clone ...`), in order."""
    found = []
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("| `flagdeck "):
            example_column = line.rstrip(" |").rsplit(" | ", 1)[-1]
            found += [span for span in re.findall(r"`([^`]+)`", example_column)
                      if span.startswith(("flagdeck ", "git clone "))]
    return found


def run(project: Path, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    if argv[0] == "flagdeck":
        argv[0] = str(BIN / "flagdeck")
    return subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root after `make run`'s first step; the README's own `flagdeck init` example is what creates it."""
    init = [c for c in readme_examples() if c.startswith("flagdeck init")]
    assert init == ["flagdeck init .flagdeck"]
    done = run(tmp_path, init[0])
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_the_readme_lists_an_example_for_every_subcommand() -> None:
    from app.cli import COMMANDS

    commands = {c.split()[1] for c in readme_examples() if c.startswith("flagdeck ")}
    assert commands == set(COMMANDS)


def test_every_one_shot_example_works_as_written(project: Path) -> None:
    ran = []
    for command in readme_examples():
        if command.startswith(("flagdeck init", "flagdeck serve", *NOT_RUN_HERE)):
            continue
        done = run(project, command)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        ran.append(command)
        if command.startswith("flagdeck eval") and "--explain" in command:
            assert "result: variant" in done.stdout and "rule 1" in done.stdout
        if command.startswith("flagdeck export") and "-o default.json" in command:
            assert json.loads((project / "default.json").read_text())["namespace"] == {"key": "default"}
    assert any(c.startswith("flagdeck validate") for c in ran) and any(c.startswith("flagdeck eval") for c in ran)


def test_the_serve_example_serves_the_demo(project: Path) -> None:
    (command,) = [c for c in readme_examples() if c.startswith("flagdeck serve")]
    assert "--port 8080" in command
    argv = shlex.split(command.replace("--port 8080", "--port 0"))  # an ephemeral port, tests run in parallel
    argv[0] = str(BIN / "flagdeck")
    server = subprocess.Popen(argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        deadline, line = time.monotonic() + 30, ""
        while "listening" not in line and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line or server.poll() is None, "the evaluator exited"
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        with urllib.request.urlopen(f"{url.group(0)}/health", timeout=30) as answer:  # bound before loaded
            body = json.load(answer)
        assert set(body["environments"]) == {"production", "staging"}
    finally:
        server.terminate()
        server.wait(timeout=10)
