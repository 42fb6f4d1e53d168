"""Helpers of the hostile-files suite: a bare repository written with pygit2 (hostile bytes go in exactly as
given), its flagdeck.yaml, and a real `flagdeck serve` process."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pygit2

from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import build_tree, cas_ref, make_commit
from gitstore.results import Author

ROOT = Path(__file__).resolve().parents[2]
AUTHOR = Author("Fault Suite", "faults@example.com")


def make_repository(root: Path, files: dict[str, bytes]) -> Path:
    """A bare repository holding `files` on main, and a flagdeck.yaml for it (one environment, `production`);
    returns the configuration's path."""
    repo = pygit2.init_repository(str(root / "repo"), bare=True, initial_head="main")
    tree = build_tree(repo, None, files)
    cas_ref(repo, branch_ref("main"), None, make_commit(repo, tree, [], AUTHOR, "good versions"), "faults")
    config = root / "flagdeck.yaml"
    config.write_text("storage:\n  local: {path: repo, branch: main}\n"
                      "environments:\n  production: {storage: local}\n")
    return config


def commit_files(config: Path, files: dict[str, bytes | None], message: str) -> str:
    """Write files as they are (None deletes), as someone pushing by hand would."""
    repo = pygit2.Repository(str(config.parent / "repo"))
    ref = branch_ref("main")
    current = tip(repo, ref)
    tree = build_tree(repo, repo[current].tree, files)
    new = make_commit(repo, tree, [current], AUTHOR, message)
    cas_ref(repo, ref, current, new, "faults")
    return str(new)


class Serve:
    """`flagdeck serve` as a real process on an ephemeral port."""

    def __init__(self, config: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--config", str(config), "--port",
                                      "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"http://([\d.]+):(\d+)", line)
        if not found:
            self.stop()
            raise AssertionError(f"flagdeck serve did not start: {line}")
        self.url = f"http://{found.group(1)}:{found.group(2)}"
        self.client = httpx.Client(base_url=self.url, timeout=10)
        wait_for(lambda: self.health_status() == 200, 20, "/health 200")

    def health_status(self) -> int:
        try:
            return self.client.get("/health").status_code
        except httpx.HTTPError:
            return 0

    def namespaces(self) -> dict[str, Any]:
        return self.client.get("/health").json()["environments"]["production"]["namespaces"]

    def probe(self, namespace: str) -> tuple[int, Any]:
        """(status, enabled) of the boolean flag `probe` in a namespace."""
        r = self.client.post("/evaluate/v1/boolean", json={"namespaceKey": namespace, "flagKey": "probe",
                                                           "entityId": "someone"})
        return r.status_code, r.json().get("enabled") if r.status_code == 200 else None

    def stop(self) -> str:
        """Stop the process; its output."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.stdout.read() if self.proc.stdout else ""


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
