"""Client-token authentication: 401/403 in Flipt's shape, scopes per environment and namespace, Flipt's
exclusions, and secrets never echoed or logged."""

from __future__ import annotations

import logging

import pytest

from .harness import ServerThread

AUTH = """authentication:
  required: true
  exclude: {{evaluation: {evaluation}, ofrep: {ofrep}}}
  tokens:
    web-app: {{credential: "s3cr3t", environments: [staging, production]}}
    batch-job: {{credential: "0th3r", environments: [production], namespaces: [billing]}}
    ops: {{credential: "3v3rywh3r3"}}
"""
BOOL = {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "user-2"}
BILLING = {"namespaceKey": "billing", "flagKey": "invoices-v2", "entityId": "user-2"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def locked(make_server) -> ServerThread:  # noqa: ANN001
    return make_server(AUTH.format(evaluation="false", ofrep="false"))


def test_missing_or_wrong_token_is_401(locked: ServerThread) -> None:
    for headers in ({}, bearer("wrong"), {"Authorization": "s3cr3t"}, {"Authorization": "JWT s3cr3t"}):
        r = locked.post("/evaluate/v1/boolean", BOOL, headers=headers)
        assert r.status_code == 401, headers
        assert r.json() == {"code": 16, "message": "request was not authenticated", "details": []}
    assert locked.get("/internal/v1/evaluation/snapshot/namespace/ns1").status_code == 401
    assert locked.post("/ofrep/v1/evaluate/flags/bool-rollout", {}, headers={"X-Flipt-Namespace": "ns1"}
                       ).status_code == 401
    assert locked.get("/api/v1/namespaces/ns1/flags").status_code == 401
    assert locked.get("/health").status_code == 200  # never needs a credential


def test_valid_token_and_cookie(locked: ServerThread) -> None:
    r = locked.post("/evaluate/v1/boolean", BOOL, headers=bearer("s3cr3t"))
    assert r.status_code == 200 and r.json()["enabled"] is True
    r = locked.post("/evaluate/v1/boolean", BOOL, cookies={"flipt_client_token": "s3cr3t"})
    assert r.status_code == 200


def test_scopes_by_environment_and_namespace(locked: ServerThread) -> None:
    job = bearer("0th3r")
    assert locked.post("/evaluate/v1/boolean", BILLING, headers=job).status_code == 200
    denied = locked.post("/evaluate/v1/boolean", BOOL, headers=job)
    assert denied.status_code == 403 and denied.json() == {"code": 7, "message": "permission denied", "details": []}
    staging = locked.post("/evaluate/v1/boolean", {**BILLING, "environmentKey": "staging"}, headers=job)
    assert staging.status_code == 403
    assert locked.get("/environments/staging/internal/v1/evaluation/snapshot/namespace/ns1",
                      headers=job).status_code == 403
    batch = locked.post("/evaluate/v1/batch", {"requests": [BILLING, BOOL]}, headers=job)
    assert batch.status_code == 403
    assert locked.get("/environments/staging/internal/v1/evaluation/snapshot/namespace/ns1",
                      headers=bearer("s3cr3t")).status_code == 200


def test_token_without_scopes_reaches_every_environment(locked: ServerThread) -> None:
    for env in ("production", "staging"):
        r = locked.post(f"/environments/{env}/evaluate/v1/variant", {**BOOL, "flagKey": "env-marker"},
                        headers=bearer("3v3rywh3r3"))
        assert r.status_code == 200 and r.json()["variantKey"] == env


def test_exclusions_follow_flipt(make_server) -> None:  # noqa: ANN001
    server = make_server(AUTH.format(evaluation="true", ofrep="false"))
    assert server.post("/evaluate/v1/boolean", BOOL).status_code == 200
    assert server.get("/internal/v1/evaluation/snapshot/namespace/ns1").status_code == 200
    assert server.get("/client/v2/environments/staging/namespaces/ns1/snapshot").status_code == 200
    assert server.post("/ofrep/v1/evaluate/flags/bool-rollout", {}, headers={"X-Flipt-Namespace": "ns1"}
                       ).status_code == 401
    assert server.get("/api/v1/namespaces/ns1/flags").status_code == 401  # never excluded
    server = make_server(AUTH.format(evaluation="false", ofrep="true"))
    r = server.post("/ofrep/v1/evaluate/flags/bool-rollout", {"context": {"targetingKey": "user-2"}},
                    headers={"X-Flipt-Namespace": "ns1"})
    assert r.status_code == 200 and r.json()["value"] is True
    assert server.post("/evaluate/v1/boolean", BOOL).status_code == 401


def test_secrets_are_never_echoed_or_logged(locked: ServerThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for secret in ("s3cr3t-but-wrong", "0th3r"):
        r = locked.post("/evaluate/v1/boolean", BOOL, headers=bearer(secret))
        assert secret not in r.text
    assert "s3cr3t" not in caplog.text and "0th3r" not in caplog.text
    assert "s3cr3t" not in locked.get("/health").text and "0th3r" not in locked.get("/metrics").text
