"""A flag's lifecycle, kept in Flipt's own `metadata` map so the file stays valid for Flipt:

```yaml
metadata:
  owner: team-checkout          # who answers for the flag (free text)
  lifecycle: temporary          # temporary | permanent
  expires: "2026-03-31"         # YYYY-MM-DD: a temporary flag is stale after this day
```

`lifecycle_problems` is the one rule the validator, the store's writes (through the validator) and the console's
flag editor use; `Lifecycle.of(flag)` reads the fields leniently (a bad value reads as absent)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

OWNER, LIFECYCLE, EXPIRES = "owner", "lifecycle", "expires"
FIELDS = (OWNER, LIFECYCLE, EXPIRES)


class Kind(StrEnum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


KINDS = tuple(k.value for k in Kind)


def parse_expires(value: Any) -> date:
    """`YYYY-MM-DD` (a YAML date left unquoted reads as that text too); ValueError saying what is expected."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"must be a date YYYY-MM-DD, not {value!r}")


def lifecycle_problems(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each lifecycle field of a flag's metadata that has a bad value."""
    problems: list[tuple[str, str]] = []
    owner = metadata.get(OWNER)
    if owner is not None and (not isinstance(owner, str) or not owner.strip()):
        problems.append((OWNER, f"must be a non-empty string (a person or team), not {owner!r}"))
    kind = metadata.get(LIFECYCLE)
    if kind is not None and kind not in KINDS:
        problems.append((LIFECYCLE, f"must be one of {', '.join(KINDS)}, not {kind!r}"))
    expires = metadata.get(EXPIRES)
    if expires is not None:
        try:
            parse_expires(expires)
        except ValueError as exc:
            problems.append((EXPIRES, str(exc)))
    return problems


class Lifecycle(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built when first validated (issue 18, see documents)

    owner: str | None = None
    kind: Kind | None = None  # None: not said (neither temporary nor permanent: never reported stale)
    expires: date | None = None

    @classmethod
    def of(cls, flag: Any) -> Lifecycle:
        """The lifecycle of a flag (anything with a `metadata` mapping); fields with bad values read as absent."""
        metadata = getattr(flag, "metadata", None) or {}
        if OWNER not in metadata and LIFECYCLE not in metadata and EXPIRES not in metadata:
            return NONE  # most flags: no model built (the console reads 100,000 of them)
        bad = {name for name, _ in lifecycle_problems(metadata)}
        owner = metadata.get(OWNER) if OWNER not in bad else None
        kind = metadata.get(LIFECYCLE) if LIFECYCLE not in bad else None
        expires = metadata.get(EXPIRES) if EXPIRES not in bad else None
        return cls(owner=owner.strip() if isinstance(owner, str) else None,
                   kind=Kind(kind) if kind is not None else None,
                   expires=parse_expires(expires) if expires is not None else None)

    def metadata(self, base: dict[str, Any] | None) -> dict[str, Any] | None:
        """`base` (a flag's metadata) with the lifecycle fields set to these values (absent ones removed), in the
        order they had; None when nothing is left."""
        out = {k: v for k, v in (base or {}).items()}
        for name, value in ((OWNER, self.owner), (LIFECYCLE, self.kind.value if self.kind else None),
                            (EXPIRES, self.expires.isoformat() if self.expires else None)):
            if value is None:
                out.pop(name, None)
            else:
                out[name] = value
        return out or None


NONE = Lifecycle.model_construct()  # (not validated: importing this module builds no validator)


def without_lifecycle(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata's other keys (what the console's JSON box shows beside the lifecycle fields)."""
    return {k: v for k, v in (metadata or {}).items() if k not in FIELDS}


def merged(original: dict[str, Any] | None, others: dict[str, Any] | None, lifecycle: Lifecycle
           ) -> dict[str, Any] | None:
    """A flag's new metadata from an edit of its other keys (`others`) and of its lifecycle: every key keeps its
    place in `original` (so the file's diff is the edit only), new keys come last; None when empty."""
    others = others or {}
    out: dict[str, Any] = {}
    for key, value in (original or {}).items():
        if key in FIELDS:
            out[key] = value  # its place; its value is set below
        elif key in others:
            out[key] = others[key]
    out.update((k, v) for k, v in others.items() if k not in out and k not in FIELDS)
    return lifecycle.metadata(out)
