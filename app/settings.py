"""flagdeck.yaml as the app reads it: every section. The app owns `ssh` (the defaults of `flagdeck ssh-server`) and
`lifecycle` (the stale rules' days); the
rest is the evaluator's `EvaluatorConfig` (gitstore's storage, environments and identity; the evaluator's server and
authentication). The app's commands load the file with `load_flagdeck_config`, so a mistake in any section is a
`FILE:LINE: key: message` error whichever command reads it first."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from evaluator.config import EvaluatorConfig
from gitstore.config import Duration, DurationOrZero, Section, Source, load_config

DEFAULT_SSH_STATE = Path.home() / ".flagdeck" / "ssh"


class SshConfig(Section):
    """`flagdeck ssh-server`'s settings (docs/ssh.md); an option given on its command line wins over each. Paths are
    relative to flagdeck.yaml; `host_key` and `users` default to files in `state_dir`."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=2222, ge=0, le=65535, strict=True)
    state_dir: Path = DEFAULT_SSH_STATE
    host_key: Path | None = None
    users: Path | None = None
    max_connections: int = Field(default=32, ge=1, strict=True)
    max_connections_per_address: int = Field(default=8, ge=1, strict=True)
    max_auth_tries: int = Field(default=6, ge=1, strict=True)
    max_sessions_per_connection: int = Field(default=2, ge=1, strict=True)
    max_consoles_per_user: int = Field(default=3, ge=1, strict=True)
    max_consoles: int = Field(default=16, ge=1, strict=True)
    login_timeout: Duration = 30.0
    idle_timeout: DurationOrZero = 1800.0  # 0: never


class LifecycleConfig(Section):
    """The stale rules' settings (`flagdeck stale`, `flagdeck refs --stale`, the console; `--days` wins)."""

    stale_days: int = Field(default=14, ge=1, strict=True)  # N: no evaluation, or one value, for N days
    max_uncovered: DurationOrZero = 3600.0  # time in the N days nobody was counting that still lets counts judge


class FlagdeckConfig(EvaluatorConfig):
    """Every section of flagdeck.yaml; no section is passed over."""

    PASSED_OVER: ClassVar[frozenset[str]] = frozenset()

    ssh: SshConfig = Field(default_factory=SshConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)

    @classmethod
    def prepare(cls, raw: dict[str, Any], source: Source) -> None:
        super().prepare(raw, source)
        ssh = raw.get("ssh")
        for field in ("state_dir", "host_key", "users"):
            if isinstance(ssh, dict) and isinstance(ssh.get(field), str):
                ssh[field] = source.path(ssh[field])


def load_flagdeck_config(path: str | Path | None = None) -> FlagdeckConfig:
    """flagdeck.yaml (found as `gitstore.config.find_config` finds it), every section validated; from the cache of
    validated configurations when this file was validated before (`gitstore.config_cache`)."""
    return load_config(path, FlagdeckConfig, cache=True)
