"""Helpers for the remote fault scenarios: a bare "upstream" repository, clones driven by the git CLI (outside
pushes and force-pushes), flagdeck.yaml files naming the upstream as `remote:`, a real `flagdeck serve` process,
and the invariants checked after every scenario (fsck, lost, resurrected, served = committed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx2 as httpx
import pygit2
from server.harness import ServerProcess, wait_until

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Outside", "GIT_AUTHOR_EMAIL": "outside@example.com",
    "GIT_COMMITTER_NAME": "Outside", "GIT_COMMITTER_EMAIL": "outside@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}
NAMESPACE = "default"
FEATURES = f"{NAMESPACE}/features.yaml"

__all__ = ["Clone", "ServerProcess", "bare", "config_for", "features", "fsck", "git", "remote_health", "served_flags", "tip_of",
           "wait_until"]


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {done.stderr}")
    return done.stdout.strip()


def bare(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "--bare", "-b", "main")
    return path


def fsck(path: Path) -> None:
    """`git fsck --strict` must be clean (no corrupt or missing object, no broken link)."""
    done = subprocess.run(["git", "-C", str(path), "fsck", "--strict", "--no-dangling"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip(), f"fsck of {path}: {done.stdout}{done.stderr}"


def tip_of(path: Path, branch: str = "main") -> str | None:
    found = pygit2.Repository(str(path)).references.get(f"refs/heads/{branch}")
    return str(found.target) if found is not None else None


def features(flags: dict[str, bool]) -> str:
    """A Flipt namespace document holding boolean flags."""
    lines = ['version: "1.6"', f"namespace: {NAMESPACE}", "flags:" if flags else "flags: []"]
    for key, enabled in flags.items():
        lines += [f"  - key: {key}", f"    name: {key}", "    type: BOOLEAN_FLAG_TYPE",
                  f"    enabled: {str(enabled).lower()}"]
    return "\n".join(lines) + "\n"


class Clone:
    """A work-tree clone of the upstream, driven by the git CLI (a colleague pushing from outside)."""

    def __init__(self, upstream: Path, path: Path):
        self.upstream, self.path = upstream, path
        subprocess.run(["git", "clone", "-q", str(upstream), str(path)], env={**os.environ, **GIT_ENV},
                       check=True, capture_output=True, timeout=60)
        git(path, "checkout", "-q", "-B", "main")

    def commit(self, flags: dict[str, bool], message: str) -> str:
        target = self.path / FEATURES
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(features(flags))
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def push(self, force: bool = False) -> subprocess.CompletedProcess[str]:
        args = ["push", "-q", "origin", "main"] + (["--force"] if force else [])
        return subprocess.run(["git", *args], cwd=self.path, env={**os.environ, **GIT_ENV}, capture_output=True,
                              text=True, timeout=60)

    def pull(self) -> None:
        git(self.path, "fetch", "-q", "origin")
        git(self.path, "reset", "-q", "--hard", "origin/main")

    def reset(self, commit: str) -> None:
        git(self.path, "reset", "-q", "--hard", commit)


def config_for(directory: Path, upstream: Path | str, poll: str = "200ms", timeout: str = "3s",
               repo: str = "cache") -> Path:
    """flagdeck.yaml: one environment `production` on `directory/repo`, mirroring `upstream`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "flagdeck.yaml"
    path.write_text(f"storage:\n  flags:\n    path: {repo}\n    branch: main\n    remote: {upstream}\n"
                    f"    poll_interval: {poll}\n    timeout: {timeout}\n"
                    "environments:\n  production: {storage: flags, default: true}\n")
    return path


def remote_health(url: str, env: str = "production") -> dict:
    return httpx.get(url + "/health", timeout=5).json()["environments"][env]["remote"]


def served_flags(url: str) -> tuple[str, dict[str, bool]]:
    """(commit in /health, flags of the client snapshot) as a real `flagdeck serve` serves them right now."""
    health = httpx.get(url + "/health", timeout=5).json()["environments"]["production"]
    snap = httpx.get(f"{url}/internal/v1/evaluation/snapshot/namespace/{NAMESPACE}", timeout=5)
    flags = {f["key"]: f["enabled"] for f in snap.json()["flags"]} if snap.status_code == 200 else {}
    return health["commit"], flags
