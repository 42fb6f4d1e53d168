"""Start-up and remotes (issue 4 follow-up): a storage that cannot be opened is a one-line error before anything
is bound; /health reports each environment's remote (URL without credentials, reachable, last error, ahead/behind,
last fetch) and says when it is down while evaluations go on from the local copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evaluator.server.cli import command
from evaluator.server.remotes import public_url, redact
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag

from .conftest import pushed_remote
from .harness import ROOT, ServerThread, wait_until, write_config
from .test_server_process import marker


@pytest.mark.parametrize("workers", ["1", "2"])
def test_storage_that_is_a_file_fails_before_listening(tmp_path: Path, workers: str) -> None:
    target = tmp_path / "not-a-repo"
    target.write_text("just a file\n")
    config = write_config(tmp_path, target)
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--config", str(config), "--port", "0",
                           "--workers", workers], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "listening" not in done.stdout
    assert done.stderr.strip() == f"Error: storage 'flags': {target}: is a file, not a Git repository"
    assert target.read_text() == "just a file\n"  # nothing lost


def test_storage_directory_that_cannot_be_created_fails_before_listening(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    config = write_config(tmp_path, blocker / "repo")  # a directory under a file cannot be created
    done = subprocess.run([sys.executable, "-m", "evaluator", "--config", str(config), "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "listening" not in done.stdout and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "storage 'flags'" in lines[0] and str(blocker / "repo") in lines[0]
    assert "cannot create a Git repository here" in lines[0]


def test_config_help_names_the_search_order() -> None:
    text = " ".join(CliRunner().invoke(command, ["--help"]).output.split())
    assert "$FLAGDECK_CONFIG, then ./flagdeck.yaml, then ./.flagdeck/flagdeck.yaml" in text


def test_public_url_drops_credentials() -> None:
    assert public_url("https://user:s3cret@git.example.com:8443/flags.git") == "https://git.example.com:8443/flags.git"
    assert public_url("https://TOKEN@git.example.com/flags.git") == "https://git.example.com/flags.git"
    assert public_url("git@git.example.com:team/flags.git") == "git@git.example.com:team/flags.git"
    assert public_url("file:///srv/flags.git") == "file:///srv/flags.git"
    url = "https://user:s3cret@git.example.com/flags.git"
    message = redact(f"failed to fetch {url}: 401; see https://other:pw@host/x", url)
    assert message is not None and "s3cret" not in message and "pw@" not in message
    assert "https://git.example.com/flags.git" in message


def _health_remote(server: ServerThread, env: str = "production") -> dict:
    return server.get("/health").json()["environments"][env]["remote"]


def test_health_shows_the_remote_and_when_it_goes_down(tmp_path: Path) -> None:
    remote, work = pushed_remote(tmp_path)
    url = remote.as_uri()
    config = tmp_path / "flagdeck.yaml"
    config.write_text(f"storage:\n  flags: {{path: {tmp_path / 'cache'}, remote: '{url}', poll_interval: 0.2s}}\n"
                      f"  own: {{path: {work.path}}}\n"
                      "environments:\n  production: {storage: flags, directory: prod, default: true}\n"
                      "  local: {storage: own, directory: prod}\n")
    server = ServerThread(config)
    try:
        up = _health_remote(server)
        assert up["url"] == url and up["reachable"] is True and up["lastError"] is None
        assert (up["ahead"], up["behind"]) == (0, 0) and up["lastFetch"]
        assert server.get("/health").json()["environments"]["local"]["remote"] is None
        assert marker(server.url) == "production"

        shutil.rmtree(remote)
        down = wait_until(lambda: (lambda r: r if r["reachable"] is False else None)(_health_remote(server)),
                          timeout=10, what="/health to report the remote unreachable")
        assert down["url"] == url and down["lastError"] and down["lastFetch"] >= up["lastFetch"]
        health = server.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "SERVING"
        assert marker(server.url) == "production"  # still served from the local copy

        server.store.commit("production", [Change("ns1", Kind.FLAG, "offline", Flag(key="offline", name="Off"))])
        wait_until(lambda: _health_remote(server)["ahead"] == 1, timeout=10, what="/health to count the commit")
        request = {"namespaceKey": "ns1", "flagKey": "offline", "entityId": "u"}
        wait_until(lambda: server.post("/evaluate/v1/variant", request).status_code == 200, timeout=10,
                   what="the local commit to be served while the remote is down")
    finally:
        server.stop()


def test_health_says_a_missing_remote_is_unreachable_from_the_start(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "cache", remote="file:///nonexistent/flags.git", poll_interval="0.2s")
    server = ServerThread(config)
    try:
        remote = _health_remote(server, "staging")
        assert remote["url"] == "file:///nonexistent/flags.git"
        assert remote["reachable"] is False and remote["lastError"] and remote["lastFetch"] is None
        assert server.get("/health").status_code == 200
    finally:
        server.stop()
