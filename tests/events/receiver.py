"""A real webhook receiver for the tests: an aiohttp server on 127.0.0.1 (its own thread and event loop) that checks
each body's HMAC-SHA256 signature, fails now and then (every `fail_every`-th request answers 500, and one in
`drop_every` closes the connection without answering), may answer slowly, and records what it accepted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    key: str
    signature_ok: bool
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    secret: bytes
    fail_every: int = 0  # every Nth request answers 500 (0: never)
    drop_every: int = 0  # every Nth request is cut off without an answer (0: never)
    delay: float = 0.0  # seconds before answering
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    requests: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        self._runner = runner
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._lock:
            self.requests += 1
            number = self.requests
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop_every and number % self.drop_every == 0:
            assert request.transport is not None
            request.transport.close()  # no answer at all
            return web.Response(status=500)
        if self.fail_every and number % self.fail_every == 0:
            with self._lock:
                self.refused += 1
            return web.Response(status=500, text="try again")
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Flagdeck-Signature", "")
        record = Received(request.headers.get("Idempotency-Key", ""), hmac.compare_digest(expected, given),
                          dict(request.headers), json.loads(body))
        with self._lock:
            self.accepted.append(record)
        return web.Response(status=204)

    def keys(self) -> list[str]:
        with self._lock:
            return [r.key for r in self.accepted]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(set(self.keys())) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(set(self.keys()))} of {count} events received in {timeout} s")
            time.sleep(0.05)
        with self._lock:
            return list(self.accepted)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
