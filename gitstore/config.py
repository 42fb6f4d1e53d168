"""`flagdeck.yaml`: one file, each section's model owned by the package that uses it.

gitstore owns `storage` (Git repositories), `environments` (a storage, branch and directory each) and `identity`
(the commit identity): `Config`. The evaluator owns `server` and `authentication` (`evaluator/config.py`:
`EvaluatorConfig`, a `Config` with those sections); the app owns `ssh` (`app/settings.py`: `FlagdeckConfig`, every
section). Each loads the file with `load_config(path, model)`: the same reading, search order and error format for
all, each model validating its own sections (`prepare` before, `checked` after pydantic) and passing over, by name,
the sections a package above owns (`PASSED_OVER`). Any other top-level key is an error for every model.

Found via an explicit path, then `FLAGDECK_CONFIG`, then `./flagdeck.yaml`, then `./.flagdeck/flagdeck.yaml` (what
`make run` and `flagdeck init .flagdeck` create). Relative paths are relative to the
configuration file. Errors name the file, the line and the key: `flagdeck.yaml:7: storage.local.poll_interval: ...`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from gitstore.errors import ConfigError
from gitstore.format.yamlio import node_line

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


def parse_duration_or_zero(value: Any) -> float:
    """A duration as `parse_duration`, or 0 (`0`, `0s`): for settings where 0 turns something off."""
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        match = _DURATION.match(str(value))
        if match and float(match.group(1)) == 0:
            return 0.0
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(parse_duration)]
DurationOrZero = Annotated[float, BeforeValidator(parse_duration_or_zero)]


def http_url(value: str) -> str:
    """An http or https URL with a host, without surrounding blanks (else a ValueError saying so)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http or https URL")
    return value.strip()


HttpUrl = Annotated[str, AfterValidator(http_url)]


class Section(BaseModel):
    """A section of flagdeck.yaml or a part of one: an unknown key is an error, values are frozen."""

    # defer_build: a model's validator is made when it first validates, not when its class is made. Each command
    # validates one model (`FlagdeckConfig`, or a package's own), so the parents' and every section's own
    # validators are never made (issue 18: a fifth of the config's cost in a 1,000-flag `flagdeck validate`)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CredentialsConfig(Section):
    """How to authenticate to an ssh or https remote. Secrets stay out of the file: `token_env` names the
    environment variable holding an https password or access token. Without `ssh_key`, ssh uses the agent
    (SSH_AUTH_SOCK) or ~/.ssh/id_ed25519, id_ecdsa, id_rsa."""

    username: str | None = None
    ssh_key: Path | None = None  # private key file; the public key is <ssh_key>.pub when present
    token_env: str | None = None
    insecure_ignore_host_key: bool = False  # accept an ssh host key not in known_hosts (tests, first contact)


class StorageConfig(Section):
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


def _protect(value: Any) -> Any:
    """`protect: true` is the default policy, `protect: false` (or nothing) none."""
    if value is True:
        return {}
    return None if value is False else value


class ProtectConfig(Section):
    """`protect:` of an environment (gitstore/proposals): with `proposals: required` the store refuses every direct
    write and a change gets in only as a merged proposal with `approvals` approvals from users other than its author
    holding at least the `approvers` role there; `optional` keeps direct writes but merges still need approvals."""

    proposals: Literal["required", "optional"] = "required"
    approvals: int = Field(default=1, ge=0, le=20, strict=True)
    approvers: Literal["viewer", "editor", "admin"] = "admin"


class EnvironmentConfig(Section):
    name: str = ""
    storage: str = ""
    directory: str = ""
    default: bool = False
    protect: Annotated[ProtectConfig | None, BeforeValidator(_protect)] = None

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


class IdentityConfig(Section):
    name: str = Field(min_length=1)
    email: str = Field(min_length=1)


@dataclass(frozen=True)
class Source:
    """The file being loaded: its name as errors show it, the ruamel document (for line numbers) and the directory
    relative paths are relative to."""

    file: str
    document: Any
    base: Path
    resolved: list[tuple[str, str]] = field(default_factory=list)  # (path, what it resolved to), for the cache

    def at(self, *loc: Any) -> str:
        """`file:line: dotted.key` for a key of the document (the line of the deepest part of it that exists)."""
        return _where(self.file, node_line(self.document, loc), loc)

    def path(self, value: Any) -> Any:
        """A path as written in the file, made absolute (`~` expanded, relative to the file); other values as they
        are, for the model to report."""
        if not isinstance(value, str | Path):
            return value
        path = Path(os.path.expanduser(str(value)))
        return path if path.is_absolute() else self.base / path

    def resolve(self, path: Path, *loc: Any) -> Path:
        """`path` (the value of key `loc`) with its links resolved, remembered: the configuration cache checks it again
        on every hit. A path that cannot be resolved (a link loop) is a ConfigError at `loc`."""
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # (Python 3.11 raises RuntimeError for a link loop)
            raise ConfigError(f"{self.at(*loc)}: cannot resolve {path}: {exc}") from None
        self.resolved.append((str(path), str(resolved)))
        return resolved


def _where(file: str, line: int, loc: tuple[Any, ...]) -> str:
    place = f"{file}:{line}" if line else file
    return f"{place}: {'.'.join(str(p) for p in loc)}" if loc else place


class Config(Section):
    """gitstore's sections of flagdeck.yaml. A package above extends it with the sections it owns (a subclass
    overriding `prepare` and `checked`, calling these first, and narrowing `PASSED_OVER`)."""

    PASSED_OVER: ClassVar[frozenset[str]] = frozenset({"server", "authentication", "analytics", "ssh",
                                                     "automation", "events", "webhooks", "lifecycle"})
    """Top-level sections this model does not validate: owned by the evaluator and the app."""

    path: Path | None = None
    storage: dict[str, StorageConfig]
    environments: dict[str, EnvironmentConfig]
    identity: IdentityConfig | None = None

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

    @classmethod
    def prepare(cls, raw: dict[str, Any], source: Source) -> None:
        """Before validation, in place: fill in names and defaults, make paths absolute, and check what pydantic
        cannot say with a line number (a missing section, a storage without a path, an unknown storage)."""
        storages = raw.get("storage")
        envs = raw.get("environments")
        if not isinstance(storages, dict) or not storages:
            raise ConfigError(f"{source.at('storage')}: at least one storage (a Git repository) is required")
        if not isinstance(envs, dict) or not envs:
            raise ConfigError(f"{source.at('environments')}: at least one environment is required")
        for name, storage in storages.items():
            if not isinstance(storage, dict):
                continue
            if storage.get("path") is not None:
                storage["path"] = source.path(str(storage["path"]))
            creds = storage.get("credentials")
            if isinstance(creds, dict) and creds.get("ssh_key") is not None:
                creds["ssh_key"] = source.path(str(creds["ssh_key"]))
            remote = storage.get("remote")
            if isinstance(remote, str) and not remote.strip():
                remote = storage["remote"] = None  # `remote: ""` means no remote, not this file's directory
            if isinstance(remote, str) and "://" not in remote and not re.match(r"^[\w.-]+@[\w.-]+:", remote):
                written = Path(os.path.expanduser(remote))  # a local path, relative to this file
                storage["remote"] = str(written if written.is_absolute()
                                        else source.resolve(source.base / written, "storage", name, "remote"))
            if "path" not in storage:
                raise ConfigError(f"{source.at('storage', name, 'path')}: is required")
        only_storage = next(iter(storages)) if len(storages) == 1 else None
        for name, env in envs.items():
            env = envs[name] = {} if env is None else env
            if not isinstance(env, dict):
                continue
            env.setdefault("name", name)
            if not env.get("storage") and only_storage:
                env["storage"] = only_storage
            if env.get("storage") not in storages:
                known = ", ".join(storages)
                raise ConfigError(f"{source.at('environments', name, 'storage')}: names no configured storage "
                                  f"({env.get('storage')!r}; known: {known})")

    def checked(self, source: Source) -> Self:
        """After validation: the rules across entries (one default environment, no two environments in one
        place); returns the configuration, completed (a single environment is the default)."""
        config = self
        defaults = [name for name, env in config.environments.items() if env.default]
        if not defaults and len(config.environments) == 1:
            (name,) = config.environments
            envs = {name: config.environments[name].model_copy(update={"default": True})}
            config = config.model_copy(update={"environments": envs})
        elif len(defaults) != 1:
            which = ", ".join(defaults) if defaults else "none"
            raise ConfigError(f"{source.at('environments')}: exactly one "
                              f"environment must have `default: true` (found: {which})")
        seen: dict[tuple[str, str], str] = {}
        for name, env in config.environments.items():
            spot = (env.storage, env.directory)
            if spot in seen:
                raise ConfigError(f"{source.at('environments', name, 'directory')}: environments {seen[spot]!r} "
                                  f"and {name!r} share storage {env.storage!r} and directory "
                                  f"{env.directory or '/'!r}")
            seen[spot] = name
        return config


C = TypeVar("C", bound=Config)


def parse_config(text: str, path: Path | None = None, model: type[C] = Config) -> C:  # type: ignore[assignment]
    """Parse and check the text of a configuration file as `model` (gitstore's `Config` or a package's extension of
    it); `path` anchors relative paths and names the file."""
    return _parsed(text, path, model)[0]


def _parsed(text: str, path: Path | None, model: type[C]) -> tuple[C, Source]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    file = str(path) if path else DEFAULT_NAME
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"{_where(file, line, ())}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{file}: expected a mapping with `storage` and `environments`")
    source = Source(file, document, (path.parent if path else Path.cwd()).resolve())
    raw = {key: value for key, value in _plain(document).items() if key not in model.PASSED_OVER}
    model.prepare(raw, source)
    raw["path"] = path
    try:
        config = model.model_validate(raw)
    except PydanticValidationError as exc:
        lines = [f"{source.at(*err['loc'])}: {_message(err)}" for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
    return config.checked(source), source


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


def load_config(path: str | Path | None = None, model: type[C] = Config,  # type: ignore[assignment]
                cache: bool = False) -> C:
    """Find (`find_config`), read and parse flagdeck.yaml as `model`. `cache`: take it from, and keep it in, the
    cache of validated configurations (`gitstore.config_cache`), for commands that do not read the files only the
    evaluator reads (`flagdeck serve` never uses it)."""
    found = find_config(path)
    try:
        data = found.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{found}: cannot read: {exc}") from None
    if not cache:
        return parse_config(text, found, model)
    from gitstore import config_cache

    config = config_cache.load(found, data, model)
    if config is None:
        config, source = _parsed(text, found, model)
        config_cache.save(found, data, config, source.resolved)
    return config
