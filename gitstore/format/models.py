"""Models from checked plain data, and back: `build_document` / `build_flag` / `build_segment` turn what
`gitstore.format.loader` has validated into `gitstore.model.documents` objects without validating again, and
`dump_document` / `dump_json` write documents in Flipt's canonical form. Kept apart from the loader so that reading
and checking a file (`flagdeck validate`, `export --format json`) never imports the pydantic models."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from gitstore.format.serialize import document_to_data, flag_to_data, segment_to_data
from gitstore.format.validation import document_version
from gitstore.format.validation_rules import compact_json_list, normalise_value, operator_text
from gitstore.format.yamlemit import emit_document
from gitstore.model.documents import (
    LIST_OPERATORS,
    ComparisonType,
    Constraint,
    Distribution,
    Document,
    Flag,
    FlagType,
    MatchType,
    NamespaceInfo,
    Rollout,
    RolloutSegment,
    RolloutThreshold,
    Rule,
    Segment,
    SegmentOperator,
    SegmentRef,
    Variant,
)

__all__ = ["build_document", "build_flag", "build_segment", "document_to_data", "dump_document", "dump_json",
           "empty_document", "flag_to_data", "segment_to_data"]


def empty_document(key: str) -> Document:
    """The document of namespace `key` when no file holds it (an empty file)."""
    return Document(namespace=NamespaceInfo(key=key))


# -- building models from validated plain data -----------------------------------------------------------------------
M = TypeVar("M", bound=BaseModel)
# BaseModel's four slots, set through their descriptors (a third faster than object.__setattr__, which a
# 100,000-flag namespace calls 2.8 million times)
_new = object.__new__
_set_dict, _set_fields, _set_extra, _set_private = (BaseModel.__dict__[name].__set__ for name in (
    "__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"))


def _make(cls: type[M], **values: Any) -> M:
    """A model instance from already-validated values (every field given): pydantic's `model_construct` costs
    7 µs an object, which is most of a 10,000-flag load; this costs well under one."""
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def build_document(parts: list[dict[str, Any]], only: Collection[str] | None = None) -> Document:
    """A `Document` from the validated plain documents of one namespace; `only`: just the flags with these keys."""
    first = parts[0]
    ns = first.get("namespace")
    if isinstance(ns, dict):
        info = _make(NamespaceInfo, key=ns.get("key") or "default", name=ns.get("name"),
                     description=ns.get("description"))
    else:
        info = _make(NamespaceInfo, key=ns or "default", name=None, description=None)
    flags: list[Flag] = []
    segments: list[Segment] = []
    shared = _Shared()
    for doc in parts:
        flags.extend(build_flag(f, shared) for f in doc.get("flags") or () if only is None or f["key"] in only)
        segments.extend(build_segment(s) for s in doc.get("segments") or ())
    return _make(Document, version=document_version(first), namespace=info, flags=tuple(flags),
                 segments=tuple(segments))


_FLAG_TYPES = {t.value: t for t in FlagType}
_OPERATORS = {o.value: o for o in SegmentOperator}
_MATCH_TYPES = {m.value: m for m in MatchType}
_COMPARISONS = {c.value: c for c in ComparisonType}


def _segment_ref(value: Any) -> tuple[tuple[str, ...], SegmentOperator]:
    if isinstance(value, str):
        return (value,), SegmentOperator.OR
    keys = value.get("keys")
    keys = tuple(keys) if keys is not None else (value["key"],)
    return keys, _OPERATORS[value.get("operator") or SegmentOperator.OR.value]


def _variant(v: dict[str, Any]) -> Variant:
    return _make(Variant, key=v["key"], name=v.get("name"), description=v.get("description"),
                 default=bool(v.get("default", False)), attachment=v.get("attachment"))


def _rule(r: dict[str, Any], shared: _Shared | None = None) -> Rule:
    if shared is not None:
        return _make(Rule, segment=shared.ref(r["segment"]), distributions=tuple(
            shared.distribution(x["variant"], float(x["rollout"])) for x in r.get("distributions") or ()))
    keys, operator = _segment_ref(r["segment"])
    dists = tuple(_make(Distribution, variant=x["variant"], rollout=float(x["rollout"]))
                  for x in r.get("distributions") or ())
    return _make(Rule, segment=_make(SegmentRef, keys=keys, operator=operator), distributions=dists)


class _Shared:
    """The small models of one document that hold the same values, built once and shared (they are frozen): most
    flags have the same variants ({key: on}, {key: off}), rule targets and splits, so a 100,000-flag namespace
    builds two models a flag instead of seven."""

    __slots__ = ("distributions", "refs", "variants")

    def __init__(self) -> None:
        self.variants: dict[tuple[Any, ...], Variant] = {}
        self.distributions: dict[tuple[str, float], Distribution] = {}
        self.refs: dict[Any, SegmentRef] = {}

    def variant(self, v: dict[str, Any]) -> Variant:
        if v.get("attachment") is not None:  # JSON objects: not hashable, seldom alike
            return _variant(v)
        key = (v["key"], v.get("name"), v.get("description"), bool(v.get("default", False)))
        found = self.variants.get(key)
        if found is None:
            found = self.variants[key] = _make(Variant, key=key[0], name=key[1], description=key[2],
                                               default=key[3], attachment=None)
        return found

    def distribution(self, variant: str, rollout: float) -> Distribution:
        found = self.distributions.get((variant, rollout))
        if found is None:
            found = self.distributions[(variant, rollout)] = _make(Distribution, variant=variant, rollout=rollout)
        return found

    def ref(self, value: Any) -> SegmentRef:
        key = value if isinstance(value, str) else (tuple(value.get("keys") or ()), value.get("key"),
                                                    value.get("operator"))
        found = self.refs.get(key)
        if found is None:
            keys, operator = _segment_ref(value)
            found = self.refs[key] = _make(SegmentRef, keys=keys, operator=operator)
        return found


def _rollout(r: dict[str, Any]) -> Rollout:
    segment = threshold = None
    if r.get("segment") is not None:
        keys, operator = _segment_ref(r["segment"])
        segment = _make(RolloutSegment, keys=keys, operator=operator, value=bool(r["segment"].get("value", False)))
    if r.get("threshold") is not None:
        t = r["threshold"]
        threshold = _make(RolloutThreshold, percentage=float(t["percentage"]), value=bool(t.get("value", False)))
    return _make(Rollout, description=r.get("description"), segment=segment, threshold=threshold)


def build_flag(d: dict[str, Any], shared: _Shared | None = None) -> Flag:
    """A `Flag` from validated plain data (`shared`: the document's shared small models, `build_document`)."""
    variant = shared.variant if shared is not None else _variant
    return _make(
        Flag, key=d["key"], name=d["name"], type=_FLAG_TYPES[d.get("type") or FlagType.VARIANT.value],
        description=d.get("description"), enabled=bool(d.get("enabled", False)), metadata=d.get("metadata") or None,
        variants=tuple(variant(v) for v in d.get("variants") or ()),
        rules=tuple(_rule(r, shared) for r in d.get("rules") or ()),
        rollouts=tuple(_rollout(r) for r in d.get("rollouts") or ()),
    )


def _constraint(c: dict[str, Any]) -> Constraint:
    value = c.get("value")
    text = normalise_value(value)
    operator = operator_text(c["operator"])
    if operator in LIST_OPERATORS and isinstance(value, str):
        text = compact_json_list(value) or value
    return _make(Constraint, type=_COMPARISONS[c["type"]], property=c["property"], operator=operator,
                 value=text, description=c.get("description"))


def build_segment(d: dict[str, Any]) -> Segment:
    """A `Segment` from validated plain data."""
    return _make(Segment, key=d["key"], name=d["name"], description=d.get("description"),
                 match_type=_MATCH_TYPES[d.get("match_type") or MatchType.ALL.value],
                 constraints=tuple(_constraint(c) for c in d.get("constraints") or ()))


# -- writing ---------------------------------------------------------------------------------------------------------
def dump_document(doc: Document) -> str:
    """Canonical YAML: Flipt's key order, `version: "1.6"`, every flag with its `enabled:` line, two-space indent."""
    return emit_document(document_to_data(doc))


def dump_json(doc: Document) -> str:
    """The same document as JSON (for `features.json` files and exports)."""
    return orjson.dumps(document_to_data(doc), option=orjson.OPT_INDENT_2).decode() + "\n"

