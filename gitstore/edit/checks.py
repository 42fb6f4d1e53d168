"""Applying resource changes to a document model, and validating what a write produces without re-reading the
whole file: the schema rules for the resources that changed (at the file's version), references across the whole
namespace, and two rules that are only warnings on read but refused on write (a variant key used twice in one
flag, a distribution naming a variant the flag does not have)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace
from typing import Any

from gitstore.edit.places import ATTRS, WALK, inherit, place_of, value_of
from gitstore.errors import Problem
from gitstore.format.limits import check_data
from gitstore.format.models import build_flag, build_segment
from gitstore.format.serialize import flag_to_data, segment_to_data
from gitstore.format.validation import Checker
from gitstore.format.validation_rules import Finding, path_text
from gitstore.model.changes import Change, Kind, apply_to_document
from gitstore.model.documents import Document, Flag, Segment


def written_document(doc: Document, changes: list[Change]) -> Document:
    """What the file will hold: `gitstore.model.changes.apply_to_document` with every new resource normalised. Deleting a
    namespace removes its file, which is the store's job, not the writer's."""
    if any(c.kind is Kind.NAMESPACE and c.value is None for c in changes):
        raise ValueError("deleting a namespace removes its file; that is the store's job")
    normalised_changes = [_normalised_change(c) for c in changes]
    return _replaced(doc, normalised_changes) or apply_to_document(doc, normalised_changes)


def _replaced(doc: Document, changes: list[Change]) -> Document | None:
    """`apply_to_document` for changes that each replace an existing flag or segment under its own key (what
    nearly every commit is), found through `gitstore.edit.places` instead of a walk over every item; the result
    keeps the index. None for any other change list."""
    lists: dict[str, list[Any]] = {}
    for change in changes:
        value = change.value
        if not isinstance(value, Flag | Segment) or value.key != change.key:
            return None
        attr = "flags" if change.kind is Kind.FLAG else "segments"
        n = place_of(doc, attr, change.key)
        if n is None or n == WALK:
            return None
        lists.setdefault(attr, list(getattr(doc, attr)))[n] = value
    if not lists:
        return None
    new = doc.model_copy(update={attr: tuple(items) for attr, items in lists.items()})
    for attr in ATTRS:
        inherit(doc, new, attr)
    return new


def _normalised_change(change: Change) -> Change:
    if isinstance(change.value, Flag | Segment):
        return replace(change, value=normalised(change.value))
    return change


def normalised(item: Flag | Segment) -> Flag | Segment:
    """The resource exactly as the file will hold it when read back (empty metadata is no metadata, list values
    are compact JSON, numbers are floats), so the written document equals a fresh load of the written file."""
    if isinstance(item, Flag):
        return build_flag(flag_to_data(item))
    return build_segment(segment_to_data(item))


def check_written(doc: Document, changed_flags: set[str], changed_segments: set[str], version: str,
                  filename: str, removed_segments: AbstractSet[str] = frozenset(), base: Document | None = None
                  ) -> list[Problem]:
    """Errors that would make the written document invalid (empty list: fine). Only the changed flags and
    segments are checked, plus every flag naming a segment in `removed_segments` (keys the change took away).
    `base` is the document before the change: problems a changed flag already had there are not held against
    the write."""
    checker = Checker(0, version)
    # the changed flags' places, found without a walk over every flag when the document has an index
    found = [place_of(doc, "flags", key) for key in changed_flags]
    changed_at = sorted(n for n in found if n is not None)
    if WALK in found:
        changed_at = [i for i, flag in enumerate(doc.flags) if flag.key in changed_flags]
    for i in changed_at:
        data = flag_to_data(doc.flags[i], version)
        beyond = _beyond_limits(data, ("flags", i))
        checker.findings.extend(beyond) if beyond else checker.flag(data, ("flags", i))
    for i, segment in enumerate(doc.segments):
        if segment.key in changed_segments:
            data = segment_to_data(segment, version)
            beyond = _beyond_limits(data, ("segments", i))
            checker.findings.extend(beyond) if beyond else checker.segment(data, ("segments", i))
    problems = [Problem(filename, 0, path_text(f.path), f.message) for f in checker.findings
                if f.severity == "error"]
    segment_keys = {s.key for s in doc.segments}
    removed = removed_segments - segment_keys
    flag_dups = _duplicates([doc.flags[i].key for i in changed_at])  # a changed key said twice is at two places
    for i, flag in (enumerate(doc.flags) if removed else ((i, doc.flags[i]) for i in changed_at)):
        changed = flag.key in changed_flags
        if flag.key in flag_dups:
            problems.append(Problem(filename, 0, f"flags[{i}].key", f"duplicate flag key {flag.key!r}"))
        if changed or (removed and _names_any(flag, removed)):
            problems.extend(_flag_references(flag, i, segment_keys, filename))
        if changed:
            before = value_of(base, Kind.FLAG, flag.key)
            known = {p.message for p in _strict(before, 0, filename)} if isinstance(before, Flag) else set()
            problems.extend(p for p in _strict(flag, i, filename) if p.message not in known)
    segment_dups = _duplicates([s.key for s in doc.segments]) & changed_segments
    for i, segment in enumerate(doc.segments):
        if segment.key in segment_dups:
            problems.append(Problem(filename, 0, f"segments[{i}].key", f"duplicate segment key {segment.key!r}"))
    return problems


def _beyond_limits(data: dict[str, Any], path: tuple[str | int, ...]) -> list[Finding]:
    """The file limits (gitstore.format.limits) for one resource, at its depth inside the document (2: under `flags:`)."""
    found = check_data([{"_": [data]}])
    return [Finding(0, path + where[2:], message) for _, where, message in found]


def _duplicates(keys: list[str]) -> set[str]:
    if len(set(keys)) == len(keys):
        return set()
    seen: set[str] = set()
    repeated: set[str] = set()
    for key in keys:
        (repeated if key in seen else seen).add(key)
    return repeated


def _names_any(flag: Flag, keys: AbstractSet[str]) -> bool:
    return not keys.isdisjoint(flag.segment_keys())


def _flag_references(flag: Flag, i: int, segment_keys: set[str], file: str) -> list[Problem]:
    problems = []
    path = f"flags[{i}]"
    for r, rule in enumerate(flag.rules):
        for key in rule.segment.keys:
            if key not in segment_keys:
                problems.append(Problem(file, 0, f"{path}.rules[{r}].segment",
                                        f"rule references unknown segment {key!r}"))
    for r, rollout in enumerate(flag.rollouts):
        for key in rollout.segment.keys if rollout.segment else ():
            if key not in segment_keys:
                problems.append(Problem(file, 0, f"{path}.rollouts[{r}].segment",
                                        f"rollout references unknown segment {key!r}"))
    return problems


def _strict(flag: Flag, i: int, file: str) -> list[Problem]:
    """Read-time warnings that a write must not introduce (a flag that already had them may still be edited)."""
    problems = []
    path = f"flags[{i}]"
    variants: set[str] = set()
    for v, variant in enumerate(flag.variants):
        if variant.key in variants:
            problems.append(Problem(file, 0, f"{path}.variants[{v}].key", f"duplicate variant key {variant.key!r}"))
        variants.add(variant.key)
    for r, rule in enumerate(flag.rules):
        for d, dist in enumerate(rule.distributions):
            if dist.variant not in variants:
                problems.append(Problem(file, 0, f"{path}.rules[{r}].distributions[{d}].variant",
                                        f"unknown variant {dist.variant!r}"))
    return problems


def changed_keys(changes: list[Change], kind: Kind) -> set[str]:
    """Keys of the resources of one kind that a change list creates or replaces (new keys included)."""
    keys = set()
    for change in changes:
        if change.kind is kind and isinstance(change.value, Flag | Segment):
            keys.add(change.value.key)
    return keys
