"""A change to one flag written as what it sets (`flagdeck flag set`, a schedule, a ramp step): enabled, a boolean
flag's threshold rollout, a variant flag's distribution in one rule. Applied to the flag as it is when it runs, so
a schedule or a ramp step changes only what it names."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gitstore.errors import FlagdeckError
from gitstore.model.documents import Distribution, Flag, FlagType, Rollout, RolloutThreshold, Rule


class PatchError(FlagdeckError):
    """The patch does not apply to the flag as it is (wrong type, unknown variant, no rule, bad percentage)."""


class FlagPatch(BaseModel):
    """What to set on one flag; None leaves a field as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    threshold: float | None = Field(default=None, ge=0, le=100)
    """Boolean flags: the percentage of the first threshold rollout (one serving true is added when none exists)."""
    distribution: dict[str, float] | None = None
    """Variant flags: variant key -> percentage in rule `rule` (variants not named get 0 and are dropped)."""
    rule: int | None = Field(default=None, ge=1)
    """1-based rule number for `distribution` (default: the flag's only rule)."""

    def empty(self) -> bool:
        return self.enabled is None and self.threshold is None and self.distribution is None

    def describe(self) -> str:
        """`enabled=false, threshold=25%`: what the patch sets, for messages and listings."""
        parts = []
        if self.enabled is not None:
            parts.append(f"enabled={str(self.enabled).lower()}")
        if self.threshold is not None:
            parts.append(f"threshold={_pct(self.threshold)}%")
        if self.distribution is not None:
            rule = f" in rule {self.rule}" if self.rule else ""
            parts.append("rollout " + ",".join(f"{k}={_pct(v)}%" for k, v in self.distribution.items()) + rule)
        return ", ".join(parts) or "nothing"


def _pct(value: float) -> str:
    return f"{value:g}"


def apply(flag: Flag, patch: FlagPatch, where: str) -> Flag:
    """The flag with the patch applied; `PatchError` (naming `where`, e.g. `production default/new-ui`) when it
    does not apply."""
    update: dict[str, object] = {}
    if patch.enabled is not None:
        update["enabled"] = patch.enabled
    if patch.threshold is not None:
        if flag.type is not FlagType.BOOLEAN:
            raise PatchError(f"{where} is a variant flag: a threshold applies to boolean flags (use a rollout)")
        update["rollouts"] = _with_threshold(flag, patch.threshold)
    if patch.distribution is not None:
        if flag.type is not FlagType.VARIANT:
            raise PatchError(f"{where} is a boolean flag: a rollout of variants applies to variant flags "
                             "(use a threshold)")
        update["rules"] = _with_distribution(flag, patch, where)
    return flag.model_copy(update=update)


def _with_threshold(flag: Flag, percentage: float) -> tuple[Rollout, ...]:
    rollouts = list(flag.rollouts)
    index = next((i for i, r in enumerate(rollouts) if r.threshold is not None), None)
    if index is None:
        return (*rollouts, Rollout(threshold=RolloutThreshold(percentage=percentage, value=True)))
    old = rollouts[index]
    assert old.threshold is not None
    rollouts[index] = old.model_copy(update={"threshold": old.threshold.model_copy(update={"percentage": percentage})})
    return tuple(rollouts)


def _with_distribution(flag: Flag, patch: FlagPatch, where: str) -> tuple[Rule, ...]:
    assert patch.distribution is not None
    if not flag.rules:
        raise PatchError(f"{where} has no rule: add one (console or a file) before rolling out variants")
    if patch.rule is None and len(flag.rules) > 1:
        raise PatchError(f"{where} has {len(flag.rules)} rules: say which one with --rule N")
    number = patch.rule or 1
    if number > len(flag.rules):
        raise PatchError(f"{where} has {len(flag.rules)} rule(s), not rule {number}")
    known = {v.key for v in flag.variants}
    unknown = sorted(set(patch.distribution) - known)
    if unknown:
        raise PatchError(f"{where} has no variant {', '.join(map(repr, unknown))} (variants: "
                         f"{', '.join(sorted(known)) or 'none'})")
    for key, value in patch.distribution.items():
        if not 0 <= value <= 100:
            raise PatchError(f"rollout {key}={value:g}: a percentage is between 0 and 100")
    total = sum(patch.distribution.values())
    if total > 100 + 1e-9:
        raise PatchError(f"rollout percentages add up to {total:g}%: at most 100%")
    rules = list(flag.rules)
    rule = rules[number - 1]
    rules[number - 1] = rule.model_copy(update={"distributions": tuple(
        Distribution(variant=k, rollout=v) for k, v in patch.distribution.items() if v > 0)})
    return tuple(rules)
