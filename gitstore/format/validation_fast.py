"""The validator's fast answer for an ordinary flag (issue 18): one tight pass that says "this flag has nothing to
report" for the shapes nearly every flag has (a key, a name, a type, string metadata, variants without
attachments, rules naming one segment with their splits, no rollouts), so a 100,000-flag file does not pay the
general checker's calls per field. It only ever answers "clean": anything else (a finding, or a shape it does not
know, such as attachments, rollouts, `segment: {keys: ...}`, metadata that is not text) returns False and the
general checker (`gitstore.format.validation.Checker.flag`) examines the flag and words the findings, so the
answer is the same either way; `tests/format/test_validation_fast.py` checks both paths against each other.
"""

from __future__ import annotations

import math
from typing import Any

from gitstore.format.validation_rules import _KEY
from gitstore.model.lifecycle import lifecycle_problems

Fields = dict[str, str | None]


def _allowed(fields: Fields, version: str) -> frozenset[str]:
    return frozenset(key for key, since in fields.items() if not since or version >= since)


class FlagShapes:
    """The allowed fields of a flag and its parts, per document version (what `Checker.obj` checks)."""

    def __init__(self, versions: tuple[str, ...], flag: Fields, variant: Fields, rule: Fields, distribution: Fields,
                 flag_types: tuple[str, ...]):
        self.flag = {v: _allowed(flag, v) for v in versions}
        self.variant = {v: _allowed(variant, v) for v in versions}
        self.rule = {v: _allowed(rule, v) for v in versions}
        self.distribution = {v: _allowed(distribution, v) for v in versions}
        self.flag_types = frozenset(flag_types)

    def clean(self, flag: Any, version: str, extended: bool) -> bool:
        """True only when `Checker.flag` would report nothing for `flag` in a document of `version`."""
        if type(flag) is not dict or not flag.keys() <= self.flag[version] or "key" not in flag or "name" not in flag:
            return False
        key, name = flag["key"], flag["name"]
        if type(key) is not str or _KEY.fullmatch(key) is None or type(name) is not str or not name:
            return False
        if "type" in flag and (type(flag["type"]) is not str or flag["type"] not in self.flag_types):
            return False
        description = flag.get("description")
        if description is not None and type(description) is not str or extended and not description:
            return False
        if "enabled" in flag and type(flag["enabled"]) is not bool:
            return False
        metadata = flag.get("metadata")
        if metadata is not None and not _plain_metadata(metadata):
            return False
        rollouts = flag.get("rollouts")
        if rollouts is not None and (type(rollouts) is not list or rollouts):
            return False
        return self._variants(flag.get("variants"), version) and self._rules(flag.get("rules"), version)

    def _variants(self, variants: Any, version: str) -> bool:
        if variants is None:
            return True
        if type(variants) is not list:
            return False
        allowed, defaults = self.variant[version], 0
        for variant in variants:
            if type(variant) is not dict or not variant.keys() <= allowed or variant.get("attachment") is not None:
                return False
            key = variant.get("key")
            if type(key) is not str or not key:
                return False
            if "name" in variant and (type(variant["name"]) is not str or not variant["name"]):
                return False
            if "description" in variant and variant["description"] is not None \
                    and type(variant["description"]) is not str:
                return False
            if "default" in variant:
                default = variant["default"]
                if type(default) is not bool:
                    return False
                defaults += default
        return defaults <= 1

    def _rules(self, rules: Any, version: str) -> bool:
        if rules is None:
            return True
        if type(rules) is not list:
            return False
        allowed, split = self.rule[version], self.distribution[version]
        for rule in rules:
            if type(rule) is not dict or not rule.keys() <= allowed:
                return False
            segment = rule.get("segment")
            if type(segment) is not str or _KEY.fullmatch(segment) is None:
                return False
            if "rank" in rule and type(rule["rank"]) is not int:
                return False
            distributions = rule.get("distributions")
            if distributions is None:
                continue
            if type(distributions) is not list:
                return False
            for dist in distributions:
                if type(dist) is not dict or not dist.keys() <= split or len(dist) != 2:  # variant and rollout
                    return False
                variant, rollout = dist["variant"], dist["rollout"]
                if type(variant) is not str or not variant:
                    return False
                kind = type(rollout)
                if not (kind is int or kind is float and math.isfinite(rollout)) or not 0 <= rollout <= 100:
                    return False
        return True


def _plain_metadata(metadata: Any) -> bool:
    """Metadata of text keys and text values with nothing for the lifecycle rules to warn about."""
    if type(metadata) is not dict:
        return False
    for key, value in metadata.items():
        if type(key) is not str or type(value) is not str:
            return False
    return not lifecycle_problems(metadata)


def clean_references(flag: dict[str, Any], segments: dict[str, Any]) -> bool:
    """True only when `validation_refs._check_flag` would report nothing: unique variant keys, rules naming known
    segments by key, splits naming the flag's variants, no rollouts."""
    if flag.get("rollouts"):
        return False
    variants = flag.get("variants") or ()
    if type(variants) not in (list, tuple):
        return False
    keys = set()
    for variant in variants:
        key = variant.get("key") if type(variant) is dict else None
        if type(key) is not str or key in keys:
            return False
        keys.add(key)
    rules = flag.get("rules") or ()
    if type(rules) not in (list, tuple):
        return False
    for rule in rules:
        if type(rule) is not dict or type(rule.get("segment")) is not str or rule["segment"] not in segments:
            return False
        distributions = rule.get("distributions") or ()
        if type(distributions) not in (list, tuple):
            return False
        for dist in distributions:
            if type(dist) is not dict or type(dist.get("variant")) is not str or dist["variant"] not in keys:
                return False
    return True
