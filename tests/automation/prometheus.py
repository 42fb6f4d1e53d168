"""A real Prometheus (`/usr/bin/prometheus`) for the ramp and analytics tests: a temporary configuration scraping a
tiny HTTP endpoint whose metric value the test sets (or any `targets`, e.g. evaluators), a 1-second scrape interval,
an ephemeral port, its TSDB in tmp."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class Exporter:
    """`/metrics` answering `flagdeck_test_error_ratio <value>`; `value` is set by the test."""

    def __init__(self) -> None:
        self.value = 0.0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = f"# TYPE flagdeck_test_error_ratio gauge\nflagdeck_test_error_ratio {exporter.value}\n".encode()
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    def __init__(self, tmp: Path, target_port: int | None = None, targets: list[str] | None = None):
        """Scrapes 127.0.0.1:`target_port`, or each of `targets` (host:port)."""
        tmp.mkdir(parents=True, exist_ok=True)
        config = tmp / "prometheus.yml"
        scraped = targets if targets is not None else [f"127.0.0.1:{target_port}"]
        config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                          f"  - job_name: flagdeck-test\n    static_configs:\n      - targets: {json.dumps(scraped)}\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / "prometheus.log").open("w")
        self.proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                                      f"--web.listen-address=127.0.0.1:{self.port}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.wait(lambda: self._get("/-/ready") is not None, "Prometheus ready")

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as answer:
                return answer.read()
        except OSError:
            return None

    def query(self, promql: str) -> list[float]:
        body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        result = json.loads(body)["data"]["result"] if body else []
        return [float(sample["value"][1]) for sample in result]

    def wait(self, condition, what: str, timeout: float = 30) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"prometheus exited with {self.proc.returncode}")
            if condition():
                return
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
