"""What the kill, disk-full and symlink fault tests share: real repositories (bare or with a work tree), writer
processes forked by a zygote, the checks made after every fault (git fsck --strict, no lost and no resurrected
commit, what a real `flagdeck serve` serves equals what is committed), and the counts they print."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pygit2

from tests.server.harness import ServerProcess, wait_until

ROOT = Path(__file__).resolve().parents[2]
BRANCH = "refs/heads/main"
NAMESPACE_FILE = "default/features.yaml"


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=check, timeout=60)


def make_repository(root: Path, work_tree: bool, directory: str = "production") -> Path:
    """flagdeck.yaml and its repository (`repo.git` created by the store, or `wt` with a work tree checked out on
    main) with one environment, `production`, in `directory`; returns the configuration file."""
    root.mkdir(parents=True, exist_ok=True)
    path = "wt" if work_tree else "repo.git"
    if work_tree:
        (root / path).mkdir()
        git(root / path, "init", "-q", "-b", "main")
        git(root / path, "-c", "user.name=Fault", "-c", "user.email=fault@example.com", "commit", "-q",
            "--allow-empty", "-m", "init")
    config = root / "flagdeck.yaml"
    config.write_text(f"storage:\n  local: {{path: {path}, branch: main, poll_interval: 1s}}\n"
                      f"environments:\n  production: {{storage: local, directory: {directory}, default: true}}\n")
    return config


def repository(config: Path) -> Path:
    return config.parent / ("wt" if (config.parent / "wt").exists() else "repo.git")


class Zygote:
    """tests/faults/locks_zygote.py as a subprocess: forks writers and doctor runs that are real processes."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FLAGDECK_ROLES": "", "FLAGDECK_CRASH_AT": ""}
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "faults" / "locks_zygote.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def ask(self, **request: object) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the zygote died"
        return json.loads(line)

    def writer(self, config: Path, tag: str, log: Path, count: int = 0, crash: str = "", size: int = 0) -> int:
        return self.ask(cmd="writer", config=str(config), env="production", tag=tag, count=count, log=str(log),
                        crash=crash, size=size)["pid"]

    def wait(self, pid: int) -> dict:
        return self.ask(cmd="wait", pid=pid)

    def run_writer(self, config: Path, tag: str, log: Path, count: int = 1) -> None:
        """Commit `count` flags in a new process and insist that it worked."""
        status = self.wait(self.writer(config, tag, log, count))
        assert status == {"exit": 0}, f"the next commit failed: {status}\n{log.read_text()}"

    def doctor(self, config: Path, log: Path, *args: str) -> int:
        status = self.wait(self.ask(cmd="doctor", config=str(config), args=list(args), log=str(log))["pid"])
        return status.get("exit", -1)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(10)


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Ledger:
    """What the writers said (`try KEY`, `done KEY COMMIT`) against what the branch holds."""

    reported: dict[str, str] = field(default_factory=dict)  # key -> commit the writer reported
    tried: set[str] = field(default_factory=set)
    abandoned: set[str] = field(default_factory=set)  # tried, never reported, absent at a check: must stay absent
    lost: int = 0
    resurrected: int = 0
    unreported: set[str] = field(default_factory=set)  # committed, but the writer died before saying so

    def read(self, log: Path) -> None:
        for line in log.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["try"]:
                self.tried.add(parts[1])
            elif parts[:1] == ["done"] and len(parts) == 3:
                self.reported[parts[1]] = parts[2]

    def check(self, repo_path: Path, directory: str) -> set[str]:
        """Compare with the branch; return the flag keys committed there."""
        repo = pygit2.Repository(str(repo_path))
        tip = repo.references[BRANCH].target
        chain = set()
        commit = repo[tip]
        while True:
            chain.add(str(commit.id))
            if not commit.parents:
                break
            commit = commit.parents[0]
        keys = committed_keys(repo, tip, directory)
        lost = {k for k, c in self.reported.items() if c not in chain or k not in keys}
        back = keys & self.abandoned
        self.lost += len(lost)
        self.resurrected += len(back)
        assert not lost, f"lost commits: {sorted(lost)}"
        assert not back, f"resurrected: {sorted(back)}"
        self.unreported |= {k for k in self.tried if k in keys and k not in self.reported}
        self.abandoned |= self.tried - keys - set(self.reported)
        return keys


def committed_keys(repo: pygit2.Repository, commit: pygit2.Oid, directory: str) -> set[str]:
    from gitstore.format.loader import load_document

    try:
        blob = repo[commit].tree[f"{directory}/{NAMESPACE_FILE}"]
    except KeyError:
        return set()
    doc = load_document(repo[blob.id].data, NAMESPACE_FILE).document
    assert doc is not None, "the committed namespace file is invalid"
    return {f.key for f in doc.flags}


def fsck(repo_path: Path) -> None:
    done = git(repo_path, "fsck", "--strict", "--no-progress", check=False)
    assert done.returncode == 0 and "error" not in done.stderr.lower(), f"git fsck --strict: {done.stderr}"


class Served:
    """A real evaluator (`flagdeck serve`) on the configuration, compared with what is committed."""

    def __init__(self, config: Path) -> None:
        self.server = ServerProcess(config, command=("-m", "app.cli", "serve"))
        self.checks = 0

    def equals_committed(self, repo_path: Path, directory: str) -> None:
        repo = pygit2.Repository(str(repo_path))
        tip = str(repo.references[BRANCH].target)
        keys = committed_keys(repo, repo.references[BRANCH].target, directory)

        def caught_up() -> bool:
            health = httpx.get(self.server.url + "/health", timeout=5).json()
            return health["environments"]["production"]["commit"] == tip

        wait_until(caught_up, timeout=15, interval=0.02, what=f"the evaluator to serve {tip[:8]}")
        answer = httpx.get(self.server.url + "/internal/v1/evaluation/snapshot/namespace/default",
                           headers={"x-flipt-environment": "production"}, timeout=5)
        served = {f["key"] for f in answer.json()["flags"]} if answer.status_code == 200 else set()
        assert served == keys, f"served {sorted(served ^ keys)} differently from commit {tip[:8]}"
        self.checks += 1

    def stop(self) -> None:
        assert self.server.stop() == 0
