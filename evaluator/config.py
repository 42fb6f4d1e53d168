"""The evaluator's sections of flagdeck.yaml: `server` (address, workers, CORS, TLS, the hot lane, timeouts and the
connection cap), `authentication` (tokens, a JWT method, what stays open), `events` and `webhooks` (change events,
evaluator/events/config.py). `EvaluatorConfig` is gitstore's `Config` with these sections, loaded from the same
file with the same `FILE:LINE: key: message` errors (`load_evaluator_config`); `flagdeck serve` runs on it. Files only the evaluator reads (the JWT public key, the TLS
certificate and key) are checked when loading but reported by `check_server_files`, so a console or an export on a
machine without them still works."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator

from evaluator.analytics.config import AnalyticsConfig
from evaluator.automation.config import AutomationConfig
from evaluator.events.config import EventsConfig, WebhookConfig
from gitstore.config import Config, Duration, DurationOrZero, HttpUrl, Section, Source, load_config
from gitstore.errors import ConfigError


class ExcludeConfig(Section):
    """What stays open when `authentication.required` is true (Flipt's `exclude`, plus `health` — the details of
    /health; its status is always public — and `metrics`)."""

    evaluation: bool = False
    ofrep: bool = False
    health: bool = False
    metrics: bool = False


class TokenConfig(Section):
    credential: str = Field(min_length=1)
    environments: list[str] = Field(default_factory=lambda: ["*"])
    namespaces: list[str] | None = None


class JwtConfig(Section):
    """JWTs presented as `Authorization: JWT <jwt>` (Flipt's JWT method): verified with the key in
    `public_key_file` or with the key set at `jwks_url` (fetched when the evaluator starts, then every
    `refresh_interval`); `issuer`, `subject` and `audiences` (any one) are checked when set. `environments` and
    `namespaces` scope every valid JWT as a token's are scoped (None = all)."""

    public_key_file: Path | None = None
    jwks_url: HttpUrl | None = None
    issuer: str | None = None
    subject: str | None = None
    audiences: list[Annotated[str, Field(min_length=1)]] | None = None
    environments: list[str] | None = None
    namespaces: list[str] | None = None
    refresh_interval: Duration = 300.0

    @model_validator(mode="after")
    def _one_source(self) -> JwtConfig:
        if (self.public_key_file is None) == (self.jwks_url is None):
            raise ValueError("exactly one of public_key_file or jwks_url is required")
        return self


class AuthenticationConfig(Section):
    required: bool = False
    exclude: ExcludeConfig = Field(default_factory=ExcludeConfig)
    tokens: dict[str, TokenConfig] = Field(default_factory=dict)
    jwt: JwtConfig | None = None


class CorsConfig(Section):
    """Browsers' cross-origin access: `allowed_origins: ["*"]` (the default) lets any origin call, a list of
    origins only those (each as a browser sends it in `Origin`, e.g. `https://app.example.com`)."""

    enabled: bool = True
    allowed_origins: list[str] = Field(default_factory=lambda: ["*"])

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('list at least one origin, or "*" for any (`enabled: false` turns CORS off)')
        if "*" in value and len(value) > 1:
            raise ValueError('"*" allows any origin: list it alone, or list only origins')
        for origin in value:
            if origin != "*" and (not origin or origin != origin.strip() or " " in origin
                                  or origin.endswith("/") or "://" not in origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path or trailing '/')")
        return value

    @property
    def origins(self) -> tuple[str, ...]:
        """The listed origins; () when any origin may call (create_app's `cors_origins`)."""
        return () if self.allowed_origins == ["*"] else tuple(self.allowed_origins)


class TlsConfig(Section):
    """HTTPS for the evaluator: a PEM certificate (chain) and its PEM private key, relative to flagdeck.yaml."""

    cert_file: Path
    key_file: Path


class ServerConfig(Section):
    """The evaluator's settings (`flagdeck serve`); a command-line option given explicitly wins over each."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535, strict=True)
    workers: int = Field(default=1, ge=1, le=64, strict=True)
    access_log: bool = False
    hot_lane: bool = True
    heartbeat: DurationOrZero = 15.0  # 0: no keep-alive comments
    cors: CorsConfig = Field(default_factory=CorsConfig)
    tls: TlsConfig | None = None
    # how long a client may take: a request's headers from its first byte, its body from its headers, and an idle
    # keep-alive connection between requests; connections per worker process (0 = no cap)
    header_timeout: Duration = 10.0
    body_timeout: Duration = 30.0
    idle_timeout: Duration = 75.0
    max_connections: int = Field(default=10_000, ge=0, strict=True)


class EvaluatorConfig(Config):
    """flagdeck.yaml as the evaluator reads it: gitstore's sections, `server` and `authentication`."""

    PASSED_OVER: ClassVar[frozenset[str]] = frozenset({"ssh", "lifecycle"})  # the app's

    authentication: AuthenticationConfig = Field(default_factory=AuthenticationConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    automation: AutomationConfig = Field(default_factory=AutomationConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)  # change events' state (evaluator/events)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    # see check_server_files. (A lambda, not `list`: pydantic reads the factory's signature, and a builtin's costs
    # ~10 ms of tokenizing, a fifth of a cached configuration's load.)
    _server_problems: list[str] = PrivateAttr(default_factory=lambda: [])

    def check_server_files(self) -> None:
        """Raise the first problem with a file only the evaluator reads (the JWT public key, the TLS certificate and
        key) as a ConfigError `FILE:LINE: key: message`. Loading a configuration does not raise these, so a console
        or an export on a machine without the server's key files still works; `flagdeck serve` calls this first."""
        if self._server_problems:
            raise ConfigError(self._server_problems[0])

    @classmethod
    def prepare(cls, raw: dict[str, Any], source: Source) -> None:
        super().prepare(raw, source)
        auth = raw.get("authentication")
        jwt = auth.get("jwt") if isinstance(auth, dict) else None
        if isinstance(jwt, dict) and isinstance(jwt.get("public_key_file"), str):
            jwt["public_key_file"] = source.path(jwt["public_key_file"])
        events = raw.get("events")
        if isinstance(events, dict) and isinstance(events.get("state_dir"), str):
            events["state_dir"] = source.path(events["state_dir"])
        server = raw.get("server")
        tls = server.get("tls") if isinstance(server, dict) else None
        for field in ("cert_file", "key_file"):
            if isinstance(tls, dict) and isinstance(tls.get(field), str):
                tls[field] = source.path(tls[field])
        analytics = raw.get("analytics")
        if isinstance(analytics, dict) and isinstance(analytics.get("state_dir"), str):
            analytics["state_dir"] = source.path(analytics["state_dir"])
        automation = raw.get("automation")
        if isinstance(automation, dict) and isinstance(automation.get("users"), str):
            automation["users"] = source.path(automation["users"])

    def checked(self, source: Source) -> Self:
        config = super().checked(source)
        for token, spec in config.authentication.tokens.items():
            for env in spec.environments:
                if env != "*" and env not in config.environments:
                    loc = ("authentication", "tokens", token, "environments")
                    raise ConfigError(f"{source.at(*loc)}: unknown environment {env!r}")
        jwt = config.authentication.jwt
        for env in (jwt.environments or []) if jwt else []:
            if env != "*" and env not in config.environments:
                raise ConfigError(f"{source.at('authentication', 'jwt', 'environments')}: unknown environment {env!r}")
        names: set[str] = set()
        for at, hook in enumerate(config.webhooks):
            if hook.name in names:
                raise ConfigError(f"{source.at('webhooks', at, 'name')}: a second webhook named {hook.name!r}")
            names.add(hook.name)
            for env in hook.environments:
                if env != "*" and env not in config.environments:
                    raise ConfigError(f"{source.at('webhooks', at, 'environments')}: unknown environment {env!r}")
        for email, scopes in (config.automation.roles or {}).items():
            for env in scopes:
                if env != "*" and env not in config.environments:
                    raise ConfigError(f"{source.at('automation', 'roles', email)}: unknown environment {env!r}")
        problems = config._server_problems  # files only the evaluator needs: reported by check_server_files
        if jwt is not None and jwt.public_key_file is not None:
            from evaluator.keys import read_public_key  # (ssl, cryptography: only when a key or TLS is set)

            try:
                read_public_key(jwt.public_key_file)
            except ValueError as exc:
                problems.append(f"{source.at('authentication', 'jwt', 'public_key_file')}: {exc}")
        tls = config.server.tls
        if tls is not None:
            from evaluator.keys import server_ssl_context

            try:
                server_ssl_context(tls.cert_file, tls.key_file)
            except ValueError as exc:
                field, message = str(exc).split(": ", 1)
                problems.append(f"{source.at('server', 'tls', field)}: {message}")
        if config.automation.enabled and config.automation.users is not None:  # the scheduler's roles: readable
            from gitstore.users import UsersFileError, parse_bytes, read_users_file

            try:
                parse_bytes(read_users_file(config.automation.users), config.automation.users)
            except UsersFileError as exc:
                problems.append(f"{source.at('automation', 'users')}: {exc}")
        for at, hook in enumerate(config.webhooks):  # a webhook's secret from the serving machine's environment
            try:
                hook.signing_key()
            except ValueError as exc:
                problems.append(f"{source.at('webhooks', at, 'secret_env')}: {exc}")
        return config


def load_evaluator_config(path: str | Path | None = None) -> EvaluatorConfig:
    """flagdeck.yaml (found as `gitstore.config.find_config` finds it) with the evaluator's sections."""
    return load_config(path, EvaluatorConfig)
