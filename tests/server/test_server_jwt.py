"""JWT authentication (`Authorization: JWT <jwt>`, Flipt's JWT method): a real evaluator configured with a PEM key
file or a JWKS URL served by a real aiohttp server on 127.0.0.1, keys made with `cryptography`, tokens signed with
PyJWT, and Flipt's own clients (flipt-client's JWTAuthentication, the flipt SDK's JWTAuthentication)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flipt import FliptClient as RestClient
from flipt.authentication import JWTAuthentication as RestJWT
from flipt.evaluation import EvaluationRequest as RestRequest
from flipt_client import FliptClient
from flipt_client.models import ClientOptions, JWTAuthentication

from evaluator.config import EvaluatorConfig
from evaluator.server.context import CONTEXT
from evaluator.server.jwt_auth import InvalidJwt, JwtVerifier, static_key_set
from gitstore.config import parse_config as parse_any_config
from gitstore.errors import ConfigError

from .harness import ServerThread, hot_answers, run_node, wait_until

BOOL = {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "user-2"}
BILLING = {"namespaceKey": "billing", "flagKey": "invoices-v2", "entityId": "user-2"}
JS_CLIENT = Path(__file__).resolve().parent / "js" / "client.mjs"
UNAUTHENTICATED = {"code": 16, "message": "request was not authenticated", "details": []}
ISSUER, AUDIENCE = "https://issuer.example", "flagdeck"


def parse_config(text: str, path: Path) -> EvaluatorConfig:
    return parse_any_config(text, path, EvaluatorConfig)


def pem(private: Any) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(private: Any, alg: str = "RS256", kid: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "svc-1", "iat": now, "exp": now + 600, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, private, algorithm=alg, headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], signature: Callable[[bytes], bytes]) -> str:
    signing_input = f"{b64(orjson.dumps(header))}.{b64(orjson.dumps(claims))}".encode()
    return signing_input.decode() + "." + b64(signature(signing_input))


def jwt_header(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def jwt_section(key_line: str, extra: str = "") -> str:
    return ("authentication:\n  required: true\n  tokens:\n    ops: {credential: \"s3cr3t\"}\n  jwt:\n"
            f"    {key_line}\n    issuer: {ISSUER}\n    audiences: [{AUDIENCE}, other]\n{extra}")


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "keys" / "jwt.pem"
    path.parent.mkdir()
    path.write_bytes(pem(rsa_key))
    return path


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


# -- JWKS URL --------------------------------------------------------------------------------------------------------
class JwksServer:
    """A real aiohttp server on 127.0.0.1 (own thread and loop) serving `keys` at /jwks.json, or `failure` (an HTTP
    status or a body) when set. Counts the requests it answered."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.failure: int | bytes | None = None
        self.requests = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    async def _jwks(self, request: web.Request) -> web.Response:
        self.requests += 1
        if isinstance(self.failure, int):
            return web.Response(status=self.failure, text="down")
        if isinstance(self.failure, bytes):
            return web.Response(body=self.failure, content_type="application/json")
        return web.json_response({"keys": self.keys})

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get("/jwks.json", self._jwks)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def close(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def jwk(private: Any, kid: str, **extra: Any) -> dict[str, Any]:
    public = private.public_key()
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(public)), "kid": kid, **extra}


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def test_jwks_url_keys_rotation_and_failed_refreshes(make_server, jwks: JwksServer,  # noqa: ANN001
                                                     rsa_key: rsa.RSAPrivateKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks.keys = [jwk(rsa_key, "k1", use="sig", alg="RS256"), jwk(ec_key, "enc-key", use="enc"),
                 {"kty": "oct", "kid": "hmac", "k": b64(b"s" * 32)}]  # only k1 can verify anything
    server = make_server(jwt_section(f"jwks_url: {jwks.url}", "    refresh_interval: 200ms\n"))
    assert jwks.requests >= 1  # fetched when the app started, before it served
    k1 = sign(rsa_key, kid="k1")
    assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(k1)).status_code == 200
    assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(sign(rsa_key, alg="RS512", kid="k1"))
                       ).status_code == 401  # the JWK says RS256
    for kid in ("enc-key", "hmac", "nope", None):
        token = sign(ec_key, "ES256", kid=kid) if kid != "hmac" else jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, "s" * 32, "HS256", headers={"kid": kid})
        assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(token)).status_code == 401, kid

    # rotation: k1 retired, k2 (an EC key) published; picked up by a periodic refresh
    k2 = sign(ec_key, "ES256", kid="k2")
    jwks.keys = [jwk(ec_key, "k2")]
    wait_until(lambda: server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(k2)).status_code == 200,
               what="the rotated key set")
    assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(k1)).status_code == 401  # not cached on

    # failed refreshes (HTTP errors, junk, a set without usable keys) keep the last good key set
    for failure in (500, b"{not json", b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'):
        jwks.failure = failure
        before = jwks.requests
        wait_until(lambda b=before: jwks.requests >= b + 2, what="refreshes against a failing JWKS")
        assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(k2)).status_code == 200, failure
        assert server.post("/evaluate/v1/boolean", BOOL, headers=jwt_header(sign(ec_key, "ES256", kid="k3"))
                           ).status_code == 401
    health = server.get("/health")
    assert health.status_code == 200


def test_unknown_kid_asks_for_an_early_refresh(make_server, jwks: JwksServer,  # noqa: ANN001
                                               rsa_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    jwks.keys = [jwk(rsa_key, "k1")]
    server = make_server(jwt_section(f"jwks_url: {jwks.url}", "    refresh_interval: 1h\n"))
    assert server.app is not None
    refresher = server.app[CONTEXT].auth.jwt.refresher  # type: ignore[union-attr]
    refresher.cooldown = 0.2  # the production cooldown (10 s) would make this test slow
    fetched = jwks.requests
    jwks.keys = [jwk(rsa_key, "k1"), jwk(other_key, "k2")]
    k2 = jwt_header(sign(other_key, kid="k2"))
    assert server.post("/evaluate/v1/boolean", BOOL, headers=k2).status_code == 401  # unknown now: refused...
    wait_until(lambda: server.post("/evaluate/v1/boolean", BOOL, headers=k2).status_code == 200,
               what="the key set fetched after an unknown kid")  # ...and fetched soon after, not in an hour
    assert jwks.requests > fetched


def test_unreachable_jwks_at_start_refuses_jwts_but_serves(make_server, jwks: JwksServer,  # noqa: ANN001
                                                           rsa_key: rsa.RSAPrivateKey) -> None:
    jwks.failure = 503
    server = make_server(jwt_section(f"jwks_url: {jwks.url}", "    refresh_interval: 200ms\n"))
    token = jwt_header(sign(rsa_key, kid="k1"))
    assert server.post("/evaluate/v1/boolean", BOOL, headers=token).status_code == 401
    assert server.post("/evaluate/v1/boolean", BOOL, headers={"Authorization": "Bearer s3cr3t"}).status_code == 200
    jwks.keys, jwks.failure = [jwk(rsa_key, "k1")], None
    wait_until(lambda: server.post("/evaluate/v1/boolean", BOOL, headers=token).status_code == 200,
               what="the first key set")


# -- configuration ---------------------------------------------------------------------------------------------------
BASE = """\
storage:
  local: {path: repo}
environments:
  production: {directory: prod, default: true}
  staging: {directory: staging}
authentication:
  required: true
  jwt:
"""


def test_config_jwt_section(tmp_path: Path, key_file: Path) -> None:
    config = parse_config(BASE + "    public_key_file: keys/jwt.pem\n    audiences: [a, b]\n"
                          "    environments: [staging]\n", tmp_path / "flagdeck.yaml")
    jwt_config = config.authentication.jwt
    assert jwt_config is not None and jwt_config.public_key_file == key_file.resolve()
    assert jwt_config.audiences == ["a", "b"] and jwt_config.environments == ["staging"]
    assert jwt_config.namespaces is None and jwt_config.refresh_interval == 300
    config = parse_config(BASE + "    jwks_url: https://idp.example/.well-known/jwks.json\n"
                          "    refresh_interval: 30s\n", tmp_path / "flagdeck.yaml")
    assert config.authentication.jwt is not None and config.authentication.jwt.refresh_interval == 30
    assert parse_config(BASE.removesuffix("  jwt:\n"), tmp_path / "flagdeck.yaml").authentication.jwt is None


@pytest.mark.parametrize("section, expected", [
    ("    issuer: x\n", r"flagdeck.yaml:8: authentication.jwt: exactly one of public_key_file or jwks_url"),
    ("    public_key_file: keys/jwt.pem\n    jwks_url: https://idp.example/jwks\n",
     r"flagdeck.yaml:8: authentication.jwt: exactly one of public_key_file or jwks_url"),
    ("    public_key_file: keys/missing.pem\n", r"flagdeck.yaml:9: authentication.jwt.public_key_file: cannot read"),
    ("    public_key_file: keys/junk.pem\n", r"flagdeck.yaml:9: authentication.jwt.public_key_file: .* no PEM"),
    ("    public_key_file: keys/p384.pem\n", r"flagdeck.yaml:9: authentication.jwt.public_key_file: .*unsupported"),
    ("    jwks_url: ftp://idp.example/jwks\n", r"flagdeck.yaml:9: authentication.jwt.jwks_url: .*not an http"),
    ("    jwks_url: https://idp.example/jwks\n    refresh_interval: soon\n",
     r"flagdeck.yaml:10: authentication.jwt.refresh_interval: 'soon' is not a duration"),
    ("    jwks_url: https://idp.example/jwks\n    audiences: [\"\"]\n",
     r"flagdeck.yaml:10: authentication.jwt.audiences.0"),
    ("    jwks_url: https://idp.example/jwks\n    validate_claims: {issuer: x}\n",
     r"flagdeck.yaml:10: authentication.jwt.validate_claims: unknown key"),
    ("    jwks_url: https://idp.example/jwks\n    environments: [qa]\n",
     r"flagdeck.yaml:10: authentication.jwt.environments: unknown environment 'qa'"),
])
def test_config_jwt_errors_name_file_line_and_key(tmp_path: Path, key_file: Path, section: str,
                                                  expected: str) -> None:
    (key_file.parent / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    (key_file.parent / "p384.pem").write_bytes(pem(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(ConfigError, match=expected):
        parse_config(BASE + section, tmp_path / "flagdeck.yaml").check_server_files()


def test_a_machine_without_the_key_file_still_reads_the_configuration(tmp_path: Path) -> None:
    """The console or an export on a laptop without the evaluator's key file loads the same flagdeck.yaml; only
    `flagdeck serve` (check_server_files) refuses it."""
    config = parse_config(BASE + "    public_key_file: /srv/keys/jwt.pem\n", tmp_path / "flagdeck.yaml")
    assert config.default_environment == "production"
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:9: authentication.jwt.public_key_file: cannot read"):
        config.check_server_files()
