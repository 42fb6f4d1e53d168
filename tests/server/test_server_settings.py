"""The evaluator's own settings in flagdeck.yaml (`server:`) under the command line's options, and HTTPS: real
`python -m evaluator` processes, a self-signed certificate made here, real TLS clients (httpx, PyPI `flipt`,
PyPI `flipt-client`'s Rust engine) trusting only that certificate."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flipt.evaluation import Evaluation
from flipt.evaluation import EvaluationRequest as RestRequest
from flipt_client import FliptClient
from flipt_client.models import ClientOptions, TlsConfig

from evaluator.keys import server_ssl_context

from . import oracle
from .harness import ROOT, FlagRepo, ServerProcess, hot_answers, wait_until, write_config
from .test_server_snapshot import SNAP

VARIANT = {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "user-1", "context": {"plan": "pro"}}
PRO = {"plan": "pro"}


def self_signed(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed server certificate for 127.0.0.1 (SAN IP) and its key, as PEM files `name.crt`, `name.key`.
    Not a CA certificate: flipt-client's TLS stack (webpki) refuses a CA certificate presented as a server's."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flagdeck test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class HttpsServer(ServerProcess):
    """`ServerProcess` for an evaluator whose first line may say `https://` (the harness's reads `http://` only);
    `verify` is an SSL context trusting the test certificate, for every request made to it."""

    def __init__(self, config_path: Path, *args: str, cert: Path | None = None):
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(cert)) if cert else True
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evaluator", "--config", str(config_path), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline()
        found = re.search(r"(https?)://([\d.]+):(\d+)", self.first_line)
        if not found:
            rest = self.proc.stdout.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"evaluator did not start: {self.first_line}{rest}")
        self.url = f"{found.group(1)}://{found.group(2)}:{found.group(3)}"
        wait_until(self._healthy, timeout=20, what="evaluator /health")

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=5, verify=self.verify)

    def _healthy(self) -> bool:
        try:
            with self.client() as client:
                return client.get(self.url + "/health").status_code == 200
        except httpx.HTTPError:
            return False

    def hot_answers(self) -> int:
        with self.client() as client:
            text = client.get(self.url + "/metrics").text
        line = next((x for x in text.splitlines() if x.startswith("flagdeck_hot_lane_answers_total ")), None)
        return int(float(line.split()[1])) if line else 0

    def output(self) -> list[str]:
        """Everything the process printed (call after `stop`)."""
        assert self.proc.stdout is not None
        return [self.first_line.rstrip("\n"), *self.proc.stdout.read().splitlines()]


def exchange(url: str, requests: list[bytes], context: ssl.SSLContext | None = None) -> list[tuple[int, bytes]]:
    """Send `requests` one after the other on one keep-alive connection (TLS with `context`), each in a single
    write, so each arrives complete (the hot lane's case; a client writing headers and body apart may have its
    request parsed by aiohttp instead, when the body is late). Returns (status, body) per request."""
    host, port = url.split("://", 1)[1].split(":")
    answers = []
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        conn = context.wrap_socket(raw, server_hostname=host) if context else raw
        pending = b""
        for request in requests:
            conn.sendall(request)
            while b"\r\n\r\n" not in pending:
                pending += conn.recv(65536) or b""
            head, pending = pending.split(b"\r\n\r\n", 1)
            status = int(head.split(b" ", 2)[1])
            length = 0 if status == 304 else int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            while len(pending) < length:
                pending += conn.recv(65536)
            answers.append((status, pending[:length]))
            pending = pending[length:]
    return answers


def post(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def get(path: str, *headers: str) -> bytes:
    return "".join([f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n", *(h + "\r\n" for h in headers),
                    "\r\n"]).encode()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "tls").mkdir()
    return self_signed(tmp_path / "tls")


@pytest.fixture
def running() -> Iterator[list[HttpsServer]]:
    """Servers a test started, each stopped (and required to exit 0) at the end."""
    started: list[HttpsServer] = []
    yield started
    for server in started:
        assert server.stop() == 0, server.output()


def start(running: list[HttpsServer], config: Path, *args: str, cert: Path | None = None) -> HttpsServer:
    server = HttpsServer(config, *args, cert=cert)
    running.append(server)
    return server


# -- HTTPS -----------------------------------------------------------------------------------------------------
def test_https_from_the_file_serves_evaluations_and_snapshots_through_the_hot_lane(
        tmp_path: Path, flag_repo: FlagRepo, tls_files: tuple[Path, Path], running: list[HttpsServer]) -> None:
    cert, _ = tls_files
    # relative paths: relative to flagdeck.yaml's directory
    config = write_config(tmp_path, flag_repo.path, "server:\n  tls: {cert_file: tls/server.crt, "
                                                   "key_file: tls/server.key}\n")
    server = start(running, config, cert=cert)
    assert server.url.startswith("https://127.0.0.1:") and "listening on https://" in server.first_line
    with server.client() as client:  # one keep-alive TLS connection, trusting only our certificate
        for _ in range(3):
            body = client.post(server.url + "/evaluate/v1/variant", json=VARIANT).json()
            assert body["variantKey"] == oracle.USERS["user-1"][2] and body["match"] is True
        first = client.get(server.url + SNAP)
        assert first.status_code == 200 and first.json()["namespace"] == {"key": "ns1"}
        etag = first.headers["etag"]
        again = client.get(server.url + SNAP, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
    # the hot lane answers over TLS too (asyncio's TLS transport hands it the decrypted bytes): each of these
    # complete requests on one keep-alive connection, with the same answers as above
    before = server.hot_answers()
    answers = exchange(server.url, [post("/evaluate/v1/variant", json.dumps(VARIANT).encode())] * 3 + [
        get(SNAP), get(SNAP, f"If-None-Match: {etag}")], ssl.create_default_context(cafile=str(cert)))
    assert [status for status, _ in answers] == [200, 200, 200, 200, 304]
    assert json.loads(answers[0][1])["variantKey"] == oracle.USERS["user-1"][2]
    assert answers[3][1] == first.content and answers[4][1] == b""
    assert server.hot_answers() - before == 5
    with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused by a verifying client
        httpx.get(server.url + "/health", timeout=5)
    with pytest.raises(httpx.HTTPError):  # plain HTTP on the port gets no HTTP answer
        httpx.get(server.url.replace("https://", "http://") + "/health", timeout=5)


def test_https_is_tls_1_2_or_later(tmp_path: Path, flag_repo: FlagRepo, tls_files: tuple[Path, Path],
                                   running: list[HttpsServer]) -> None:
    cert, key = tls_files
    assert server_ssl_context(cert, key).minimum_version == ssl.TLSVersion.TLSv1_2  # what every socket is given
    server = start(running, write_config(tmp_path, flag_repo.path), "--tls-cert", str(cert), "--tls-key", str(key),
                   cert=cert)
    host, port = server.url.removeprefix("https://").split(":")
    modern = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            modern.wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_https_command_line_options_and_workers(tmp_path: Path, flag_repo: FlagRepo, tls_files: tuple[Path, Path],
                                                running: list[HttpsServer]) -> None:
    """`--tls-cert/--tls-key` on a file without `server.tls`; with two workers, each one's own SO_REUSEPORT socket
    speaks TLS too (a fresh connection may land on any of the three sockets)."""
    cert, key = tls_files
    config = write_config(tmp_path, flag_repo.path, "server:\n  workers: 2\n")
    server = start(running, config, "--tls-cert", str(cert), "--tls-key", str(key), cert=cert)
    assert "(2 workers)" in server.first_line and server.url.startswith("https://")
    pids: set[int] = set()
    for _ in range(60):
        with server.client() as fresh:
            pids.add(fresh.get(server.url + "/health").json()["pid"])
            assert fresh.post(server.url + "/evaluate/v1/variant", json=VARIANT).json()["match"] is True
        if len(pids) == 2:
            break
    assert len(pids) == 2


def test_flipt_sdks_over_https_trusting_the_certificate(tmp_path: Path, flag_repo: FlagRepo,
                                                         tls_files: tuple[Path, Path],
                                                         running: list[HttpsServer]) -> None:
    cert, key = tls_files
    server = start(running, write_config(tmp_path, flag_repo.path), "--tls-cert", str(cert), "--tls-key", str(key),
                   cert=cert)
    # flipt-client (Rust engine, client-side evaluation of our snapshot): given the CA through its TlsConfig
    client = FliptClient(ClientOptions(url=server.url, namespace="ns1", update_interval=60, request_timeout=5,
                                       tls_config=TlsConfig(ca_cert_file=str(cert))))
    try:
        assert client.evaluate_variant("variant-seg", "user-1", PRO).variant_key == oracle.USERS["user-1"][2]
        assert client.evaluate_variant("env-marker", "u", {}).variant_key == "production"
    finally:
        client.close()
    # PyPI flipt (server-side evaluation): its FliptClient takes no CA, its Evaluation takes the httpx client to use
    with httpx.Client(timeout=5, verify=ssl.create_default_context(cafile=str(cert))) as transport:
        rest = Evaluation(server.url, None, None, transport)
        for user, (_, _, seg, _) in oracle.USERS.items():
            answer = rest.variant(RestRequest(namespace_key="ns1", flag_key="variant-seg", entity_id=user,
                                              context=PRO))
            assert (answer.variant_key, answer.match) == (seg, True)


# -- precedence: command line over file over default ------------------------------------------------------------
def test_the_command_line_wins_over_the_file(tmp_path: Path, flag_repo: FlagRepo,
                                             running: list[HttpsServer]) -> None:
    with socket.socket() as taken:  # the file's port is in use: had the file won over `--port 0`, bind would fail
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        file_port = taken.getsockname()[1]
        config = write_config(tmp_path, flag_repo.path, (
            f"server:\n  port: {file_port}\n  access_log: true\n  hot_lane: false\n"
            "  cors: {allowed_origins: [https://app.example]}\n"))
        from_file = start(running, config)
        overridden = start(running, config, "--no-access-log", "--hot-lane", "--cors-origin", "https://admin.example")
    for server in (from_file, overridden):
        assert int(server.url.rsplit(":", 1)[1]) != file_port
    seen: dict[tuple[str, str], str | None] = {}
    for server in (from_file, overridden):
        exchange(server.url, [post("/evaluate/v1/variant", json.dumps(VARIANT).encode())] * 3)
        with server.client() as client:
            for _ in range(3):
                client.post(server.url + "/evaluate/v1/variant", json=VARIANT,
                            headers={"User-Agent": "precedence/1"})
            for origin in ("https://app.example", "https://admin.example"):
                answer = client.get(server.url + SNAP, headers={"Origin": origin})
                seen[(server.url, origin)] = answer.headers.get("access-control-allow-origin")
    assert seen[(from_file.url, "https://app.example")] == "https://app.example"  # the file's list
    assert seen[(from_file.url, "https://admin.example")] is None
    assert seen[(overridden.url, "https://admin.example")] == "https://admin.example"  # --cors-origin replaces it
    assert seen[(overridden.url, "https://app.example")] is None
    assert hot_answers(from_file.url) == 0  # hot_lane: false in the file
    assert hot_answers(overridden.url) >= 3 + 2  # --hot-lane wins: at least the single-write evaluations, snapshots
    running.clear()
    assert from_file.stop() == 0 and overridden.stop() == 0
    lane_lines = [x for x in from_file.output() if "precedence/1" in x]
    assert len(lane_lines) == 3 and all('"POST /evaluate/v1/variant HTTP/1.1" 200' in x for x in lane_lines)
    assert not [x for x in overridden.output() if "aiohttp.access" in x]  # --no-access-log wins


def test_file_settings_apply_without_options(tmp_path: Path, flag_repo: FlagRepo,
                                             running: list[HttpsServer]) -> None:
    config = write_config(tmp_path, flag_repo.path, "server:\n  workers: 2\n  heartbeat: 0\n  cors:\n"
                                                   "    enabled: false\n")
    server = start(running, config)
    assert "(2 workers)" in server.first_line
    with server.client() as client:
        answer = client.get(server.url + SNAP, headers={"Origin": "https://app.example"})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    with_cors = start(running, config, "--cors")
    with with_cors.client() as client:
        answer = client.get(with_cors.url + SNAP, headers={"Origin": "https://app.example"})
        assert answer.headers["access-control-allow-origin"] == "*"


# -- errors: one line, file:line: key, exit 1, nothing bound ------------------------------------------------------
def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evaluator", "--config", str(config), "--port", "0", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(("server_yaml", "line", "key", "words"), [
    ("server:\n  tls: {cert_file: tls/missing.crt, key_file: tls/server.key}\n", 10, "server.tls.cert_file",
     "cannot read"),
    ("server:\n  tls:\n    cert_file: tls/server.crt\n    key_file: tls/other.key\n", 12, "server.tls.key_file",
     "is not the private key of cert_file"),
    ("server:\n  tls:\n    cert_file: tls/server.key\n    key_file: tls/server.key\n", 11, "server.tls.cert_file",
     "holds no PEM certificate"),
    ("server:\n  tls: {cert_file: tls/server.crt}\n", 10, "server.tls.key_file", "is required"),
    ("server:\n  host: 127.0.0.1\n  port: 70000\n", 11, "server.port", "less than or equal to 65535"),
    ("server:\n  port: eighty\n", 10, "server.port", "integer"),
    ("server:\n  https_port: 8443\n", 10, "server.https_port", "unknown key"),
    ("server:\n  heartbeat: often\n", 10, "server.heartbeat", "not a duration"),
    ("server:\n  host: 127.0.0.1\n  header_timeout: soon\n", 11, "server.header_timeout", "not a duration"),
    ("server:\n  body_timeout: 0s\n", 10, "server.body_timeout", "greater than zero"),
    ("server:\n  max_connections: -1\n", 10, "server.max_connections", "greater than or equal to 0"),
    ("server:\n  max_connections: lots\n", 10, "server.max_connections", "integer"),
    ("server:\n  cors: {allowed_origins: ['https://app.example/']}\n", 10, "server.cors.allowed_origins",
     "is not an origin"),
])
def test_bad_server_settings_are_one_line_errors(tmp_path: Path, flag_repo: FlagRepo, tls_files: tuple[Path, Path],
                                                 server_yaml: str, line: int, key: str, words: str) -> None:
    self_signed(tmp_path / "tls", "other")
    config = write_config(tmp_path, flag_repo.path, server_yaml)
    done = _run(config)
    assert done.returncode == 1, done
    assert "listening" not in done.stdout and "Traceback" not in done.stderr
    (message,) = done.stderr.strip().splitlines()
    assert message.startswith(f"Error: {config}:{line}: {key}: ") and words in message, message


def test_bad_tls_options_are_one_line_errors(tmp_path: Path, flag_repo: FlagRepo,
                                             tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    _, other_key = self_signed(tmp_path / "tls", "other")
    config = write_config(tmp_path, flag_repo.path)
    mismatch = _run(config, "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert mismatch.returncode == 1 and "listening" not in mismatch.stdout
    (message,) = mismatch.stderr.strip().splitlines()
    assert message.startswith("Error: --tls-cert/--tls-key: key_file:") and "not the private key" in message
    alone = _run(config, "--tls-cert", str(cert))
    assert alone.returncode == 2 and "--tls-cert and --tls-key go together" in alone.stderr
