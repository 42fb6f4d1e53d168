"""JWT authentication (`Authorization: JWT <jwt>`, Flipt's JWT method) with a PEM key file: a real evaluator, keys
made with `cryptography`, tokens signed with PyJWT (`jwt_tokens.py`), and Flipt's own clients (flipt-client's
JWTAuthentication, the flipt SDK's JWTAuthentication). A JWKS URL: `test_server_jwks.py`; the configuration:
`test_server_jwt_config.py`."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flipt import FliptClient as RestClient
from flipt.authentication import JWTAuthentication as RestJWT
from flipt.evaluation import EvaluationRequest as RestRequest
from flipt_client import FliptClient
from flipt_client.models import ClientOptions, JWTAuthentication

from evaluator.server.jwt_auth import InvalidJwt, JwtVerifier, static_key_set

from .harness import ServerThread, hot_answers, run_node, wait_until
from .jwt_tokens import (
    AUDIENCE,
    BILLING,
    BOOL,
    ISSUER,
    UNAUTHENTICATED,
    b64,
    jwt_header,
    jwt_section,
    pem,
    sign,
)

JS_CLIENT = Path(__file__).resolve().parent / "js" / "client.mjs"


def forged(header: dict[str, Any], claims: dict[str, Any], signature: Callable[[bytes], bytes]) -> str:
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}".encode()
    return signing_input.decode() + "." + b64(signature(signing_input))



@pytest.fixture
def locked(make_server, key_file: Path) -> ServerThread:  # noqa: ANN001
    return make_server(jwt_section("public_key_file: keys/jwt.pem"))  # relative to flagdeck.yaml's directory


# -- public key file -------------------------------------------------------------------------------------------------
def test_valid_jwt_reaches_every_api(locked: ServerThread, rsa_key: rsa.RSAPrivateKey) -> None:
    headers = jwt_header(sign(rsa_key))
    r = locked.post("/evaluate/v1/boolean", BOOL, headers=headers)
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert locked.post("/evaluate/v1/batch", {"requests": [BOOL, BILLING]}, headers=headers).status_code == 200
    snapshot = locked.get("/internal/v1/evaluation/snapshot/namespace/ns1", headers=headers)
    assert snapshot.status_code == 200 and snapshot.headers["ETag"]
    ofrep = locked.post("/ofrep/v1/evaluate/flags/bool-rollout", {"context": {"targetingKey": "user-2"}},
                        headers={**headers, "X-Flipt-Namespace": "ns1"})
    assert ofrep.status_code == 200 and ofrep.json()["value"] is True
    assert locked.get("/api/v1/namespaces/ns1/flags", headers=headers).status_code == 200
    # the audience may be any configured one, as a string or in a list; RS512 is one of Flipt's algorithms too
    for token in (sign(rsa_key, aud="other"), sign(rsa_key, aud=["x", AUDIENCE]), sign(rsa_key, alg="RS512")):
        assert locked.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(token)).status_code == 200
    # static tokens keep working next to JWTs
    assert locked.post("/evaluate/v1/boolean", BOOL, headers={"Authorization": "Bearer s3cr3t"}).status_code == 200
    assert hot_answers(locked.url, headers) >= 1  # JWT requests take the hot lane like any other


def test_invalid_jwts_are_401_and_never_echoed(locked: ServerThread, rsa_key: rsa.RSAPrivateKey,
                                               other_key: rsa.RSAPrivateKey,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    now = int(time.time())
    public_pem = pem(rsa_key)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "svc-1", "iat": now, "exp": now + 600}
    refused = {
        "expired": sign(rsa_key, iat=now - 7200, exp=now - 3600),
        "not yet valid": sign(rsa_key, nbf=now + 3600),
        "issued in the future": sign(rsa_key, iat=now + 3600, exp=now + 7200),
        "wrong issuer": sign(rsa_key, iss="https://evil.example"),
        "no issuer": sign(rsa_key, iss=None),
        "wrong audience": sign(rsa_key, aud="someone-else"),
        "no audience": sign(rsa_key, aud=None),
        "no time claims": sign(rsa_key, iat=None, exp=None),
        "iat only, too old": sign(rsa_key, iat=now - 600, exp=None),
        "exp not a number": sign(rsa_key, exp="tomorrow"),
        "wrong key": sign(other_key),
        "RS384 (not one of Flipt's)": sign(rsa_key, alg="RS384"),
        "PS256 (not one of Flipt's)": sign(rsa_key, alg="PS256"),
        "alg none": forged({"alg": "none", "typ": "JWT"}, claims, lambda _: b""),
        "alg none, no signature": forged({"alg": "none"}, claims, lambda _: b"").rstrip("."),
        "HS256 keyed with the public key": forged(
            {"alg": "HS256", "typ": "JWT"}, claims, lambda data: hmac.new(public_pem, data, hashlib.sha256).digest()),
        "tampered claims": (lambda t: t.split(".")[0] + "." + b64(orjson.dumps({**claims, "sub": "admin"})) + "."
                            + t.split(".")[2])(sign(rsa_key)),
        "garbage": "not-a-jwt",
        "three garbage parts": "a.b.c",
        "bad base64 header": "!!!." + sign(rsa_key).split(".", 1)[1],
        "header not an object": b64(b"[1]") + "." + sign(rsa_key).split(".", 1)[1],
    }
    for what, token in refused.items():
        r = locked.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(token))
        assert r.status_code == 401, what
        assert r.json() == UNAUTHENTICATED, what
        assert token not in r.text
        snapshot = locked.get("/internal/v1/evaluation/snapshot/namespace/ns1", headers=jwt_header(token))
        assert snapshot.status_code == 401, what
    good = sign(rsa_key)
    for headers in ({"Authorization": f"Bearer {good}"},  # a JWT is only taken with Flipt's JWT scheme
                    {"Authorization": "JWT"}, {"Authorization": "jwt"}, {"Authorization": good}):
        assert locked.post("/evaluate/v1/boolean", BOOL, headers=headers).status_code == 401, headers
    for token in refused.values():
        assert token not in caplog.text
    assert good not in caplog.text


def test_jwt_scope_gives_403_like_tokens(make_server, key_file: Path,  # noqa: ANN001
                                         rsa_key: rsa.RSAPrivateKey) -> None:
    server = make_server(jwt_section("public_key_file: keys/jwt.pem",
                                     "    environments: [staging]\n    namespaces: [ns1]\n"))
    headers = jwt_header(sign(rsa_key))
    r = server.post("/evaluate/v1/boolean", BOOL, headers=headers)  # production: the default environment
    assert r.status_code == 403 and r.json() == {"code": 7, "message": "permission denied", "details": []}
    assert server.post("/evaluate/v1/boolean", {**BOOL, "environmentKey": "staging"}, headers=headers
                       ).status_code == 200
    assert server.get("/environments/staging/internal/v1/evaluation/snapshot/namespace/ns1",
                      headers=headers).status_code == 200
    assert server.get("/internal/v1/evaluation/snapshot/namespace/ns1", headers=headers).status_code == 403
    staging_billing = {**BILLING, "environmentKey": "staging"}
    assert server.post("/evaluate/v1/batch", {"requests": [{**BOOL, "environmentKey": "staging"}, staging_billing]},
                       headers=headers).status_code == 403
    # an invalid JWT is still 401, not 403
    assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header("x.y.z")).status_code == 401


def test_flipt_client_fetches_a_snapshot_with_a_jwt(locked: ServerThread, rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign(rsa_key, kid="ignored-by-a-static-key")
    client = FliptClient(ClientOptions(url=locked.url, namespace="ns1", environment="staging", update_interval=1,
                                       request_timeout=5, authentication=JWTAuthentication(jwt_token=token)))
    try:
        assert client.evaluate_variant("env-marker", "u", {}).variant_key == "staging"
        assert client.evaluate_boolean("bool-rollout", "user-2", {}).enabled is True
    finally:
        client.close()
    seen = locked.requests_to("/internal/v1/evaluation/snapshot/namespace/ns1")
    assert seen and seen[0].status == 200 and seen[0].headers["authorization"] == f"JWT {token}"
    # without the JWT the same client is refused
    anonymous = FliptClient(ClientOptions(url=locked.url, namespace="ns1", update_interval=1, request_timeout=5))
    try:
        with pytest.raises(Exception):  # noqa: B017 - the engine's error type is not exported
            anonymous.evaluate_boolean("bool-rollout", "user-2", {})
    finally:
        anonymous.close()
    # the refusal is logged just after it is answered: wait for it rather than read the log's last line at once
    wait_until(lambda: any(s.status == 401 for s in locked.requests_to("/internal/v1/evaluation/snapshot/")),
               timeout=5, what="the anonymous client's 401")


def test_js_client_fetches_a_snapshot_with_a_jwt(locked: ServerThread, rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign(rsa_key)
    out = run_node(JS_CLIENT, locked.url, "ns1", "staging", f"jwt:{token}", "oracle")
    assert out["marker"] == "staging" and out["changed"] is False  # evaluated, then a 304 on refresh
    seen = locked.requests_to("/internal/v1/evaluation/snapshot/namespace/ns1", count=2)
    assert [s.status for s in seen[:2]] == [200, 304] and seen[0].headers["authorization"] == f"JWT {token}"


def test_flipt_sdk_sends_jwt_to_the_evaluation_api(locked: ServerThread, rsa_key: rsa.RSAPrivateKey) -> None:
    client = RestClient(url=locked.url, authentication=RestJWT(sign(rsa_key)), timeout=10)
    try:
        result = client.evaluation.boolean(RestRequest(namespace_key="ns1", flag_key="bool-rollout",
                                                       entity_id="user-2", context={}))
        assert result.enabled is True
    finally:
        client.close()


def test_other_key_types(tmp_path: Path) -> None:
    """EC P-256/P-521 and Ed25519 keys verify their algorithm only; a token without `exp` lives 150 s past `iat`,
    one with only `exp` until `exp` (both with 60 s of clock skew)."""
    now = time.time()
    for private, alg, wrong in ((ec.generate_private_key(ec.SECP256R1()), "ES256", "ES512"),
                                (ec.generate_private_key(ec.SECP521R1()), "ES512", "ES256"),
                                (ed25519.Ed25519PrivateKey.generate(), "EdDSA", "ES256")):
        path = tmp_path / f"{alg}.pem"
        path.write_bytes(pem(private))
        verifier = JwtVerifier(static_key_set(path), clock=lambda: now)
        verifier.verify(sign(private, alg))
        if alg != "EdDSA":
            with pytest.raises((InvalidJwt, jwt.PyJWTError)):  # a mismatched curve cannot even be signed
                verifier.verify(sign(private, wrong))
    private = rsa.generate_private_key(65537, 2048)
    path = tmp_path / "rsa.pem"
    path.write_bytes(pem(private))
    clock = [now]
    verifier = JwtVerifier(static_key_set(path), clock=lambda: clock[0])
    iat_only = sign(private, iat=int(now), exp=None)
    exp_only = sign(private, iat=None, exp=int(now) + 3600)
    verifier.verify(iat_only)
    verifier.verify(exp_only)
    clock[0] = now + 150 + 60 + 2  # past iat + 150 s + skew, and past the cache's minute
    with pytest.raises(InvalidJwt):
        verifier.verify(iat_only)
    verifier.verify(exp_only)
    clock[0] = now + 3600 + 60 + 2
    with pytest.raises(InvalidJwt):
        verifier.verify(exp_only)


