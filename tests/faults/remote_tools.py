"""Helpers for the remote fault scenarios: a bare "upstream" repository, clones driven by the git CLI (outside
pushes and force-pushes), flagdeck.yaml files naming the upstream as `remote:`, a real `flagdeck serve` process,
and the invariants checked after every scenario (fsck, lost, resurrected, served = committed)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from pathlib import Path

import httpx2 as httpx
import pygit2
from server.harness import ServerProcess, wait_until

from gitstore.git.snapshot import parse_file
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Outside", "GIT_AUTHOR_EMAIL": "outside@example.com",
    "GIT_COMMITTER_NAME": "Outside", "GIT_COMMITTER_EMAIL": "outside@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}
NAMESPACE = "default"

__all__ = ["Branch", "Clone", "GitDaemon", "ServerProcess", "Switch", "bare", "config_for", "features", "flag_change",
           "fsck", "git", "remote_health", "served_flags", "tip_of", "wait_until"]


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


def features(flags: dict[str, bool], namespace: str = NAMESPACE) -> str:
    """A Flipt namespace document holding boolean flags."""
    lines = ['version: "1.6"', f"namespace: {namespace}", "flags:" if flags else "flags: []"]
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

    def commit(self, flags: dict[str, bool], message: str, namespace: str = NAMESPACE) -> str:
        target = self.path / namespace / "features.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(features(flags, namespace))
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GitDaemon:
    """`git daemon` on 127.0.0.1 serving the bare repositories under `base` (fetch and push: receive-pack)."""

    def __init__(self, base: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
                                      f"--base-path={base}", "--listen=127.0.0.1", f"--port={self.port}", str(base)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _connects(self.port), timeout=10, what="git daemon")

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Switch:
    """A TCP relay in front of a remote, switched between three states: "up" (relays both ways), "silent" (accepts
    connections and never answers: a hung server) and "down" (the port refuses connections: gone)."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.port = free_port()
        self.state = "up"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._stopped = False
        self._listen()

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: "down"
            with self._lock:
                self._open.append(conn)
                state = self.state
            if state == "up":
                threading.Thread(target=self._relay, args=(conn,), daemon=True).start()
            # "silent": keep the connection open, read nothing, answer nothing

    def _relay(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            conn.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.append(upstream)
        threading.Thread(target=_pump, args=(upstream, conn), daemon=True).start()
        _pump(conn, upstream)

    def set(self, state: str) -> None:
        assert state in ("up", "silent", "down")
        with self._lock:
            previous, self.state = self.state, state
            stale, self._open = self._open, []
        for conn in stale:  # whatever hung or relayed before ends now
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        if state == "down" and self._listener is not None:
            self._listener.close()
            self._listener = None
        elif state != "down" and previous == "down":
            self._listen()

    def stop(self) -> None:
        self.set("down")


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def flag_change(key: str, enabled: bool = True, namespace: str = NAMESPACE) -> Change:
    return Change(namespace, Kind.FLAG, key, Flag(key=key, name=key, type=FlagType.BOOLEAN, enabled=enabled))


class Branch:
    """What a repository's branch holds right now: tip, commit messages (newest first) and the namespace's flags."""

    def __init__(self, path: Path, branch: str = "main", namespace: str = NAMESPACE):
        repo = pygit2.Repository(str(path))
        found = repo.references.get(f"refs/heads/{branch}")
        self.tip = str(found.target) if found is not None else None
        self.messages: list[str] = []
        self.flags: dict[str, bool] = {}
        if found is None:
            return
        self.messages = [c.message.strip() for c in repo.walk(found.target)]
        try:
            blob = repo[found.target].tree[f"{namespace}/features.yaml"]
        except KeyError:
            return
        document = parse_file(repo[blob.id].data, "features.yaml").document
        assert document is not None, f"{namespace}/features.yaml at {self.tip} does not load"
        self.flags = {f.key: f.enabled for f in document.flags}
