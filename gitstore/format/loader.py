"""Loading a namespace file into a `Document` (fast path: yaml-rs/orjson, validation on plain data, line numbers
found only when there is a problem) and writing documents back in Flipt's canonical form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from gitstore.errors import Problem
from gitstore.format.limits import check_data, size_problem
from gitstore.format.lines import attach_lines
from gitstore.format.serialize import document_to_data, flag_to_data, segment_to_data
from gitstore.format.validation import check_documents, document_version, namespace_claims, namespace_key
from gitstore.format.validation_rules import Finding, compact_json_list, normalise_value, operator_text
from gitstore.format.yamlemit import emit_document
from gitstore.format.yamlio import ParseError, decode_text, parse_documents
from gitstore.gcpause import gc_paused
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

__all__ = [
    "LoadResult", "build_flag", "build_segment", "document_to_data", "dump_document", "dump_json", "flag_to_data",
    "load_document", "result_from_data", "segment_to_data",
]


@dataclass(frozen=True)
class LoadResult:
    """`document`: the file's namespace (None when any error exists); `documents`: every namespace the file holds
    (a YAML stream may hold several); `problems`: errors and warnings, each with file, line and path."""

    document: Document | None
    problems: list[Problem]
    documents: dict[str, Document] = field(default_factory=dict)
    # Namespaces the file declares, valid or not (document `namespace:`, missing = "default"), each with the index
    # of its first document; None when the file cannot be read or parsed at all.
    claims: dict[str, int] | None = None
    data: list[Any] | None = None  # the file's checked plain documents when it is valid (what a parse cache keeps)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


def load_document(data: bytes | str, filename: str, namespace: str | None = None, extended: bool = False
                  ) -> LoadResult:
    """Parse, validate and build the namespace document of one feature file. `namespace` picks which namespace of
    a multi-namespace stream is `document` (default: the one named like the file's directory, else the first).
    `extended` adds Flipt's optional extended rules (every flag needs a description)."""
    with gc_paused():
        return _load(data, filename, namespace, extended)


def _load(data: bytes | str, filename: str, namespace: str | None, extended: bool) -> LoadResult:
    try:
        return _load_checked(data, filename, namespace, extended)
    except Exception as exc:  # noqa: BLE001 - a file must never take more than its own namespace down
        return LoadResult(None, [Problem(filename, 1, "", f"cannot load the file: {type(exc).__name__}: "
                                         f"{str(exc)[:200]}")])


def _load_checked(data: bytes | str, filename: str, namespace: str | None, extended: bool) -> LoadResult:
    too_big = size_problem(len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass")))
    if too_big:
        return LoadResult(None, [Problem(filename, 1, "", too_big)])
    try:
        text = data if isinstance(data, str) else decode_text(data)
        docs = parse_documents(text, filename)
    except ParseError as exc:
        return LoadResult(None, [Problem(filename, exc.line, "", exc.message)])
    beyond = check_data(docs)
    if beyond:
        return LoadResult(None, attach_lines(text, filename, [Finding(*item) for item in beyond]))
    claims = namespace_claims(docs)
    groups = _groups(docs)
    findings = check_documents(docs, extended)
    directory = _namespace_directory(filename)
    chosen = _chosen(groups, directory, namespace)
    if directory and chosen != directory and not namespace:
        index = next((i for i, d in enumerate(docs) if isinstance(d, dict) and namespace_key(d) == chosen), 0)
        findings.append(Finding(index, ("namespace",), f"the file is in directory {directory!r} but holds "
                                f"namespace {chosen!r} (a document without 'namespace:' is 'default'); it is served "
                                f"and edited as {chosen!r}", "warning"))
    problems = attach_lines(text, filename, findings) if findings else []
    if any(p.severity == "error" for p in problems):
        return LoadResult(None, problems, claims=claims)
    return result_from_data(docs, filename, problems, claims, namespace)


def result_from_data(docs: list[Any], filename: str, problems: list[Problem], claims: dict[str, int],
                     namespace: str | None = None) -> LoadResult:
    """The result of a valid file from its checked plain data and its warnings, as `load_document` returns it
    (a parse cache hit builds the documents without parsing or checking the file again)."""
    groups = _groups(docs)
    documents = {key: build_document(parts) for key, parts in groups.items()}
    chosen = _chosen(groups, _namespace_directory(filename), namespace)
    document = documents.get(chosen)
    if document is None:
        document = Document(namespace=NamespaceInfo(key=chosen))
    return LoadResult(document, problems, documents, claims, docs)


def _groups(docs: list[Any]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        if isinstance(doc, dict):
            groups.setdefault(namespace_key(doc), []).append(doc)
    return groups


def _chosen(groups: dict[str, list[dict[str, Any]]], directory: str, namespace: str | None) -> str:
    chosen = namespace or (directory if directory in groups or not groups else next(iter(groups)))
    return chosen or "default"


def _namespace_directory(filename: str) -> str:
    path = PurePosixPath(filename.replace("\\", "/"))
    return path.parent.name if path.stem == "features" else ""


# -- building models from validated plain data -----------------------------------------------------------------------
_set = object.__setattr__


M = TypeVar("M", bound=BaseModel)


def _make(cls: type[M], **values: Any) -> M:
    """A model instance from already-validated values (every field given): pydantic's `model_construct` costs
    7 µs an object, which is most of a 10,000-flag load; this costs well under one."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def build_document(parts: list[dict[str, Any]]) -> Document:
    first = parts[0]
    ns = first.get("namespace")
    if isinstance(ns, dict):
        info = _make(NamespaceInfo, key=ns.get("key") or "default", name=ns.get("name"),
                     description=ns.get("description"))
    else:
        info = _make(NamespaceInfo, key=ns or "default", name=None, description=None)
    flags: list[Flag] = []
    segments: list[Segment] = []
    for doc in parts:
        flags.extend(build_flag(f) for f in doc.get("flags") or ())
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


def _rule(r: dict[str, Any]) -> Rule:
    keys, operator = _segment_ref(r["segment"])
    dists = tuple(_make(Distribution, variant=x["variant"], rollout=float(x["rollout"]))
                  for x in r.get("distributions") or ())
    return _make(Rule, segment=_make(SegmentRef, keys=keys, operator=operator), distributions=dists)


def _rollout(r: dict[str, Any]) -> Rollout:
    segment = threshold = None
    if r.get("segment") is not None:
        keys, operator = _segment_ref(r["segment"])
        segment = _make(RolloutSegment, keys=keys, operator=operator, value=bool(r["segment"].get("value", False)))
    if r.get("threshold") is not None:
        t = r["threshold"]
        threshold = _make(RolloutThreshold, percentage=float(t["percentage"]), value=bool(t.get("value", False)))
    return _make(Rollout, description=r.get("description"), segment=segment, threshold=threshold)


def build_flag(d: dict[str, Any]) -> Flag:
    """A `Flag` from validated plain data."""
    return _make(
        Flag, key=d["key"], name=d["name"], type=_FLAG_TYPES[d.get("type") or FlagType.VARIANT.value],
        description=d.get("description"), enabled=bool(d.get("enabled", False)), metadata=d.get("metadata") or None,
        variants=tuple(_variant(v) for v in d.get("variants") or ()),
        rules=tuple(_rule(r) for r in d.get("rules") or ()),
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

