"""OFREP single and bulk evaluation: Flipt's bridge semantics, ETag/304 on bulk, OFREP error shapes."""

from __future__ import annotations

import json

from .harness import ServerThread

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


def test_errors_in_ofrep_shape(server: ServerThread) -> None:
    r = ofrep(server, "nope", {"targetingKey": "u"})
    assert r.status_code == 404
    assert r.json() == {"key": "nope", "errorCode": "FLAG_NOT_FOUND", "errorDetails": 'flag "ns1/nope" not found'}
    r = ofrep(server, "bool-rollout", {"targetingKey": "u"}, headers={})  # namespace "default" does not exist
    assert r.status_code == 404 and r.json()["errorCode"] == "FLAG_NOT_FOUND"
    r = ofrep(server, "bool-rollout", {"targetingKey": {"nested": 1}})
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_CONTEXT"
    r = server.post("/ofrep/v1/evaluate/flags/bool-rollout", content=b"{oops", headers=NS1)
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_CONTEXT"


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
    missing = server.post("/ofrep/v1/evaluate/flags", {"context": {"flags": "bool-rollout,nope"}}, headers=NS1)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "FLAG_NOT_FOUND"
