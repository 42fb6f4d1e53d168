"""Client-token and JWT authentication (flipt-compatibility §7, issue 4).

Tokens come from `flagdeck.yaml` (`authentication.tokens: {name: {credential, environments?, namespaces?}}`).
A presented secret is hashed and looked up by its SHA-256, and the digests are compared with
`hmac.compare_digest`, so neither the lookup nor the comparison depends on the secret's bytes. Secrets are never
logged or echoed: errors carry only Flipt's fixed texts.

With `authentication.jwt`, `Authorization: JWT <jwt>` (Flipt's JWT method, what flipt-client's JWTAuthentication
and the JS client's `jwtToken` send) is verified by `jwt_auth.JwtVerifier`; every valid JWT has the scope of the
`jwt` section. A JWKS URL's key set is kept fresh by a task the app starts and stops (`start`/`stop`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from evaluator.server.errors import PERMISSION_DENIED, UNAUTHENTICATED, ApiError, Code
from evaluator.server.jwt_auth import InvalidJwt, JwtVerifier, verifier_from_config

log = logging.getLogger(__name__)


class Api(StrEnum):
    EVALUATION = "evaluation"  # /evaluate/v1, client snapshots and streams
    OFREP = "ofrep"
    FLAGS = "flags"  # /api/v1 flag list: never excluded
    HEALTH = "health"  # the details of /health (its liveness status is always public)
    METRICS = "metrics"  # /metrics


@dataclass(frozen=True)
class Token:
    name: str
    digest: bytes
    environments: frozenset[str] | None  # None = every environment
    namespaces: frozenset[str] | None  # None = every namespace

    def allows(self, env: str, namespace: str) -> bool:
        return (self.environments is None or env in self.environments) and (
            self.namespaces is None or namespace in self.namespaces
        )

    @property
    def unrestricted(self) -> bool:
        """Whether it reaches every environment and namespace (what /metrics and /health details name)."""
        return self.environments is None and self.namespaces is None

    def __repr__(self) -> str:  # never show the digest
        return f"Token(name={self.name!r})"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _scope(values: Iterable[str] | None) -> frozenset[str] | None:
    """None (= all) for a missing list or one containing `*`."""
    if values is None:
        return None
    scope = frozenset(values)
    return None if "*" in scope else scope


def _cookie(header: str | None, name: str) -> str | None:
    """One cookie's value from a `Cookie` header (RFC 6265 §5.4: `name=value` pairs separated by `;`; a quoted
    value loses its quotes). Other cookies, however odd, do not matter."""
    for pair in (header or "").split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            return value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
    return None


def _secret(value: Any) -> str:
    getter = getattr(value, "get_secret_value", None)  # pydantic SecretStr
    return str(getter() if getter else value)


class AuthPolicy:
    def __init__(self, required: bool = False, exclude: Mapping[str, bool] | None = None,
                 tokens: Iterable[Token] = (), jwt: JwtVerifier | None = None,
                 jwt_scope: Token | None = None):
        """`jwt`: the verifier of `Authorization: JWT` credentials (None = refused); `jwt_scope`: what a valid JWT
        may reach (None = everything)."""
        self.required = required
        self.exclude = {Api(k): bool(v) for k, v in (exclude or {}).items() if k in Api.__members__.values()}
        self._by_digest = {t.digest: t for t in tokens}
        self.jwt = jwt
        self.jwt_token = jwt_scope or Token(name="jwt", digest=b"", environments=None, namespaces=None)

    async def start(self) -> None:
        """Start what runs beside the server: the JWKS refresher, when configured."""
        if self.jwt is not None and self.jwt.refresher is not None:
            await self.jwt.refresher.start()

    async def stop(self) -> None:
        if self.jwt is not None and self.jwt.refresher is not None:
            await self.jwt.refresher.stop()

    @classmethod
    def from_config(cls, auth: Any) -> AuthPolicy:
        """From `EvaluatorConfig.authentication` (a pydantic model or a plain mapping; None = no authentication)."""
        if auth is None:
            return cls()
        exclude = _get(auth, "exclude") or {}
        if not isinstance(exclude, Mapping):
            exclude = {k: _get(exclude, k, False) for k in Api}
        tokens = []
        for name, spec in (_get(auth, "tokens") or {}).items():
            credential = _secret(_get(spec, "credential", ""))
            tokens.append(Token(
                name=name,
                digest=hashlib.sha256(credential.encode()).digest(),
                environments=_scope(_get(spec, "environments")),
                namespaces=_scope(_get(spec, "namespaces")),
            ))
        spec = _get(auth, "jwt")
        jwt = verifier_from_config(spec, _get) if spec is not None else None
        scope = Token(name="jwt", digest=b"", environments=_scope(_get(spec, "environments")),
                      namespaces=_scope(_get(spec, "namespaces")))
        return cls(required=bool(_get(auth, "required", False)), exclude=exclude, tokens=tokens, jwt=jwt,
                   jwt_scope=scope)

    def applies(self, api: Api) -> bool:
        return self.required and not self.exclude.get(api, False)

    def authenticate(self, headers: Mapping[str, str]) -> Token:
        """The token presented by a request with `headers` (bearer, Flipt's cookie, or a JWT: then the JWT
        section's scope), or 401. Synchronous, no I/O."""
        secret = None
        header = headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and value.strip():
            secret = value.strip()
        elif scheme == "jwt" and self.jwt is not None and value.strip():
            try:
                self.jwt.verify(value.strip())
                return self.jwt_token
            except InvalidJwt as exc:
                log.debug("JWT refused: %s", exc)  # our own reason only, never the token
            except Exception as exc:  # a parser's surprise is still just a refused credential, never a 500
                log.debug("JWT refused: %s", type(exc).__name__)
        elif not header:
            secret = _cookie(headers.get("Cookie"), "flipt_client_token")
        if secret:
            digest = hashlib.sha256(secret.encode()).digest()
            token = self._by_digest.get(digest)
            if token is not None and hmac.compare_digest(token.digest, digest):
                return token
        raise ApiError(Code.UNAUTHENTICATED, UNAUTHENTICATED)

    def check_unrestricted(self, headers: Mapping[str, str], api: Api) -> None:
        """For what names every environment and namespace (`Api.METRICS`, `Api.HEALTH`): 401 without a valid
        credential, 403 when it is scoped to some environments or namespaces only."""
        if self.applies(api) and not self.authenticate(headers).unrestricted:
            raise ApiError(Code.PERMISSION_DENIED, PERMISSION_DENIED)

    def allows_unrestricted(self, headers: Mapping[str, str], api: Api) -> bool:
        """`check_unrestricted` as a yes or no."""
        try:
            self.check_unrestricted(headers, api)
        except ApiError:
            return False
        return True

    def check(self, headers: Mapping[str, str], api: Api, env: str, namespaces: Iterable[str]) -> None:
        """401 without a valid token, 403 when the token is not scoped to `env` and every namespace."""
        if not self.applies(api):
            return
        token = self.authenticate(headers)
        for namespace in namespaces:
            if not token.allows(env, namespace):
                raise ApiError(Code.PERMISSION_DENIED, PERMISSION_DENIED)
