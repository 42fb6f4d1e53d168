"""Journey 6: in a shell, a change made and committed in the console, then the environment exported as Flipt YAML
and as client snapshot JSON with `flagdeck export`: the YAML is the committed file's content, change included; the
JSON is what `flagdeck serve` serves for that namespace."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from tmux_terminal import Tmux

from .conftest import AUTHOR, BIN
from .steps import head_id, open_review, read_commit, wait_line
from .test_evaluate import serve

TIMES = ("createdAt", "updatedAt")  # when the document was built, not what it says


def without_times(value: object) -> object:
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def test_commit_in_the_console_then_export_yaml_and_json(project: Path, repo) -> None:
    shell = Tmux(["sh"], 80, 24, cwd=project, env={"FLAGDECK_STATE_DIR": str(project / "state")})
    try:
        shell.wait_screen(lambda lines: any(line.strip() for line in lines), "the prompt")
        shell.type(f'export PATH="{BIN}:$PATH"')  # as README says, for the virtualenv's bin
        shell.keys("Enter")
        shell.type(f"flagdeck console --env staging --user '{AUTHOR}'")
        shell.keys("Enter")
        shell.wait_for("4 of 4 flags", timeout=30)
        shell.keys("Down")
        wait_line(shell, "> maintenance-mode", "off")
        shell.keys("Space")
        wait_line(shell, "* maintenance-mode", "on")
        open_review(shell)
        shell.keys("Enter")
        shell.wait_for("Committed ", timeout=20)
        commit = read_commit(repo)
        assert commit.author == AUTHOR and commit.added == ["    enabled: true"]
        shell.keys("q")
        shell.wait_for("4 of 4 flags", gone=True)

        for command in ("flagdeck export --env staging --namespace default -o staging.yaml",
                        "flagdeck export --env staging --namespace default --format json -o staging.json"):
            shell.type(command)
            shell.keys("Enter")
            written = command.rsplit(" ", 1)[-1]
            wait_line(shell, f"wrote {written} (1 namespace, staging at {commit.id[:8]})", timeout=30)
    finally:
        shell.kill()

    committed = repo.revparse_single(f"{head_id(repo)}:staging/default/features.yaml").data.decode()
    exported = yaml.safe_load((project / "staging.yaml").read_text())
    assert exported == yaml.safe_load(committed)
    assert next(f for f in exported["flags"] if f["key"] == "maintenance-mode")["enabled"] is True

    server = serve(project)
    try:
        path = f"{server.url}/client/v2/environments/staging/namespaces/default/snapshot"
        served = subprocess.run(["curl", "-s", "-f", path], capture_output=True, text=True, timeout=30)
        assert served.returncode == 0, served.stderr
    finally:
        server.stop()
    snapshot = json.loads((project / "staging.json").read_text())
    assert without_times(snapshot) == without_times(json.loads(served.stdout))
    assert next(f for f in snapshot["flags"] if f["key"] == "maintenance-mode")["enabled"] is True
