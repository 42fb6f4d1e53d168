"""JWT authentication with a JWKS URL (`authentication.jwt.jwks_url`): a real evaluator fetching its keys from a
real aiohttp server on 127.0.0.1, keys rotated and refreshes failing; tokens from `jwt_tokens.py`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from evaluator.server.context import CONTEXT

from .harness import wait_until
from .jwt_tokens import AUDIENCE, BOOL, ISSUER, b64, jwt_header, jwt_section, sign


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

