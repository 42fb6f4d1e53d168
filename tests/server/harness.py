"""Test harness for the evaluator: a real Git repository (git CLI) under tmp_path, a flagdeck.yaml naming it, and
the real server — in a background thread with its own event loop, or as a `python -m evaluator` subprocess — on
127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from evaluator.config import load_evaluator_config as load_config
from evaluator.server import create_app
from evaluator.server.hotlane import HotLaneRunner
from gitstore.store import Store

ROOT = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


class FlagRepo:
    """A work-tree Git repository on branch `main`; `commit(files)` writes the files and commits them."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        for name, text in files.items():
            target = self.path / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")


def write_config(directory: Path, repo: Path | str, extra: str = "", remote: str | None = None,
                 poll_interval: str = "1s", environments: str | None = None) -> Path:
    envs = environments or (
        "  production: {storage: flags, directory: prod, default: true}\n"
        "  staging: {storage: flags, directory: staging}\n"
    )
    storage = f"  flags:\n    path: {repo}\n    branch: main\n    poll_interval: {poll_interval}\n"
    if remote:
        storage += f"    remote: {remote}\n"
    path = directory / "flagdeck.yaml"
    path.write_text(f"storage:\n{storage}environments:\n{envs}{extra}")
    return path


class Seen:
    """One request as the server saw it (recorded by the access logger; for asserting what real clients send)."""

    def __init__(self, method: str, path: str, query: str, status: int, headers: dict[str, str]):
        self.method, self.path, self.query, self.status, self.headers = method, path, query, status, headers

    def __repr__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


def recording_logger(seen: list[Seen]) -> type[AbstractAccessLogger]:
    class Recorder(AbstractAccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            seen.append(Seen(request.method, request.path, request.query_string, response.status,
                             {k.lower(): v for k, v in request.headers.items()}))

    return Recorder


class ServerThread:
    """The evaluator in a background thread (its own event loop), so blocking real clients can call it."""

    def __init__(self, config_path: Path, max_body: int | None = None, **app_options: Any):
        """`app_options` go to `create_app` (e.g. `heartbeat`, `cors`, `hot_lane`), except `keepalive_timeout` and
        `limits` (connection.Limits), which go to the runner."""
        self._runner_options = {k: app_options.pop(k) for k in ("keepalive_timeout", "limits") if k in app_options}
        self.config = load_config(config_path)
        self.store = Store(self.config)
        self._kwargs = {"max_body": max_body, **app_options} if max_body else app_options
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.port = 0
        self.seen: list[Seen] = []
        self.app: web.Application | None = None
        self._thread = threading.Thread(target=self._main, name="evaluator-under-test", daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("evaluator did not start within 20 s")
        if self._error is not None:
            raise RuntimeError("evaluator failed to start") from self._error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        try:
            self.app = create_app(self.store, self.config, **self._kwargs)
            runner = HotLaneRunner(self.app, access_log_class=recording_logger(self.seen), shutdown_timeout=1.0,
                                   **self._runner_options)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stopped.wait()
        await runner.cleanup()

    def stop(self) -> None:
        if self._stopped is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)
        self.store.close()

    def requests_to(self, prefix: str, count: int = 1) -> list[Seen]:
        """The recorded requests whose path starts with `prefix`, once there are `count` of them (the access log
        is written just after the response is sent, so a client can be a moment ahead of it)."""
        return wait_until(lambda: (lambda found: found if len(found) >= count else None)(
            [s for s in self.seen if s.path.startswith(prefix)]), timeout=5, what=f"{count} request(s) to {prefix}")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None and "content" not in kwargs:
            kwargs["json"] = body
        return httpx.post(self.url + path, timeout=10, **kwargs)


class ServerProcess:
    """`python -m evaluator` as a subprocess; the bound port is read from its first output line."""

    def __init__(self, config_path: Path, *args: str, command: tuple[str, ...] = ("-m", "evaluator")):
        self.proc = subprocess.Popen(
            [sys.executable, *command, "--config", str(config_path), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"http://([\d.]+):(\d+)", line)
        if not found:
            rest = self.proc.stdout.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"evaluator did not start: {line}{rest}")
        self.url = f"http://{found.group(1)}:{found.group(2)}"
        wait_until(lambda: _healthy(self.url), timeout=20, what="evaluator /health")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)


def run_node(script: Path, *args: str, timeout: float = 60) -> Any:
    """Run a node script from the project root (where node_modules is) and parse its JSON output."""
    done = subprocess.run(["node", str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"node {script.name} failed ({done.returncode}): {done.stderr}\n{done.stdout}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def hot_answers(url: str, headers: dict[str, str] | None = None) -> int:
    """How many requests the hot lane of the evaluator at `url` has answered (`flagdeck_hot_lane_answers_total`);
    `headers`: a credential, when authentication is required (/metrics needs one then)."""
    text = httpx.get(url + "/metrics", headers=headers, timeout=10).text
    line = next((x for x in text.splitlines() if x.startswith("flagdeck_hot_lane_answers_total ")), None)
    return int(float(line.split()[1])) if line else 0
