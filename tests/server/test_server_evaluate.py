"""`/evaluate/v1` over real HTTP against a real repository: the oracle outcomes, Flipt's request and response
shapes, error shapes, environment selection and bad input."""

from __future__ import annotations

import json

import pytest

from . import oracle
from .harness import ServerThread

BOOL, VARIANT = "BOOLEAN_EVALUATION_RESPONSE_TYPE", "VARIANT_EVALUATION_RESPONSE_TYPE"


def test_oracle_outcomes_for_twenty_users(server: ServerThread) -> None:
    for user, (bool_off, bool_on, seg, seg_dflt) in oracle.USERS.items():
        for flag, (enabled, reason) in (("bool-rollout", bool_off), ("bool-rollout-on", bool_on)):
            r = server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": flag, "entityId": user})
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["enabled"], body["reason"], body["segmentKeys"]) == (enabled, reason, []), (user, flag)
        for flag, variant in (("variant-seg", seg), ("variant-seg-dflt", seg_dflt)):
            r = server.post("/evaluate/v1/variant", {"namespace_key": "ns1", "flag_key": flag, "entity_id": user,
                                                     "context": {"plan": "pro"}, "reference": None})
            body = r.json()
            assert body["variantKey"] == variant, (user, flag)
            assert (body["match"], body["reason"], body["segmentKeys"]) == (True, "MATCH_EVALUATION_REASON",
                                                                            ["pro-users"])
            attachment = json.loads(body["variantAttachment"])
            assert attachment == ({"color": "#00f"} if (flag, variant) == ("variant-seg", "blue") else None)


def test_thousand_entities_through_batch_match_the_oracle(server: ServerThread) -> None:
    requests = [{"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": str(i)} for i in range(1000)]
    requests += [{"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": str(i), "context": {"plan": "pro"}}
                 for i in range(1000)]
    body = server.post("/evaluate/v1/batch", {"requests": requests}).json()
    responses = body["responses"]
    bools = "".join("1" if e["booleanResponse"]["enabled"] else "0" for e in responses[:1000])
    variants = "".join(e["variantResponse"]["variantKey"][0] for e in responses[1000:])
    assert bools == oracle.BOOL_1000
    assert variants == oracle.VARIANT_1000


def test_no_match_and_default_variant(server: ServerThread) -> None:
    free = {"namespaceKey": "ns1", "entityId": "user-1", "context": {"plan": "free"}}
    body = server.post("/evaluate/v1/variant", {**free, "flagKey": "variant-seg"}).json()
    assert (body["match"], body["variantKey"], body["reason"]) == (False, "", "UNKNOWN_EVALUATION_REASON")
    body = server.post("/evaluate/v1/variant", {**free, "flagKey": "variant-seg-dflt"}).json()
    assert (body["match"], body["variantKey"], body["reason"]) == (False, "control", "DEFAULT_EVALUATION_REASON")
    assert json.loads(body["variantAttachment"]) == {"d": 1}


def test_response_fields_and_request_id(server: ServerThread) -> None:
    body = server.post("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "u",
                                                "requestId": "req-7"}).json()
    assert body["requestId"] == "req-7"
    assert body["flagKey"] == "variant-seg"
    assert isinstance(body["requestDurationMillis"], float)
    assert body["timestamp"].endswith("Z")
    generated = server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout"}).json()
    assert len(generated["requestId"]) == 36


def test_batch_shape_and_per_flag_errors(server: ServerThread) -> None:
    body = server.post("/evaluate/v1/batch", {"request_id": None, "reference": None, "requests": [
        {"namespace_key": "ns1", "flag_key": "bool-rollout", "entity_id": "user-2", "request_id": "a"},
        {"namespace_key": "ns1", "flag_key": "nope", "entity_id": "user-2"},
        {"namespace_key": "ns1", "flag_key": "variant-seg", "entity_id": "user-1", "context": {"plan": "pro"}},
        {"namespace_key": "ghost", "flag_key": "x", "entity_id": "user-1"},
    ]}).json()
    assert len(body["requestId"]) == 36
    first, missing, variant, ghost = body["responses"]
    assert first["type"] == BOOL and first["booleanResponse"]["enabled"] is True
    assert first["booleanResponse"]["requestId"] == "a"
    assert missing == {"type": "ERROR_EVALUATION_RESPONSE_TYPE", "errorResponse": {
        "flagKey": "nope", "namespaceKey": "ns1", "reason": "NOT_FOUND_ERROR_EVALUATION_REASON"}}
    assert variant["type"] == VARIANT and variant["variantResponse"]["variantKey"] == "green"
    assert ghost["errorResponse"]["reason"] == "NOT_FOUND_ERROR_EVALUATION_REASON"


@pytest.mark.parametrize(("path", "body", "status", "message"), [
    ("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "nope"}, 404, 'flag "ns1/nope" not found'),
    ("/evaluate/v1/variant", {"namespaceKey": "ghost", "flagKey": "x"}, 404, 'namespace "ghost" not found'),
    ("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "bool-rollout"}, 400,
     "flag type BOOLEAN_FLAG_TYPE invalid"),
    ("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "variant-seg"}, 400,
     "flag type VARIANT_FLAG_TYPE invalid"),
    ("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": 5}, 400,
     "invalid values for key(s) in json body"),
    ("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout", "context": {"a": {"b": 1}}}, 400,
     "invalid values for key(s) in json body"),
    ("/evaluate/v1/batch", {"requests": {"not": "a list"}}, 400, "invalid values for key(s) in json body"),
    ("/evaluate/v1/batch", {"requests": [1]}, 400, "invalid values for key(s) in json body"),
])
def test_errors_in_flipt_shape(server: ServerThread, path: str, body: dict, status: int, message: str) -> None:
    r = server.post(path, body)
    assert r.status_code == status
    error = r.json()
    assert error["message"].startswith(message)
    assert error["code"] == {400: 3, 404: 5}[status] and error["details"] == []


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_malformed_bodies_are_400(server: ServerThread, raw: bytes) -> None:
    r = server.post("/evaluate/v1/variant", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == 3


def test_huge_body_is_413_and_server_keeps_serving(make_server) -> None:  # noqa: ANN001
    server = make_server(max_body=4096)
    r = server.post("/evaluate/v1/batch", content=b'{"requests": [' + b" " * 10_000 + b"]}")
    assert r.status_code == 413 and "larger than 4096" in r.json()["message"]
    ok = server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "x"})
    assert ok.status_code == 200


def test_numbers_and_booleans_in_context_are_coerced(server: ServerThread) -> None:
    body = server.post("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "user-1",
                                                "context": {"plan": "pro", "age": 42, "beta": True, "x": None}})
    assert body.json()["variantKey"] == "green"


def marker(server: ServerThread, path: str = "/evaluate/v1/variant", body: dict | None = None,
           headers: dict | None = None) -> tuple[int, str]:
    payload = {"namespaceKey": "ns1", "flagKey": "env-marker", "entityId": "u", **(body or {})}
    r = server.post(path, payload, headers=headers or {})
    return r.status_code, r.json().get("variantKey") or r.json().get("message")


def test_environment_selection_follows_flipt(server: ServerThread) -> None:
    assert marker(server) == (200, "production")
    assert marker(server, body={"environmentKey": "staging"}) == (200, "staging")
    assert marker(server, headers={"X-Flipt-Environment": "staging"}) == (200, "staging")
    # an unknown body environment falls back to the header, then the default
    assert marker(server, body={"environment_key": "nowhere"}, headers={"X-Flipt-Environment": "staging"}) == (
        200, "staging")
    assert marker(server, body={"environmentKey": "nowhere"}) == (200, "production")
    # an unknown header is an error, except the literal "default"
    status, message = marker(server, headers={"X-Flipt-Environment": "nowhere"})
    assert status == 404 and 'environment: "nowhere" not found' in message
    assert marker(server, headers={"X-Flipt-Environment": "default"}) == (200, "production")


def test_every_route_answers_under_the_environment_url(server: ServerThread) -> None:
    assert marker(server, "/environments/staging/evaluate/v1/variant") == (200, "staging")
    # the URL wins over the header and the body
    assert marker(server, "/environments/staging/evaluate/v1/variant", {"environmentKey": "production"},
                  {"X-Flipt-Environment": "production"}) == (200, "staging")
    status, message = marker(server, "/environments/nowhere/evaluate/v1/variant")
    assert (status, message) == (404, 'environment "nowhere" not found')
    flags = server.get("/environments/staging/api/v1/namespaces/ns1/flags").json()
    assert any(f["key"] == "env-marker" for f in flags["flags"])
    assert server.get("/environments/staging/api/v1/namespaces/billing/flags").status_code == 404


def test_flag_list(server: ServerThread) -> None:
    body = server.get("/api/v1/namespaces/ns1/flags").json()
    assert body["totalCount"] == 5 and body["nextPageToken"] == ""
    by_key = {f["key"]: f for f in body["flags"]}
    assert by_key["bool-rollout"]["type"] == "BOOLEAN_FLAG_TYPE" and by_key["bool-rollout"]["enabled"] is False
    assert [v["key"] for v in by_key["variant-seg"]["variants"]] == ["blue", "green"]
    assert by_key["variant-seg-dflt"]["defaultVariant"]["key"] == "control"
    assert server.get("/api/v1/namespaces/ghost/flags").status_code == 404


def test_slow_client_does_not_block_others(server: ServerThread) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
        slow.sendall(b"POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"namespaceKey\"")  # and then nothing
        for _ in range(3):
            r = server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout",
                                                     "entityId": "user-2"})
            assert r.status_code == 200 and r.json()["enabled"] is True


def test_broken_chunked_body_is_400(server: ServerThread) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"POST /evaluate/v1/boolean HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"zz\r\n{}\r\n0\r\n\r\n")
        reply = conn.recv(4096).decode(errors="replace")
    assert reply.split()[1] == "400", reply  # rejected by the HTTP parser, never a 5xx


def test_trailing_and_double_slashes_are_normalised(server: ServerThread) -> None:
    r = server.post("/evaluate/v1/variant/", {"namespaceKey": "ns1", "flagKey": "env-marker", "entityId": "u"})
    assert r.status_code == 200 and r.json()["variantKey"] == "production"
    r = server.get("//internal/v1/evaluation/snapshot/namespace/ns1", headers={"X-Flipt-Environment": "staging"})
    assert r.status_code == 200 and r.headers["etag"] == server.get(
        "/environments/staging/internal/v1/evaluation/snapshot/namespace/ns1").headers["etag"]
    missing = server.get("/nowhere//at/all/")
    assert missing.status_code == 404 and missing.json() == {"code": 5, "message": "Not Found", "details": []}
    wrong_method = server.get("/evaluate/v1/variant/")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == 12
    assert wrong_method.headers["allow"] == "POST"


def test_unknown_paths_answer_json_the_flipt_sdk_can_read(server: ServerThread) -> None:
    from flipt import FliptClient
    from flipt.exceptions import FliptApiError

    client = FliptClient(url=server.url, timeout=10)
    try:
        with pytest.raises(FliptApiError) as err:
            client.flag.get_flag("ns1", "bool-rollout")  # a Flipt v1 route, not served
        assert err.value.status_code == 404
    finally:
        client.close()
