"""`flagdeck.yaml`: storages (Git repositories), environments on them, evaluator tokens, the evaluator's own
settings (`server`) and a commit identity.

Found via an explicit path, then `FLAGDECK_CONFIG`, then `./flagdeck.yaml`, then `./.flagdeck/flagdeck.yaml` (what
`make run` and `flagdeck init .flagdeck` create). Relative paths are relative to the
configuration file. Errors name the file, the line and the key: `flagdeck.yaml:7: storage.local.poll_interval: ...`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from gitstore.errors import ConfigError
from gitstore.format.yamlio import node_line
from gitstore.keys import read_public_key, server_ssl_context

ENV_VAR = "FLAGDECK_CONFIG"
DEFAULT_NAME = "flagdeck.yaml"
DEMO_DIR = ".flagdeck"  # `make run` keeps its demo here; found from the project root without --config
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """`500ms`, `1s`, `30s`, `5m`, `1h` or a bare number of seconds -> seconds (float > 0)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 1s, 500ms or 30s")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (use e.g. 500ms, 1s, 30s, 5m)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CredentialsConfig(_Model):
    """How to authenticate to an ssh or https remote. Secrets stay out of the file: `token_env` names the
    environment variable holding an https password or access token. Without `ssh_key`, ssh uses the agent
    (SSH_AUTH_SOCK) or ~/.ssh/id_ed25519, id_ecdsa, id_rsa."""

    username: str | None = None
    ssh_key: Path | None = None  # private key file; the public key is <ssh_key>.pub when present
    token_env: str | None = None
    insecure_ignore_host_key: bool = False  # accept an ssh host key not in known_hosts (tests, first contact)


class StorageConfig(_Model):
    """One Git repository: `path` (created if missing), optional `remote` URL, `branch`, `poll_interval`, and
    `timeout`: how long a remote may take to connect or to answer before a fetch or push gives up (the commit stays
    local), so a remote that accepts connections but never answers cannot hang a commit or a start-up.
    `stale_lock_after`: a branch lock file this old that no process holds was left by a writer that died, and the
    store removes it (gitstore/git/locks.py)."""

    path: Path
    branch: str = "main"
    remote: str | None = None
    poll_interval: Duration = 30.0
    timeout: Duration = 20.0
    stale_lock_after: Duration = 30.0
    credentials: CredentialsConfig = Field(default_factory=CredentialsConfig)

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not value or value.startswith(("/", "-")) or ".." in value or " " in value:
            raise ValueError(f"{value!r} is not a valid branch name")
        return value


class EnvironmentConfig(_Model):
    name: str = ""
    storage: str = ""
    directory: str = ""
    default: bool = False

    @field_validator("directory", mode="before")
    @classmethod
    def _directory(cls, value: Any) -> str:
        if value is None:
            return ""
        text = str(value).strip().strip("/")
        if text in ("", "."):
            return ""
        parts = PurePosixPath(text).parts
        if any(part in ("..", ".") for part in parts) or "\\" in text:
            raise ValueError(f"{value!r} must be a plain path inside the repository (no '..')")
        return "/".join(parts)


class ExcludeConfig(_Model):
    """What stays open when `authentication.required` is true (Flipt's `exclude`, plus `health` — the details of
    /health; its status is always public — and `metrics`)."""

    evaluation: bool = False
    ofrep: bool = False
    health: bool = False
    metrics: bool = False


class TokenConfig(_Model):
    credential: str = Field(min_length=1)
    environments: list[str] = Field(default_factory=lambda: ["*"])
    namespaces: list[str] | None = None


class JwtConfig(_Model):
    """JWTs presented as `Authorization: JWT <jwt>` (Flipt's JWT method): verified with the key in
    `public_key_file` or with the key set at `jwks_url` (fetched when the evaluator starts, then every
    `refresh_interval`); `issuer`, `subject` and `audiences` (any one) are checked when set. `environments` and
    `namespaces` scope every valid JWT as a token's are scoped (None = all)."""

    public_key_file: Path | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    subject: str | None = None
    audiences: list[Annotated[str, Field(min_length=1)]] | None = None
    environments: list[str] | None = None
    namespaces: list[str] | None = None
    refresh_interval: Duration = 300.0

    @field_validator("jwks_url")
    @classmethod
    def _jwks_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http or https URL")
        return value.strip()

    @model_validator(mode="after")
    def _one_source(self) -> JwtConfig:
        if (self.public_key_file is None) == (self.jwks_url is None):
            raise ValueError("exactly one of public_key_file or jwks_url is required")
        return self


class AuthenticationConfig(_Model):
    required: bool = False
    exclude: ExcludeConfig = Field(default_factory=ExcludeConfig)
    tokens: dict[str, TokenConfig] = Field(default_factory=dict)
    jwt: JwtConfig | None = None


def parse_heartbeat(value: Any) -> float:
    """A duration as `parse_duration`, or 0 (`0`, `0s`): no keep-alive comments."""
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        match = _DURATION.match(str(value))
        if match and float(match.group(1)) == 0:
            return 0.0
    return parse_duration(value)


class CorsConfig(_Model):
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


class TlsConfig(_Model):
    """HTTPS for the evaluator: a PEM certificate (chain) and its PEM private key, relative to flagdeck.yaml."""

    cert_file: Path
    key_file: Path


class ServerConfig(_Model):
    """The evaluator's settings (`flagdeck serve`); a command-line option given explicitly wins over each."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535, strict=True)
    workers: int = Field(default=1, ge=1, le=64, strict=True)
    access_log: bool = False
    hot_lane: bool = True
    heartbeat: Annotated[float, BeforeValidator(parse_heartbeat)] = 15.0
    cors: CorsConfig = Field(default_factory=CorsConfig)
    tls: TlsConfig | None = None
    # how long a client may take: a request's headers from its first byte, its body from its headers, and an idle
    # keep-alive connection between requests; connections per worker process (0 = no cap)
    header_timeout: Duration = 10.0
    body_timeout: Duration = 30.0
    idle_timeout: Duration = 75.0
    max_connections: int = Field(default=10_000, ge=0, strict=True)


class IdentityConfig(_Model):
    name: str = Field(min_length=1)
    email: str = Field(min_length=1)


class Config(_Model):
    path: Path | None = None
    storage: dict[str, StorageConfig]
    environments: dict[str, EnvironmentConfig]
    authentication: AuthenticationConfig = Field(default_factory=AuthenticationConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    identity: IdentityConfig | None = None
    _server_problems: list[str] = PrivateAttr(default_factory=list)  # see check_server_files

    def check_server_files(self) -> None:
        """Raise the first problem with a file only the evaluator reads (the JWT public key, the TLS certificate and
        key) as a ConfigError `FILE:LINE: key: message`. Loading a configuration does not raise these, so a console
        or an export on a machine without the server's key files still works; `flagdeck serve` calls this first."""
        if self._server_problems:
            raise ConfigError(self._server_problems[0])

    @property
    def default_environment(self) -> str:
        return next(name for name, env in self.environments.items() if env.default)

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(f"unknown environment {name!r} (configured: {known})") from None

    def storage_of(self, env: str) -> StorageConfig:
        return self.storage[self.environment(env).storage]


def _at(file: str, source: Any, loc: tuple[Any, ...]) -> str:
    """`file:line: dotted.key` for a key of the ruamel document `source`."""
    return _where(file, node_line(source, loc), loc)


def _where(file: str, line: int, loc: tuple[Any, ...]) -> str:
    place = f"{file}:{line}" if line else file
    return f"{place}: {'.'.join(str(p) for p in loc)}" if loc else place


def _resolve(raw: dict[str, Any], base: Path, file: str, source: Any) -> dict[str, Any]:
    """Fill in names and defaults, make paths absolute, and check the cross-entry rules."""
    storages = raw.get("storage")
    envs = raw.get("environments")
    if not isinstance(storages, dict) or not storages:
        raise ConfigError(f"{_at(file, source, ('storage',))}: "
                          "at least one storage (a Git repository) is required")
    if not isinstance(envs, dict) or not envs:
        raise ConfigError(f"{_at(file, source, ('environments',))}: "
                          "at least one environment is required")
    for name, storage in storages.items():
        if isinstance(storage, dict) and storage.get("path") is not None:
            path = Path(os.path.expanduser(str(storage["path"])))
            storage["path"] = path if path.is_absolute() else (base / path)
        creds = storage.get("credentials") if isinstance(storage, dict) else None
        if isinstance(creds, dict) and creds.get("ssh_key") is not None:
            key = Path(os.path.expanduser(str(creds["ssh_key"])))
            creds["ssh_key"] = key if key.is_absolute() else (base / key)
        remote = storage.get("remote") if isinstance(storage, dict) else None
        if isinstance(remote, str) and not remote.strip():
            remote = storage["remote"] = None  # `remote: ""` means no remote, not this file's directory
        if isinstance(remote, str) and "://" not in remote and not re.match(r"^[\w.-]+@[\w.-]+:", remote):
            local = Path(os.path.expanduser(remote))
            storage["remote"] = str(local if local.is_absolute() else (base / local).resolve())
        if isinstance(storage, dict) and "path" not in storage:
            loc = ("storage", name)
            raise ConfigError(f"{_where(file, node_line(source, loc), loc + ('path',))}: is required")
    auth = raw.get("authentication")
    jwt = auth.get("jwt") if isinstance(auth, dict) else None
    if isinstance(jwt, dict) and isinstance(jwt.get("public_key_file"), str):
        key = Path(os.path.expanduser(jwt["public_key_file"]))
        jwt["public_key_file"] = key if key.is_absolute() else (base / key)
    server = raw.get("server")
    tls = server.get("tls") if isinstance(server, dict) else None
    for field in ("cert_file", "key_file"):
        if isinstance(tls, dict) and isinstance(tls.get(field), str):
            tls_path = Path(os.path.expanduser(tls[field]))
            tls[field] = tls_path if tls_path.is_absolute() else (base / tls_path)
    only_storage = next(iter(storages)) if len(storages) == 1 else None
    for name, env in envs.items():
        env = envs[name] = {} if env is None else env
        if not isinstance(env, dict):
            continue
        env.setdefault("name", name)
        if not env.get("storage") and only_storage:
            env["storage"] = only_storage
        loc = ("environments", name, "storage")
        if env.get("storage") not in storages:
            known = ", ".join(storages)
            raise ConfigError(f"{_at(file, source, loc)}: names no configured storage "
                              f"({env.get('storage')!r}; known: {known})")
    return raw


def _check(config: Config, file: str, source: Any) -> Config:
    defaults = [name for name, env in config.environments.items() if env.default]
    if not defaults and len(config.environments) == 1:
        (name,) = config.environments
        envs = {name: config.environments[name].model_copy(update={"default": True})}
        config = config.model_copy(update={"environments": envs})
    elif len(defaults) != 1:
        which = ", ".join(defaults) if defaults else "none"
        raise ConfigError(f"{_at(file, source, ('environments',))}: exactly one "
                          f"environment must have `default: true` (found: {which})")
    seen: dict[tuple[str, str], str] = {}
    for name, env in config.environments.items():
        spot = (env.storage, env.directory)
        if spot in seen:
            loc = ("environments", name, "directory")
            raise ConfigError(f"{_at(file, source, loc)}: environments {seen[spot]!r} and "
                              f"{name!r} share storage {env.storage!r} and directory {env.directory or '/'!r}")
        seen[spot] = name
    for token, spec in config.authentication.tokens.items():
        for env in spec.environments:
            if env != "*" and env not in config.environments:
                loc = ("authentication", "tokens", token, "environments")
                raise ConfigError(f"{_at(file, source, loc)}: unknown environment {env!r}")
    jwt = config.authentication.jwt
    for env in (jwt.environments or []) if jwt else []:
        if env != "*" and env not in config.environments:
            loc = ("authentication", "jwt", "environments")
            raise ConfigError(f"{_at(file, source, loc)}: unknown environment {env!r}")
    problems = config._server_problems  # files only the evaluator needs: reported by check_server_files
    if jwt is not None and jwt.public_key_file is not None:
        try:
            read_public_key(jwt.public_key_file)
        except ValueError as exc:
            problems.append(f"{_at(file, source, ('authentication', 'jwt', 'public_key_file'))}: {exc}")
    tls = config.server.tls
    if tls is not None:
        try:
            server_ssl_context(tls.cert_file, tls.key_file)
        except ValueError as exc:
            field, message = str(exc).split(": ", 1)
            problems.append(f"{_at(file, source, ('server', 'tls', field))}: {message}")
    return config


def parse_config(text: str, path: Path | None = None) -> Config:
    """Parse and check the text of a configuration file; `path` anchors relative paths and names the file."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    file = str(path) if path else DEFAULT_NAME
    try:
        source = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"{_where(file, line, ())}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(source, dict):
        raise ConfigError(f"{file}: expected a mapping with `storage` and `environments`")
    raw = _plain(source)
    base = path.parent if path else Path.cwd()
    raw = _resolve(raw, base.resolve(), file, source)
    raw["path"] = path
    try:
        config = Config.model_validate(raw)
    except PydanticValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            lines.append(f"{_at(file, source, loc)}: {_message(err)}")
        raise ConfigError("\n".join(lines)) from None
    return _check(config, file, source)


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "is required"
    return str(err["msg"]).removeprefix("Value error, ")


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def find_config(path: str | Path | None = None) -> Path:
    if path is not None:
        candidate = Path(path)
    elif os.environ.get(ENV_VAR):
        candidate = Path(os.environ[ENV_VAR])
    else:
        candidate = Path.cwd() / DEFAULT_NAME
        demo = Path.cwd() / DEMO_DIR / DEFAULT_NAME
        if not candidate.is_file() and demo.is_file():
            candidate = demo
    if candidate.is_dir():
        candidate = candidate / DEFAULT_NAME
    if not candidate.is_file():
        raise ConfigError(f"{candidate}: configuration file not found (use --config, {ENV_VAR}, ./{DEFAULT_NAME} or "
                          f"./{DEMO_DIR}/{DEFAULT_NAME}; `flagdeck init` writes one)")
    return candidate.resolve()


def load_config(path: str | Path | None = None) -> Config:
    found = find_config(path)
    try:
        text = found.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{found}: cannot read: {exc}") from None
    return parse_config(text, found)

