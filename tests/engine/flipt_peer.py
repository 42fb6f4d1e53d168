"""Flipt's own Rust engine (PyPI `flipt-client`) as a peer: a tiny HTTP server on 127.0.0.1 (ephemeral port) serves
our client snapshot documents the way the engine polls for them (flipt-clients §2.3), and `flipt_client()`
builds a real client on it. Also imported by bench/engine.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flipt_client import FliptClient
from flipt_client.models import ClientOptions

SNAPSHOT_PATH = "/internal/v1/evaluation/snapshot/namespace/"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        body = self.server.bodies.get(path[len(SNAPSHOT_PATH):]) if path.startswith(SNAPSHOT_PATH) else None
        self.server.requests.append(path)
        if body is None:
            self.send_response(404)
            payload = b'{"code":5,"message":"not found","details":[]}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        etag, payload = body
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []


@contextmanager
def snapshot_server() -> Iterator[_Server]:
    """`server.bodies[namespace] = (etag, body)`; `server.server_address` gives the port."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def flipt_client(server: _Server, namespace: str) -> Iterator[FliptClient]:
    host, port = server.server_address[:2]
    client = FliptClient(
        ClientOptions(url=f"http://{host}:{port}", namespace=namespace, update_interval=600, request_timeout=5)
    )
    try:
        yield client
    finally:
        client.close()
