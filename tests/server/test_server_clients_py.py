"""Real Python peers against the real evaluator: PyPI `flipt` (server-side evaluation), PyPI `flipt-client`
(Flipt's Rust engine evaluating our snapshots, polling and streaming), and the OpenFeature providers over OFREP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flipt import FliptClient as RestClient
from flipt.authentication import ClientTokenAuthentication as RestToken
from flipt.evaluation import BatchEvaluationRequest
from flipt.evaluation import EvaluationRequest as RestRequest
from flipt.exceptions import FliptApiError
from flipt_client import FliptClient
from flipt_client.models import ClientOptions, ClientTokenAuthentication, EvaluationRequest, FetchMode
from openfeature import api
from openfeature.contrib.provider.flipt import FliptProvider
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import ErrorCode, Reason

from . import oracle
from .conftest import ns1
from .harness import FlagRepo, ServerThread, hot_answers, wait_until
from .test_server_auth import AUTH

PRO = {"plan": "pro"}


def no_attachment(text: str | None) -> bool:
    return text in (None, "", "null")


def server_side(server: ServerThread, flag: str, entity: str, context: dict, env: str = "production") -> dict:
    path = "/evaluate/v1/boolean" if flag.startswith("bool") else "/evaluate/v1/variant"
    return server.post(path, {"namespaceKey": "ns1", "flagKey": flag, "entityId": entity, "context": context,
                              "environmentKey": env}).json()


# -- PyPI flipt (REST) ---------------------------------------------------------------------------------------------
def test_flipt_sdk_boolean_variant_batch_and_list(server: ServerThread) -> None:
    client = RestClient(url=server.url, timeout=10)
    try:
        for user, (bool_off, _, seg, _) in oracle.USERS.items():
            b = client.evaluation.boolean(RestRequest(namespace_key="ns1", flag_key="bool-rollout", entity_id=user,
                                                      context={}))
            assert (b.enabled, b.reason) == bool_off
            v = client.evaluation.variant(RestRequest(namespace_key="ns1", flag_key="variant-seg", entity_id=user,
                                                      context=PRO))
            assert (v.variant_key, v.match, v.segment_keys) == (seg, True, ["pro-users"])
        batch = client.evaluation.batch(BatchEvaluationRequest(requests=[
            RestRequest(namespace_key="ns1", flag_key="variant-seg-dflt", entity_id=u, context=PRO)
            for u in oracle.USERS
        ] + [RestRequest(namespace_key="ns1", flag_key="nope", entity_id="x", context={})]))
        assert [r.variant_response.variant_key for r in batch.responses[:-1]] == [
            row[3] for row in oracle.USERS.values()]
        assert batch.responses[-1].error_response.reason == "NOT_FOUND_ERROR_EVALUATION_REASON"
        flags = client.flag.list_flags("ns1")
        assert flags.total_count == 5 and {f.key for f in flags.flags} >= {"bool-rollout", "variant-seg"}
        with pytest.raises(FliptApiError) as err:
            client.evaluation.variant(RestRequest(namespace_key="ns1", flag_key="nope", entity_id="x", context={}))
        assert err.value.status_code == 404 and 'flag "ns1/nope" not found' in str(err.value)
    finally:
        client.close()
    sent = server.requests_to("/evaluate/v1/variant")
    assert sent[0].headers["user-agent"].startswith("python-httpx2")
    assert hot_answers(server.url) >= len(oracle.USERS)  # the SDK's requests took the hot lane, as in production


def test_flipt_sdk_environment_header_and_token(make_server) -> None:  # noqa: ANN001
    server = make_server(AUTH.format(evaluation="false", ofrep="false"))
    client = RestClient(url=server.url, authentication=RestToken("s3cr3t"),
                        headers={"X-Flipt-Environment": "staging"}, timeout=10)
    try:
        v = client.evaluation.variant(RestRequest(namespace_key="ns1", flag_key="env-marker", entity_id="u",
                                                  context={}))
        assert v.variant_key == "staging"
    finally:
        client.close()
    anonymous = RestClient(url=server.url, timeout=10)
    try:
        with pytest.raises(FliptApiError) as err:
            anonymous.evaluation.boolean(RestRequest(namespace_key="ns1", flag_key="bool-rollout", entity_id="u",
                                                     context={}))
        assert err.value.status_code == 401
    finally:
        anonymous.close()


# -- PyPI flipt-client (Rust engine, client-side evaluation) -------------------------------------------------------
@pytest.fixture
def engine_client(server: ServerThread) -> Iterator[FliptClient]:
    client = FliptClient(ClientOptions(url=server.url, namespace="ns1", update_interval=1, request_timeout=5))
    yield client
    client.close()


def test_flipt_client_agrees_with_oracle_and_server(server: ServerThread, engine_client: FliptClient) -> None:
    for user, (bool_off, bool_on, seg, seg_dflt) in oracle.USERS.items():
        for flag, expected in (("bool-rollout", bool_off), ("bool-rollout-on", bool_on)):
            local = engine_client.evaluate_boolean(flag, user, {})
            remote = server_side(server, flag, user, {})
            assert local.enabled == remote["enabled"] == expected[0], (user, flag)
        for flag, expected in (("variant-seg", seg), ("variant-seg-dflt", seg_dflt)):
            local = engine_client.evaluate_variant(flag, user, PRO)
            remote = server_side(server, flag, user, PRO)
            assert local.variant_key == remote["variantKey"] == expected, (user, flag)
            assert local.reason == remote["reason"] and set(local.segment_keys) == set(remote["segmentKeys"])
            if no_attachment(remote["variantAttachment"]):
                assert no_attachment(local.variant_attachment)
            else:
                assert json.loads(local.variant_attachment) == json.loads(remote["variantAttachment"])
    free = engine_client.evaluate_variant("variant-seg-dflt", "user-1", {"plan": "free"})
    assert (free.variant_key, free.reason) == ("control", "DEFAULT_EVALUATION_REASON")
    batch = engine_client.evaluate_batch([EvaluationRequest(flag_key="bool-rollout", entity_id="user-2", context={}),
                                          EvaluationRequest(flag_key="nope", entity_id="user-2", context={})])
    assert batch.responses[0].boolean_evaluation_response.enabled is True
    assert batch.responses[1].error_evaluation_response.reason == "NOT_FOUND_ERROR_EVALUATION_REASON"


def test_flipt_client_polls_with_etag_and_sees_a_commit(server: ServerThread, flag_repo: FlagRepo,
                                                        engine_client: FliptClient) -> None:
    def polls() -> list:
        return [s for s in server.seen if s.path == "/internal/v1/evaluation/snapshot/namespace/ns1"]

    wait_until(lambda: any(s.status == 304 for s in polls()), timeout=10, what="a 304 poll")
    first, not_modified = polls()[0], next(s for s in polls() if s.status == 304)
    assert first.status == 200 and first.headers["x-flipt-environment"] == "default"
    assert not_modified.headers["if-none-match"] == server.get("/internal/v1/evaluation/snapshot/namespace/ns1"
                                                                ).headers["etag"]
    flag_repo.commit({"prod/ns1/features.yaml": ns1("polled")}, "change production")
    wait_until(lambda: engine_client.evaluate_variant("env-marker", "u", {}).variant_key == "polled",
               timeout=10, what="the polling client to see the commit")


def test_flipt_client_streaming_with_environment(server: ServerThread, flag_repo: FlagRepo) -> None:
    client = FliptClient(ClientOptions(url=server.url, namespace="ns1", environment="staging",
                                       fetch_mode=FetchMode.STREAMING, update_interval=1))
    try:
        assert client.evaluate_variant("env-marker", "u", {}).variant_key == "staging"
        wait_until(lambda: _stream_open(server), timeout=10, what="the stream request")
        def polls() -> int:
            return sum(1 for s in server.seen if s.path.startswith("/internal/v1/evaluation/snapshot"))

        before = polls()
        flag_repo.commit({"staging/ns1/features.yaml": ns1("streamed")}, "change staging")
        wait_until(lambda: client.evaluate_variant("env-marker", "u", {}).variant_key == "streamed",
                   timeout=2, what="the streaming client to see the commit")
        assert polls() == before, "the change must arrive over the stream, not by polling"
    finally:
        client.close()


def _stream_open(server: ServerThread) -> bool:
    return "flipt_evaluations_streams_in_progress 1.0" in server.get("/metrics").text


def test_flipt_client_sends_token(make_server) -> None:  # noqa: ANN001
    server = make_server(AUTH.format(evaluation="false", ofrep="false"))
    client = FliptClient(ClientOptions(url=server.url, namespace="ns1", environment="staging", update_interval=60,
                                       authentication=ClientTokenAuthentication(client_token="s3cr3t")))
    try:
        assert client.evaluate_variant("env-marker", "u", {}).variant_key == "staging"
    finally:
        client.close()
    polled = server.requests_to("/internal/v1/evaluation/snapshot")
    assert polled[0].status == 200 and polled[0].headers["authorization"] == "Bearer s3cr3t"


# -- OpenFeature providers over OFREP ------------------------------------------------------------------------------
def test_openfeature_flipt_provider(server: ServerThread) -> None:
    api.set_provider(FliptProvider(base_url=server.url, namespace="ns1"))
    client = api.get_client()
    try:
        for user, (bool_off, _, seg, _) in oracle.USERS.items():
            ctx = EvaluationContext(targeting_key=user, attributes={"plan": "pro", "age": 42})
            details = client.get_boolean_details("bool-rollout", not bool_off[0], ctx)
            assert details.value is bool_off[0]
            assert details.reason == (Reason.TARGETING_MATCH if bool_off[0] else Reason.DEFAULT)
            variant = client.get_string_details("variant-seg", "none", ctx)
            assert (variant.value, variant.variant) == (seg, seg)
            assert variant.flag_metadata["segments"] == "pro-users"
        missing = client.get_boolean_details("nope", True, EvaluationContext(targeting_key="u"))
        assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
        assert missing.error_message == "flag was not found nope"
        mismatch = client.get_boolean_details("variant-seg", False, EvaluationContext(targeting_key="u"))
        assert mismatch.error_code == ErrorCode.TYPE_MISMATCH
    finally:
        api.shutdown()
    assert all(s.headers.get("x-flipt-namespace") == "ns1" for s in server.requests_to("/ofrep/v1/evaluate/flags/"))
    assert hot_answers(server.url) >= 2 * len(oracle.USERS)


def test_openfeature_ofrep_provider_uses_default_namespace_and_env_url(server: ServerThread) -> None:
    api.set_provider(OFREPProvider(base_url=server.url))
    client = api.get_client()
    try:
        missing = client.get_boolean_details("bool-rollout", False, EvaluationContext(targeting_key="u"))
        assert missing.error_code == ErrorCode.FLAG_NOT_FOUND
        assert missing.error_message == "flag was not found bool-rollout"  # Flipt's words: no namespace "default"
    finally:
        api.shutdown()
    api.set_provider(OFREPProvider(base_url=server.url + "/environments/staging",
                                   headers_factory=lambda: {"X-Flipt-Namespace": "ns1"}))
    try:
        value = api.get_client().get_string_value("env-marker", "none", EvaluationContext(targeting_key="u"))
        assert value == "staging"
    finally:
        api.shutdown()


def test_flipt_client_pointed_at_an_environment_url(server: ServerThread, flag_repo: FlagRepo) -> None:
    """An SDK that knows nothing of environments, given http://host:port/environments/staging, just works."""
    client = FliptClient(ClientOptions(url=server.url + "/environments/staging", namespace="ns1",
                                       fetch_mode=FetchMode.STREAMING))
    try:
        assert client.evaluate_variant("env-marker", "u", {}).variant_key == "staging"
        wait_until(lambda: _stream_open(server), timeout=10, what="the stream request")
        flag_repo.commit({"staging/ns1/features.yaml": ns1("via-url")}, "change staging")
        wait_until(lambda: client.evaluate_variant("env-marker", "u", {}).variant_key == "via-url",
                   timeout=2, what="the change over the environment URL's stream")
    finally:
        client.close()


def test_flipt_client_with_a_base_url_ending_in_a_slash(server: ServerThread) -> None:
    client = FliptClient(ClientOptions(url=server.url + "/", namespace="ns1", update_interval=60))
    try:
        assert client.evaluate_variant("variant-seg", "user-1", PRO).variant_key == oracle.USERS["user-1"][2]
    finally:
        client.close()
