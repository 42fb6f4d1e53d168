"""The evaluator as real processes: `python -m evaluator` and `flagdeck serve`, `--workers N` on one port, a clear
error for a bad configuration, and scale-out: two processes mirroring one bare remote both serve a push."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from .conftest import ns1, pushed_remote
from .harness import ROOT, FlagRepo, ServerProcess, git, hot_answers, wait_until, write_config


def marker(url: str, env: str = "production") -> str:
    r = httpx.post(url + "/evaluate/v1/variant", json={"namespaceKey": "ns1", "flagKey": "env-marker",
                                                        "entityId": "u", "environmentKey": env}, timeout=5)
    return r.json()["variantKey"]


def test_flagdeck_serve_with_workers_shares_one_port(tmp_path: Path, flag_repo: FlagRepo) -> None:
    config = write_config(tmp_path, flag_repo.path)
    server = ServerProcess(config, "--workers", "2", command=("-m", "app.cli", "serve"))
    try:
        pids: set[int] = set()

        def both_answered() -> bool:
            with httpx.Client(timeout=5) as fresh:  # a new connection each time
                pids.add(fresh.get(server.url + "/health").json()["pid"])
            return len(pids) >= 2

        wait_until(both_answered, timeout=20, interval=0, what="both workers to answer")
        assert server.proc.pid not in pids  # the parent only supervises
        assert marker(server.url) == "production"
        flag_repo.commit({"prod/ns1/features.yaml": ns1("after")}, "change")
        with httpx.Client(timeout=5) as fresh:
            wait_until(lambda: all(marker(server.url) == "after" for _ in range(10)), timeout=10,
                       what="every worker to serve the commit")
            assert fresh.get(server.url + "/health").status_code == 200
    finally:
        assert server.stop() == 0


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "flagdeck.yaml"
    config.write_text("storage:\n  flags: {path: repo, poll_interval: soon}\nenvironments:\n  production: {}\n")
    done = subprocess.run([sys.executable, "-m", "evaluator", "--config", str(config), "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert f"{config}:2" in done.stderr and "poll_interval" in done.stderr
    assert "Traceback" not in done.stderr


def test_two_processes_mirroring_one_remote_serve_a_push(tmp_path: Path) -> None:
    remote, work = pushed_remote(tmp_path)
    servers = []
    try:
        for name, workers in (("a", "1"), ("b", "2")):  # b: two workers sharing one mirror
            directory = tmp_path / name
            directory.mkdir()
            config = write_config(directory, directory / "cache", remote=str(remote), poll_interval="1s")
            servers.append(ServerProcess(config, "--workers", workers))
        assert [marker(s.url) for s in servers] == ["production", "production"]
        work.commit({"prod/ns1/features.yaml": ns1("pushed")}, "change production")
        git(work.path, "push", "-q", str(remote), "main")
        # served after the next poll (1 s); the bound is generous because a loaded CI machine is slow, and how
        # fast a push is served is measured by bench/, not asserted here
        for server in servers:
            wait_until(lambda s=server: all(marker(s.url) == "pushed" for _ in range(6)), timeout=15,
                       what="the push to be served")
    finally:
        for server in servers:
            server.stop()


def test_flagdeck_serve_takes_the_hot_lane_unless_told_not_to(tmp_path: Path, flag_repo: FlagRepo) -> None:
    config = write_config(tmp_path, flag_repo.path)
    for options, expected in (((), 5), (("--no-hot-lane",), 0)):
        server = ServerProcess(config, *options, command=("-m", "app.cli", "serve"))
        try:
            with httpx.Client(timeout=5) as client:  # one keep-alive connection
                for _ in range(5):
                    r = client.post(server.url + "/evaluate/v1/variant",
                                    json={"namespaceKey": "ns1", "flagKey": "env-marker", "entityId": "u"})
                    assert r.json()["variantKey"] == "production"
            assert hot_answers(server.url) == expected, options
        finally:
            assert server.stop() == 0


def _answer_size(url: str, request: bytes) -> int:
    """The bytes of the one answer to `request` on a new connection (framed by Content-Length)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
                data.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0]):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    return len(data)


def test_access_log_shows_lane_and_ordinary_requests(tmp_path: Path, flag_repo: FlagRepo) -> None:
    """One line per request, lane or not, each with the bytes written (headers and body, as aiohttp's %b)."""
    config = write_config(tmp_path, flag_repo.path, "authentication: {required: true, tokens: {t: {credential: k}}}\n")
    server = ServerProcess(config, "--access-log")
    body = json.dumps({"namespaceKey": "ns1", "flagKey": "env-marker", "entityId": "u"}).encode()
    sizes = {}
    try:
        for agent, head in (("lane/1", f"POST /evaluate/v1/variant HTTP/1.1\r\nContent-Length: {len(body)}\r\n"
                                        "Authorization: Bearer k\r\n"),
                            ("denied/1", f"POST /evaluate/v1/variant HTTP/1.1\r\nContent-Length: {len(body)}\r\n"),
                            ("ordinary/1", "GET /health HTTP/1.1\r\n")):
            sizes[agent] = _answer_size(server.url, f"{head}Host: x\r\nUser-Agent: {agent}\r\n\r\n".encode()
                                        + (body if head.startswith("POST") else b""))
        assert hot_answers(server.url, {"Authorization": "Bearer k"}) == 2
    finally:
        assert server.stop() == 0
    assert server.proc.stdout is not None
    lines = server.proc.stdout.read().splitlines()
    for agent, request_line, status in (("lane/1", "POST /evaluate/v1/variant", 200),
                                        ("denied/1", "POST /evaluate/v1/variant", 401),
                                        ("ordinary/1", "GET /health", 200)):
        line = next((x for x in lines if f'"{request_line} HTTP/1.1" {status} ' in x and agent in x), None)
        assert line is not None, (agent, lines)
        assert int(line.split(f'" {status} ', 1)[1].split()[0]) == sizes[agent], line


def test_workers_share_a_burst_of_connections(tmp_path: Path, flag_repo: FlagRepo) -> None:
    """40 connections opened at once (as a load generator or a pool does) are spread over both workers: each
    worker listens on a socket of its own on the port too (SO_REUSEPORT), besides the shared one."""
    server = ServerProcess(write_config(tmp_path, flag_repo.path), "--workers", "2")
    try:
        wait_until(lambda: len({httpx.get(server.url + "/health", timeout=5).json()["pid"] for _ in range(20)}) == 2,
                   timeout=20, what="both workers up")
        host, port = server.url.removeprefix("http://").split(":")
        sockets = [socket.create_connection((host, int(port))) for _ in range(40)]
        pids = set()
        for sock in sockets:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for sock in sockets:
            with sock:
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
                pids.add(json.loads(data.split(b"\r\n\r\n", 1)[1])["pid"])
        assert len(pids) == 2
    finally:
        assert server.stop() == 0


def test_sigterm_closes_streams_cleanly_without_waiting(tmp_path: Path, flag_repo: FlagRepo) -> None:
    """SIGTERM with open SSE and JSON snapshot streams, an idle keep-alive connection and half a header line: each
    stream ends with its chunked terminator (a clean end, not a reset), and the process exits 0 without waiting
    out the 2 s shutdown grace period that in-flight requests get."""
    for workers in ("1", "2"):
        server = ServerProcess(write_config(tmp_path, flag_repo.path), "--workers", workers,
                               command=("-m", "app.cli", "serve"))
        host, port = server.url.removeprefix("http://").split(":")
        streams = []
        for accept in ("text/event-stream", "application/json"):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(f"GET /client/v2/environments/production/namespaces/ns1/stream HTTP/1.1\r\nHost: x\r\n"
                         f"Accept: {accept}\r\n\r\n".encode())
            streams.append((sock, sock.recv(65536)))
        idle = socket.create_connection((host, int(port)), timeout=5)
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")
        half = socket.create_connection((host, int(port)), timeout=5)
        half.sendall(b"GET /health HTTP/1.1\r\nHo")
        started = time.monotonic()
        server.proc.terminate()
        for sock, data in streams:
            with sock:
                while chunk := sock.recv(65536):
                    data += chunk
                assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n0\r\n\r\n"), data[-60:]
        assert server.proc.wait(10) == 0
        assert time.monotonic() - started < 1.5, workers
        idle.close()
        half.close()


def test_sigterm_during_start_up_is_a_clean_exit(tmp_path: Path, flag_repo: FlagRepo) -> None:
    """A SIGTERM as soon as the address is printed, while the workers are still starting (opening the store,
    checking the hot lane), ends every process with status 0."""
    config = write_config(tmp_path, flag_repo.path)
    for workers in ("1", "3"):
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--config", str(config), "--port", "0",
                                 "--workers", workers], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=ROOT)
        assert proc.stdout is not None and "listening" in proc.stdout.readline()
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, (workers, out)
        assert "Traceback" not in out, out
