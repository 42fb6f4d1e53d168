"""OFREP single and bulk evaluation: Flipt's bridge semantics, ETag/304 on bulk, OFREP error shapes."""

from __future__ import annotations

import json

import pytest

from .harness import ServerThread
from .test_server_auth import AUTH

NS1 = {"X-Flipt-Namespace": "ns1"}


def ofrep(server: ServerThread, key: str, context: dict, headers: dict | None = None):  # noqa: ANN201
    return server.post(f"/ofrep/v1/evaluate/flags/{key}", {"context": context}, headers=NS1 if headers is None else headers)


def test_single_flag_results(server: ServerThread) -> None:
    assert ofrep(server, "bool-rollout", {"targetingKey": "user-2"}).json() == {
        "key": "bool-rollout", "reason": "TARGETING_MATCH", "variant": "true", "value": True}
    assert ofrep(server, "bool-rollout", {"targetingKey": "user-1"}).json() == {
        "key": "bool-rollout", "reason": "DEFAULT", "variant": "false", "value": False}
    body = ofrep(server, "variant-seg", {"targetingKey": "user-2", "plan": "pro", "age": 42}).json()
    assert body["variant"] == body["value"] == "blue" and body["reason"] == "TARGETING_MATCH"
    assert body["metadata"]["segments"] == "pro-users"
    assert json.loads(body["metadata"]["attachment"]) == {"color": "#00f"}
    body = ofrep(server, "variant-seg", {"targetingKey": "user-1", "plan": "free"}).json()
    assert (body["variant"], body["value"], body["reason"]) == ("", "", "UNKNOWN")
    assert "metadata" not in body


def test_single_flag_etag(server: ServerThread) -> None:
    first = ofrep(server, "variant-seg", {"targetingKey": "user-2", "plan": "pro"})
    etag = first.headers["etag"]
    again = server.post("/ofrep/v1/evaluate/flags/variant-seg", {"context": {"targetingKey": "user-2", "plan": "pro"}},
                        headers={**NS1, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    other = server.post("/ofrep/v1/evaluate/flags/variant-seg", {"context": {"targetingKey": "user-1", "plan": "pro"}},
                        headers={**NS1, "If-None-Match": etag})
    assert other.status_code == 200 and other.json()["value"] == "green" and other.headers["etag"] != etag


def test_environment_header_and_url(server: ServerThread) -> None:
    staging = {**NS1, "X-Flipt-Environment": "staging"}
    assert ofrep(server, "env-marker", {"targetingKey": "u"}, staging).json()["value"] == "staging"
    r = server.post("/environments/staging/ofrep/v1/evaluate/flags/env-marker", {}, headers=NS1)
    assert r.json()["value"] == "staging"
    assert ofrep(server, "env-marker", {}).json()["value"] == "production"  # no targeting key: random entity


NOT_FOUND_ENV = 'failed to get environment "nowhere" from context: environment: "nowhere" not found'


@pytest.mark.parametrize(("path", "body", "headers", "status", "answer"), [
    # a flag's lookup names the flag, whether the flag or its namespace is missing (Flipt's bridge)
    ("flags/nope", {}, NS1, 404, {"key": "nope", "errorCode": "FLAG_NOT_FOUND",
                                  "errorDetails": "flag was not found nope"}),
    ("flags/bool-rollout", {}, {"X-Flipt-Namespace": "ghost"}, 404,
     {"key": "bool-rollout", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag was not found bool-rollout"}),
    ("flags/bool-rollout", {}, {}, 404,  # namespace "default", which this repository does not have
     {"key": "bool-rollout", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag was not found bool-rollout"}),
    ("flags", {"context": {"flags": "bool-rollout,nope"}}, NS1, 404,
     {"key": "nope", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag was not found nope"}),
    ("flags", {"context": {"flags": "first,second"}}, {"X-Flipt-Namespace": "ghost"}, 404,
     {"key": "first", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag was not found first"}),
    # other errors name no flag
    ("flags", {"context": {}}, {"X-Flipt-Namespace": "ghost"}, 404,
     {"errorCode": "FLAG_NOT_FOUND", "errorDetails": 'namespace "ghost" not found'}),
    ("flags/bool-rollout", {}, {**NS1, "X-Flipt-Environment": "nowhere"}, 404,
     {"errorCode": "FLAG_NOT_FOUND", "errorDetails": NOT_FOUND_ENV}),
    ("flags", {}, {**NS1, "X-Flipt-Environment": "nowhere"}, 404,
     {"errorCode": "FLAG_NOT_FOUND", "errorDetails": NOT_FOUND_ENV}),
])
def test_errors_read_as_flipts(server: ServerThread, path: str, body: dict, headers: dict, status: int,
                               answer: dict) -> None:
    r = server.post(f"/ofrep/v1/evaluate/{path}", body, headers=headers)
    assert (r.status_code, r.json()) == (status, answer)


def test_invalid_context_names_no_flag(server: ServerThread) -> None:
    r = ofrep(server, "bool-rollout", {"targetingKey": {"nested": 1}})
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_CONTEXT" and "key" not in r.json()
    r = server.post("/ofrep/v1/evaluate/flags/bool-rollout", content=b"{oops", headers=NS1)
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_CONTEXT" and "key" not in r.json()


def test_authentication_errors_in_ofrep_shape(make_server) -> None:  # noqa: ANN001
    """Flipt's OFREP error handler writes every error of the OFREP API, its authentication's included."""
    server = make_server(AUTH.format(evaluation="false", ofrep="false"))
    for path in ("flags/bool-rollout", "flags"):
        r = server.post(f"/ofrep/v1/evaluate/{path}", {}, headers=NS1)
        assert (r.status_code, r.json()) == (401, {"errorCode": "GENERAL",
                                                   "errorDetails": "request was not authenticated"})
        r = server.post(f"/ofrep/v1/evaluate/{path}", {}, headers={**NS1, "Authorization": "Bearer 0th3r"})
        assert (r.status_code, r.json()) == (403, {"errorCode": "GENERAL", "errorDetails": "permission denied"})


def test_bulk_with_etag(server: ServerThread) -> None:
    r = server.post("/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "user-2", "plan": "pro"}}, headers=NS1)
    assert r.status_code == 200
    body = r.json()
    # every boolean flag plus the enabled variant flags
    assert sorted(f["key"] for f in body["flags"]) == ["bool-rollout", "bool-rollout-on", "env-marker",
                                                        "variant-seg", "variant-seg-dflt"]
    assert body["eventStreams"] == [{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/_stream/production/ns1/events"}}]
    etag = r.headers["etag"]
    assert etag.startswith('W/"')
    again = server.post("/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "user-2", "plan": "pro"}},
                        headers={**NS1, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    other = server.post("/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "user-1", "plan": "pro"}},
                        headers={**NS1, "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    some = server.post("/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "user-2", "flags": "bool-rollout"}},
                       headers=NS1).json()
    assert some["flags"] == [{"key": "bool-rollout", "reason": "TARGETING_MATCH", "variant": "true", "value": True}]
