"""What anyone can read (issue 12 #7): `/health` always answers liveness in Flipt's shape; its details and
`/metrics` (flag keys, variant values, file error text) need a credential reaching every environment and namespace
when `authentication.required` is true, unless `authentication.exclude.health` / `.metrics` opens them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client.parser import text_string_to_metric_families

from evaluator.config import EvaluatorConfig
from gitstore.config import parse_config
from gitstore.errors import ConfigError

from .harness import FlagRepo, ServerProcess, ServerThread, wait_until, write_config
from .jwt_tokens import jwt_header, jwt_section, pem, sign

TOKENS = """authentication:
  required: true
  exclude: {{evaluation: true, ofrep: false{more}}}
  tokens:
    web-app: {{credential: "s3cr3t", environments: [staging, production]}}
    batch-job: {{credential: "0th3r", environments: ["*"], namespaces: [billing]}}
    ops: {{credential: "3v3rywh3r3"}}
"""
UNAUTHENTICATED = {"code": 16, "message": "request was not authenticated", "details": []}
DENIED = {"code": 7, "message": "permission denied", "details": []}
BROKEN = "flags:\n  - key: broken-flag-key\n    variants: nope\nnamespace: broken\n"  # invalid: error on /health


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def locked(make_server, flag_repo: FlagRepo) -> ServerThread:  # noqa: ANN001
    flag_repo.commit({"prod/broken/features.yaml": BROKEN}, "an invalid namespace")
    server = make_server(TOKENS.format(more=""))
    # something to show: a result series naming a flag and a variant value
    r = server.post("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "user-2",
                                             "context": {"plan": "pro"}})
    assert r.status_code == 200
    return server


def test_liveness_is_public_and_says_nothing_else(locked: ServerThread) -> None:
    for headers in ({}, bearer("wrong"), {"Authorization": "JWT not-a-jwt"}, bearer("s3cr3t"), bearer("0th3r")):
        health = locked.get("/health", headers=headers)
        assert health.status_code == 200 and health.json() == {"status": "SERVING"}, headers
        assert "variant-seg" not in health.text and "features.yaml" not in health.text
    metrics = locked.get("/metrics")
    assert metrics.status_code == 401 and metrics.json() == UNAUTHENTICATED
    assert locked.get("/metrics", headers=bearer("wrong")).json() == UNAUTHENTICATED
    for scoped in ("s3cr3t", "0th3r"):  # tokens limited to some environments or namespaces
        denied = locked.get("/metrics", headers=bearer(scoped))
        assert denied.status_code == 403 and denied.json() == DENIED


def test_an_unrestricted_credential_reads_the_details(locked: ServerThread) -> None:
    for headers in (bearer("3v3rywh3r3"), {"Cookie": "flipt_client_token=3v3rywh3r3"}):
        health = locked.get("/health", headers=headers).json()
        assert health["status"] == "SERVING" and health["pid"] > 0
        assert "prod/broken/features.yaml:3" in health["environments"]["production"]["namespaces"]["broken"]["error"]
        metrics = locked.get("/metrics", headers=headers)
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(metrics.text)}
        assert "flipt_evaluations_results" in names
        assert 'flipt_flag="variant-seg"' in metrics.text and 'flipt_value="blue"' in metrics.text


def test_exclusions_open_details_and_metrics(make_server) -> None:  # noqa: ANN001
    server = make_server(TOKENS.format(more=", health: true, metrics: true"))
    assert server.get("/health").json()["environments"]["production"]["commit"]
    assert server.get("/metrics").status_code == 200
    assert server.get("/api/v1/namespaces/ns1/flags").status_code == 401  # the rest stays locked
    server = make_server(TOKENS.format(more=", metrics: true"))
    assert server.get("/metrics").status_code == 200 and server.get("/health").json() == {"status": "SERVING"}


def test_without_required_authentication_everything_is_readable(server: ServerThread) -> None:
    """The default when `authentication.required` is false: there is no credential to ask for, and anyone can
    already read every flag through the client snapshot and the flag list."""
    assert server.get("/health").json()["environments"]["production"]["default"] is True
    assert server.get("/metrics").status_code == 200


def test_a_jwt_reads_the_details_unless_scoped(make_server, tmp_path: Path) -> None:  # noqa: ANN001
    key = rsa.generate_private_key(65537, 2048)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "jwt.pem").write_bytes(pem(key))
    server = make_server(jwt_section("public_key_file: keys/jwt.pem"))
    token = jwt_header(sign(key))
    assert server.get("/metrics", headers=token).status_code == 200
    assert "environments" in server.get("/health", headers=token).json()
    scoped = make_server(jwt_section("public_key_file: keys/jwt.pem", "    namespaces: [ns1]\n"))
    assert scoped.get("/metrics", headers=token).json() == DENIED
    assert scoped.get("/health", headers=token).json() == {"status": "SERVING"}


def test_bad_exclusion_settings_name_file_and_line(tmp_path: Path) -> None:
    base = "storage:\n  s: {path: repo}\nenvironments:\n  production: {storage: s}\nauthentication:\n  exclude:\n"
    for line, message in (("    metrics: sometimes\n", "authentication.exclude.metrics"),
                          ("    health_details: true\n", "authentication.exclude.health_details")):
        with pytest.raises(ConfigError) as raised:
            parse_config(base + line, tmp_path / "flagdeck.yaml", model=EvaluatorConfig)
        assert f"flagdeck.yaml:7: {message}" in str(raised.value), str(raised.value)


def test_workers_answer_scrapes_with_a_token(tmp_path: Path, flag_repo: FlagRepo) -> None:
    config = write_config(tmp_path, flag_repo.path, TOKENS.format(more=""))
    server = ServerProcess(config, "--workers", "2")  # its readiness check reads the public liveness answer
    try:
        import httpx2 as httpx

        def pids() -> set[int]:
            found = set()
            for _ in range(20):
                with httpx.Client(timeout=5) as fresh:
                    found.add(fresh.get(server.url + "/health", headers=bearer("3v3rywh3r3")).json()["pid"])
            return found

        wait_until(lambda: len(pids()) == 2, timeout=20, what="both workers to show their details")
        with httpx.Client(timeout=5) as client:
            assert client.get(server.url + "/metrics").status_code == 401
            assert client.get(server.url + "/metrics", headers=bearer("3v3rywh3r3")).status_code == 200
    finally:
        assert server.stop() == 0
