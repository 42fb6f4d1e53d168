"""Broken feature files committed by hand with `git` into the demo repository (as a user would, around Flagdeck):
every command names the file, line and field; the evaluator keeps serving the valid namespaces and reports the
broken ones on /health; nothing valid is lost. One of them is a YAML alias bomb, which used to take the loader
tens of seconds (and, one level deeper, forever) before anything was reported."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from gitstore.demo import init_demo
from gitstore.format.loader import load_document

BIN = Path(sys.executable).parent

# 7 levels of 9 aliases: ~5 million nodes once expanded (yaml-rs stops at 1 million replays)
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
) + "namespace: bomb\n"

BROKEN = {
    "bomb": ALIAS_BOMB.encode(),
    "typo": b"namespace: typo\nflags:\n  - key: f\n    name: F\n    typo: BOOLEAN_FLAG_TYPE\n    enabled: maybe\n",
    "latin1": b"namespace: latin1\nflags:\n  - key: f\n    name: caf\xe9\n    type: BOOLEAN_FLAG_TYPE\n",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=QA", "-c", "user.email=qa@example.com", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


def flagdeck(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "flagdeck"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_an_alias_bomb_is_refused_with_its_line() -> None:
    result = load_document(ALIAS_BOMB.encode(), "bomb/features.yaml")
    assert result.document is None
    (problem,) = result.problems
    assert "aliases expand to too many nodes" in problem.message and problem.line == 2


@pytest.fixture
def broken_demo(tmp_path: Path) -> Path:
    """The demo with three broken namespaces added to staging by a hand-made commit; returns the project root."""
    init_demo(tmp_path / ".flagdeck")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(tmp_path / ".flagdeck" / "repo"), str(checkout))
    for name, data in BROKEN.items():
        (checkout / "staging" / name).mkdir()
        (checkout / "staging" / name / "features.yaml").write_bytes(data)
    git(checkout, "add", "staging")
    git(checkout, "commit", "-q", "-m", "broken namespaces, by hand")
    git(checkout, "push", "-q", "origin", "main")
    return tmp_path


def test_validate_eval_and_export_name_file_line_and_field(broken_demo: Path) -> None:
    done = flagdeck(broken_demo, "validate", "--env", "staging")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "staging/typo/features.yaml:5: flags[0].typo: unknown field 'typo'" in "\n".join(lines)
    assert any(re.match(r"staging/typo/features.yaml:6: flags\[0\]\.enabled: must be true or false", x) for x in lines)
    assert any(x.startswith("staging/latin1/features.yaml:4: not valid UTF-8") for x in lines)
    assert any(x.startswith("staging/bomb/features.yaml:2: invalid YAML: aliases expand") for x in lines)
    assert not any("staging/default" in x for x in lines)

    good = flagdeck(broken_demo, "eval", "--env", "staging", "-n", "default", "new-checkout", "-e", "user-1")
    assert good.returncode == 0 and good.stdout.startswith("new-checkout: ")
    bad = flagdeck(broken_demo, "eval", "--env", "staging", "-n", "typo", "-e", "user-1")
    assert bad.returncode == 1 and "staging/typo/features.yaml:5: flags[0].typo" in bad.stderr
    assert "Traceback" not in bad.stderr

    refused = flagdeck(broken_demo, "export", "--env", "staging", "-o", "all.yaml")
    assert refused.returncode == 1 and "nothing exported" in refused.stderr and not (broken_demo / "all.yaml").exists()
    one = flagdeck(broken_demo, "export", "--env", "staging", "--namespace", "default", "-o", "default.yaml")
    assert one.returncode == 0 and "key: new-checkout" in (broken_demo / "default.yaml").read_text()


def test_the_evaluator_serves_the_valid_namespaces_and_reports_the_broken_ones(broken_demo: Path) -> None:
    server = subprocess.Popen([str(BIN / "flagdeck"), "serve", "--port", "0"], cwd=broken_demo,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, line
        base = found.group(0)
        with urllib.request.urlopen(f"{base}/health", timeout=30) as answer:
            staging = json.load(answer)["environments"]["staging"]["namespaces"]
        assert staging["default"]["error"] is None
        assert "staging/typo/features.yaml:5: flags[0].typo" in staging["typo"]["error"]
        assert "aliases expand" in staging["bomb"]["error"]
        assert "not valid UTF-8" in staging["latin1"]["error"]
        request = urllib.request.Request(
            f"{base}/environments/staging/evaluate/v1/boolean", method="POST",
            data=json.dumps({"namespaceKey": "default", "flagKey": "new-checkout", "entityId": "u"}).encode())
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.load(answer)["flagKey"] == "new-checkout"
    finally:
        server.terminate()
        server.wait(timeout=10)
