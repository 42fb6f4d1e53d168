"""JWT authentication: `Authorization: JWT <jwt>`, as Flipt's JWT method accepts it (flipt-compatibility §7.1).

Flipt validates with hashicorp/cap's `jwt.Validator`; this module follows its rules:
- the signature must verify with a configured key: the PEM key of `public_key_file`, or a key of the JWKS at
  `jwks_url` (a token with a `kid` only tries the keys with that `kid`; without one, every key);
- the algorithm must be one of Flipt's (RS256, RS512, ES256, ES512, EdDSA) that the key's type can verify, so
  `none` and HS* never verify anything;
- `iss` and `sub` must equal the configured values, and `aud` contain one of the configured audiences (when set);
- at least one of `exp`, `nbf`, `iat` must be present; a missing `exp` is the later of `iat`/`nbf` plus 150 s, a
  missing `nbf` is `iat`; `nbf`, `exp` and `iat` are checked with 60 s of clock skew. One deliberate difference:
  cap puts a missing `nbf` *and* `iat` at `exp` minus 150 s, refusing a token carrying only `exp` until its last
  150 s; here such a token is valid until `exp`.

`JwtVerifier.verify(token)` is synchronous and does no I/O (the evaluator's hot lane calls it on the event loop):
a verified token is remembered, by its SHA-256, until the earlier of `CACHE_SECONDS` and its expiry (and
forgotten when the key set changes), so a client repeating its JWT pays one full check per minute (measured: RS256
with a 2048-bit key ~70 µs, of which PyJWT's signature check ~50 µs; ES256 ~85 µs) and ~1 µs per request after
that (a static token's lookup: ~0.7 µs). Key sets from a URL are fetched off the request path by `JwksRefresher`
(an asyncio task started with the app): at start, then every `refresh_interval`, and soon after a token names an
unknown `kid`; a failed fetch keeps the last good key set. Verification failures say nothing about the token:
callers answer Flipt's 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from jwt import PyJWK, PyJWS
from jwt.exceptions import PyJWKError, PyJWTError
from yarl import URL

from evaluator.keys import JWT_ALGORITHMS, jwt_algorithms, read_public_key

log = logging.getLogger(__name__)

CLOCK_SKEW = 60.0  # seconds of leeway on nbf, exp and iat (cap/jwt's default, via go-jose)
DERIVED_LEEWAY = 150.0  # seconds a token without exp (or without nbf) is valid past iat/nbf (cap's default)
CACHE_SECONDS = 60.0  # how long a verified token is trusted without checking its signature again
CACHE_SIZE = 4096  # verified tokens remembered at most (the cache starts over when full)
MAX_TOKEN = 16384  # longer Authorization values are not even parsed
MAX_JWKS_BYTES = 1 << 20


class InvalidJwt(Exception):
    """Why a JWT was refused (for logs at debug level; never contains the token)."""


class UnknownKeyId(InvalidJwt):
    pass


@dataclass(frozen=True)
class VerifyKey:
    key: Any  # a `cryptography` public key object
    algorithms: frozenset[str]
    kid: str | None = None


class KeySet:
    """Keys by `kid` (keys without one under None). Immutable: a refresh builds a new one. `by_kid=False` (a key
    file, like cap's static key set) ignores the token's `kid` and tries every key."""

    def __init__(self, keys: Iterable[VerifyKey], by_kid: bool = True):
        self.keys = tuple(keys)
        self.match_kid = by_kid
        self.by_kid: dict[str | None, tuple[VerifyKey, ...]] = {}
        for key in self.keys:
            self.by_kid[key.kid] = (*self.by_kid.get(key.kid, ()), key)

    def candidates(self, kid: Any) -> tuple[VerifyKey, ...]:
        if kid is None or not self.match_kid:
            return self.keys
        if not isinstance(kid, str) or kid not in self.by_kid:
            raise UnknownKeyId("no key with the token's kid")
        return self.by_kid[kid]


def static_key_set(path: Path) -> KeySet:
    key = read_public_key(path)
    return KeySet([VerifyKey(key, frozenset(jwt_algorithms(key)))], by_kid=False)


def parse_jwks(data: bytes) -> KeySet:
    """The usable signing keys of a JWKS document; ValueError when it holds none. Keys for encryption, of another
    type, or naming an algorithm Flipt does not accept are skipped."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("no `keys` list")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use") not in (None, "sig"):
            continue
        try:
            key = PyJWK(entry).key
        except (PyJWKError, PyJWTError, ValueError, TypeError, KeyError):
            continue
        algorithms = set(jwt_algorithms(key))
        if isinstance(entry.get("alg"), str):
            algorithms &= {entry["alg"]}
        kid = entry.get("kid")
        if algorithms:
            keys.append(VerifyKey(key, frozenset(algorithms), kid if isinstance(kid, str) else None))
    if not keys:
        raise ValueError(f"no usable signing key (Flipt's algorithms: {', '.join(JWT_ALGORITHMS)})")
    return KeySet(keys)


def _number(claims: Mapping[str, Any], name: str) -> float:
    """A NumericDate claim, 0 when absent (as go-jose reads it)."""
    value = claims.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidJwt(f"{name} is not a number")
    return float(value)


class JwtVerifier:
    def __init__(self, keys: KeySet | None, issuer: str | None = None, subject: str | None = None,
                 audiences: Iterable[str] | None = None, clock: Any = time.time):
        self.keys = keys  # None until a JWKS has been fetched once
        self.issuer = issuer or None
        self.subject = subject or None
        self.audiences = frozenset(audiences or ())
        self.clock = clock
        self.refresher: JwksRefresher | None = None
        self._jws = PyJWS()
        self._verified: dict[bytes, float] = {}  # sha256(token) -> trusted until (epoch seconds)

    def set_keys(self, keys: KeySet) -> None:
        """A new key set: tokens verified with the old one are checked again."""
        self.keys = keys
        self._verified = {}

    def verify(self, token: str) -> None:
        """Return when `token` is valid, else raise InvalidJwt. No I/O."""
        now = self.clock()
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        until = self._verified.get(digest)
        if until is not None:
            if now < until:
                return
            del self._verified[digest]
        expires = self._check(token, now)
        if len(self._verified) >= CACHE_SIZE:
            self._verified = {}
        self._verified[digest] = min(now + CACHE_SECONDS, expires)

    def _check(self, token: str, now: float) -> float:
        """The time a valid token stops being valid (InvalidJwt when it is not valid)."""
        if len(token) > MAX_TOKEN:
            raise InvalidJwt("token too long")
        try:
            header = self._jws.get_unverified_header(token)
        except PyJWTError:
            raise InvalidJwt("not a JWS") from None
        alg = header.get("alg")
        if alg not in JWT_ALGORITHMS:
            raise InvalidJwt("algorithm not accepted")
        if self.keys is None:
            raise InvalidJwt("no key set yet")
        try:
            candidates = self.keys.candidates(header.get("kid"))
        except UnknownKeyId:
            if self.refresher is not None:
                self.refresher.poke()
            raise
        payload = None
        for key in candidates:
            if alg in key.algorithms:
                try:
                    payload = self._jws.decode_complete(token, key.key, algorithms=[alg])["payload"]
                    break
                except PyJWTError:
                    continue
        if payload is None:
            raise InvalidJwt("signature not verified by any key")
        try:
            claims = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise InvalidJwt("claims are not JSON") from None
        if not isinstance(claims, dict):
            raise InvalidJwt("claims are not an object")
        return self._check_claims(claims, now)

    def _check_claims(self, claims: dict[str, Any], now: float) -> float:
        if self.issuer is not None and claims.get("iss") != self.issuer:
            raise InvalidJwt("wrong issuer")
        if self.subject is not None and claims.get("sub") != self.subject:
            raise InvalidJwt("wrong subject")
        if self.audiences:
            aud = claims.get("aud")
            present = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if not any(isinstance(a, str) and a in self.audiences for a in present):
                raise InvalidJwt("wrong audience")
        iat, exp, nbf = _number(claims, "iat"), _number(claims, "exp"), _number(claims, "nbf")
        if not (iat or exp or nbf):
            raise InvalidJwt("none of exp, nbf, iat")
        if not exp:
            exp = max(iat, nbf) + DERIVED_LEEWAY
        nbf = nbf or iat  # cap would also put a missing nbf at exp - 150 s when iat is missing: see the docstring
        if nbf and now + CLOCK_SKEW < nbf:
            raise InvalidJwt("not valid yet")
        if now - CLOCK_SKEW > exp:
            raise InvalidJwt("expired")
        if iat and now + CLOCK_SKEW < iat:
            raise InvalidJwt("issued in the future")
        return exp + CLOCK_SKEW


class JwksRefresher:
    """Keeps a verifier's key set in step with a JWKS URL, from an asyncio task (start/stop with the app)."""

    def __init__(self, verifier: JwtVerifier, url: str, interval: float, timeout: float = 10.0,
                 first_timeout: float = 5.0):
        self.verifier = verifier
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.first_timeout = first_timeout  # how long app start waits for the first key set
        self.cooldown = min(interval, 10.0)  # at most one unknown-kid fetch per cooldown
        self.retry = min(interval, 5.0)  # while no key set was ever fetched
        self.fetches = 0  # successful fetches (for tests and health)
        self.last_error: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._last_fetch = 0.0
        verifier.refresher = self

    @property
    def shown_url(self) -> str:
        """The URL without credentials (for logs)."""
        try:
            return str(URL(self.url).with_user(None))
        except ValueError:
            return "<jwks_url>"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._wake = asyncio.Event()
        try:
            await asyncio.wait_for(self.refresh(), self.first_timeout)
        except TimeoutError:
            self._note_failure("no answer")
        self._task = asyncio.create_task(self._run(), name="flagdeck-jwks-refresher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def poke(self) -> None:
        """Ask for an early fetch (a token named a kid the key set lacks). Called on the event loop's thread."""
        if self._wake is not None:
            self._wake.set()

    async def refresh(self) -> bool:
        """Fetch and install the key set; on failure keep the last good one. True when installed."""
        self._last_fetch = time.monotonic()
        assert self._session is not None
        try:
            async with self._session.get(self.url, headers={"Accept": "application/json"}) as response:
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}")
                data = await response.content.read(MAX_JWKS_BYTES + 1)
                if len(data) > MAX_JWKS_BYTES:
                    raise ValueError("key set larger than 1 MiB")
            keys = parse_jwks(data)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self._note_failure(str(exc) or type(exc).__name__)
            return False
        self.verifier.set_keys(keys)
        self.fetches += 1
        self.last_error = None
        return True

    def _note_failure(self, reason: str) -> None:
        self.last_error = reason
        kept = "keeping the last key set" if self.verifier.keys is not None else "JWTs are refused until one loads"
        log.warning("JWKS %s: %s; %s", self.shown_url, reason, kept)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            wait = self.interval if self.verifier.keys is not None else self.retry
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
                early = time.monotonic() - self._last_fetch
                if early < self.cooldown:  # a poke soon after a fetch: wait out the cooldown
                    await asyncio.sleep(self.cooldown - early)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.refresh()


def verifier_from_config(spec: Any, get: Any) -> JwtVerifier:
    """A verifier (and, for `jwks_url`, its refresher) from the `authentication.jwt` section; `get(obj, name)` reads
    a field of a pydantic model or a mapping."""
    key_file, url = get(spec, "public_key_file"), get(spec, "jwks_url")
    if (key_file is None) == (url is None):
        raise ValueError("authentication.jwt: exactly one of public_key_file or jwks_url is required")
    verifier = JwtVerifier(static_key_set(Path(key_file)) if key_file is not None else None,
                           issuer=get(spec, "issuer"), subject=get(spec, "subject"),
                           audiences=get(spec, "audiences"))
    if url is not None:
        JwksRefresher(verifier, str(url), float(get(spec, "refresh_interval") or 300.0))
    return verifier
