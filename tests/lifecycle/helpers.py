"""A real environment for the lifecycle tests: flagdeck.yaml (the demo's), a Git repository whose commits have
fixed dates, and evaluation counts written through the evaluator's own `AnalyticsWriter`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitstore.demo import CONFIG
from tests.console.helpers import ADA, BOB, commit_files

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def flag(key: str, lifecycle: str | None = None, owner: str | None = None, expires: str | None = None,
         boolean: bool = True) -> str:
    meta = {"owner": owner, "lifecycle": lifecycle, "expires": expires}
    lines = [f"  - key: {key}", f"    name: {key.replace('-', ' ').capitalize()}"]
    lines.append("    type: BOOLEAN_FLAG_TYPE" if boolean else "    type: VARIANT_FLAG_TYPE")
    lines.append("    enabled: true")
    if any(meta.values()):
        lines.append("    metadata:")
        lines += [f'      {k}: "{v}"' for k, v in meta.items() if v]
    if not boolean:
        lines += ["    variants:", "      - key: blue", "      - key: green"]
    return "\n".join(lines) + "\n"


OLD_FLAGS = [
    flag("old-unused", "temporary", "team-growth"),
    flag("one-value", "temporary", "team-checkout"),
    flag("expired", "temporary", "team-checkout", "2026-02-01", boolean=False),
    flag("busy", "temporary", "team-growth", boolean=False),
    flag("forever", "permanent", "team-core"),
    flag("untagged"),
]


def features(flags: Iterable[str]) -> bytes:
    return ('version: "1.4"\nnamespace:\n  key: default\n  name: Default\nflags:\n' + "".join(flags)).encode()


def make_env(root: Path, now: datetime = NOW) -> Path:
    """Six flags committed 40 days before `now`, a seventh (`young`, temporary) 3 days before. Returns the config."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "flagdeck.yaml").write_text(CONFIG, encoding="utf-8")
    repo = root / "repo"
    commit_files(repo, {"production/default/features.yaml": features(OLD_FLAGS),
                        "staging/default/features.yaml": features(OLD_FLAGS)}, ADA, "create", now - timedelta(days=40))
    commit_files(repo, {"production/default/features.yaml": features([*OLD_FLAGS, flag("young", "temporary")])},
                 BOB, "add young", now - timedelta(days=3))
    return root / "flagdeck.yaml"


def write_counts(config: Path, rows: Iterable[tuple[datetime, str, str, str, str, int]],
                 started: dict[str, datetime], until: datetime = NOW) -> None:
    """(minute, environment, flag, value, reason, count) rows of namespace default, and since when each
    environment has been counted (without a gap until `until`)."""
    from app.settings import load_flagdeck_config
    from evaluator.analytics.store import AnalyticsWriter

    writer = AnalyticsWriter.for_config(load_flagdeck_config(config))
    try:
        for env, since in started.items():
            writer.started([env], since.timestamp())
            writer.counting_on(env, since.timestamp(), until.timestamp())
        writer.add((minute, env, "default", key, value, reason, count) for minute, env, key, value, reason, count in rows)
    finally:
        writer.close()


MATCH = "MATCH_EVALUATION_REASON"
DEFAULT = "DEFAULT_EVALUATION_REASON"


def busy_counts(now: datetime = NOW) -> list[tuple[datetime, str, str, str, str, int]]:
    """Counts in production over the last 30 days: one-value serves only true, expired and busy two variants;
    old-unused was last evaluated 20 days ago; forever and untagged never."""
    rows = [(now - timedelta(days=20), "production", "old-unused", "true", DEFAULT, 4)]
    for day in range(0, 30, 2):
        at = now - timedelta(days=day, hours=1)
        rows += [(at, "production", "one-value", "true", DEFAULT, 50),
                 (at, "production", "expired", "blue", MATCH, 5), (at, "production", "expired", "green", MATCH, 5),
                 (at, "production", "busy", "blue", MATCH, 7), (at, "production", "busy", "green", DEFAULT, 3)]
    return rows
