"""Validation of plain document data: every rule of Flipt's CUE schema (closed objects, key pattern, non-empty
fields, version gates, enums, tagged constraint unions, bounds) and the cross-references Flipt checks when it
builds a snapshot. Works on the parser's plain data, reports every finding at once with its path; the loader turns
paths into line numbers only when there is something to report.

Errors make a document unusable. Warnings are things Flipt itself accepts (its valid fixtures have them) that are
still worth a look: several default variants, duplicate variant keys, a distribution naming an unknown variant
(Flipt's schema passes it and the distribution is ignored), values Flipt cannot prepare (the segment is dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gitstore.format.validation_fast import FlagShapes
from gitstore.format.validation_refs import check_references
from gitstore.format.validation_rules import (
    KEY_RULE,
    Finding,
    Path,
    check_constraint,
    describe,
    is_key,
    path_text,
    percentage_problem,
)
from gitstore.model.lifecycle import lifecycle_problems
from gitstore.model.vocabulary import VERSIONS, FlagType, MatchType, SegmentOperator

__all__ = ["Finding", "Path", "check_documents", "path_text", "validate_tree"]
_FLAG_TYPES = tuple(t.value for t in FlagType)
_SEGMENT_OPERATORS = tuple(o.value for o in SegmentOperator)
_MATCH_TYPES = tuple(m.value for m in MatchType)

# field -> first version that allows it (None: every version)
DOCUMENT_FIELDS: dict[str, str | None] = {"version": None, "namespace": None, "flags": None, "segments": None}
NAMESPACE_FIELDS: dict[str, str | None] = {"key": None, "name": None, "description": None}
FLAG_FIELDS: dict[str, str | None] = {
    "key": None, "name": None, "type": "1.1", "description": None, "enabled": None, "metadata": "1.3",
    "variants": None, "rules": None, "rollouts": None,
}
VARIANT_FIELDS: dict[str, str | None] = {
    "key": None, "name": None, "description": None, "default": "1.3", "attachment": None,
}
RULE_FIELDS: dict[str, str | None] = {"segment": None, "rank": None, "distributions": None}
RULE_SEGMENT_FIELDS: dict[str, str | None] = {"keys": None, "operator": None}
DISTRIBUTION_FIELDS: dict[str, str | None] = {"variant": None, "rollout": None}
ROLLOUT_FIELDS: dict[str, str | None] = {"description": None, "segment": None, "threshold": None}
ROLLOUT_SEGMENT_FIELDS: dict[str, str | None] = {"key": None, "keys": None, "operator": None, "value": None}
THRESHOLD_FIELDS: dict[str, str | None] = {"percentage": None, "value": None}
SEGMENT_FIELDS: dict[str, str | None] = {
    "key": None, "name": None, "description": None, "match_type": None, "constraints": None,
}
CONSTRAINT_FIELDS: dict[str, str | None] = {
    "type": None, "property": None, "operator": None, "value": None, "description": None,
}
_SHAPES = FlagShapes(VERSIONS, FLAG_FIELDS, VARIANT_FIELDS, RULE_FIELDS, DISTRIBUTION_FIELDS, _FLAG_TYPES)
FAST_PATH = True  # ordinary flags through `validation_fast` (the same findings; off to compare in tests)


def document_version(doc: Any) -> str:
    version = doc.get("version") if isinstance(doc, dict) else None
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = f"{float(version):.1f}"
    return version if isinstance(version, str) and version in VERSIONS else VERSIONS[-1]


def namespace_key(doc: Any) -> str:
    ns = doc.get("namespace") if isinstance(doc, dict) else None
    if isinstance(ns, dict):
        ns = ns.get("key", "default")
    return ns if isinstance(ns, str) and ns else "default"


def namespace_claims(docs: list[Any]) -> dict[str, int]:
    """The namespaces a file's documents declare (missing `namespace:` = `default`), each with its first document:
    the basis of which file holds a namespace (`gitstore.git.snapshot`)."""
    claims: dict[str, int] = {}
    for index, doc in enumerate(docs):
        if isinstance(doc, dict):
            claims.setdefault(namespace_key(doc), index)
    return claims


@dataclass
class Checker:
    doc: int
    version: str = VERSIONS[-1]
    findings: list[Finding] = field(default_factory=list)
    extended: bool = False  # Flipt's optional extended rules (`flipt validate -e`): flags need a description

    def error(self, path: Path, message: str) -> None:
        self.findings.append(Finding(self.doc, path, message))

    def warn(self, path: Path, message: str) -> None:
        self.findings.append(Finding(self.doc, path, message, "warning"))

    def emit(self, path: Path, message: str, severity: str) -> None:
        self.findings.append(Finding(self.doc, path, message, severity))

    # -- shapes ------------------------------------------------------------------------------------------------
    def obj(self, value: Any, path: Path, fields: dict[str, str | None], required: tuple[str, ...] = ()
            ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping, not {describe(value)}")
            return None
        for key in value:
            if key not in fields:
                self.error(path + (str(key),), f"unknown field {key!r} (allowed: {', '.join(fields)})")
                continue
            since = fields[key]
            if since and self.version < since:
                self.error(path + (key,), f"{key!r} needs version {since} or later (document is {self.version})")
        for key in required:
            if key not in value:
                self.error(path, f"missing required field {key!r}")
        return value

    def seq(self, data: dict[str, Any], key: str, path: Path) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path + (key,), f"must be a list, not {describe(value)}")
            return []
        return value

    def text(self, data: dict[str, Any], key: str, path: Path, nonempty: bool = False, nullable: bool = False
             ) -> None:
        if key not in data:
            return
        value = data[key]
        if value is None and nullable:
            return
        if not isinstance(value, str):
            self.error(path + (key,), f"must be a string, not {describe(value)}")
        elif nonempty and not value:
            self.error(path + (key,), "must not be empty")

    def key(self, data: dict[str, Any], key: str, path: Path) -> None:
        if key in data:
            self.key_value(data[key], path + (key,))

    def key_value(self, value: Any, path: Path) -> None:
        if not isinstance(value, str):
            self.error(path, f"must be a key string, not {describe(value)}")
        elif not is_key(value):
            self.error(path, f"{value!r} is not a valid key (a key is {KEY_RULE})")

    def boolean(self, data: dict[str, Any], key: str, path: Path) -> None:
        if key in data and not isinstance(data[key], bool):
            self.error(path + (key,), f"must be true or false, not {describe(data[key])}")

    def enum(self, data: dict[str, Any], key: str, path: Path, allowed: tuple[str, ...]) -> None:
        if key in data and data[key] not in allowed:
            self.error(path + (key,), f"must be one of {', '.join(allowed)}, not {data[key]!r}")

    # -- the document --------------------------------------------------------------------------------------------
    def document(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            self.error((), f"a feature document must be a mapping, not {describe(doc)}")
            return
        version = doc.get("version")
        if isinstance(version, int | float) and not isinstance(version, bool) and f"{float(version):.1f}" in VERSIONS:
            self.warn(("version",), f"version should be a quoted string (\"{float(version):.1f}\")")
        elif "version" in doc and version not in VERSIONS:
            self.error(("version",), f"unsupported version {version!r} (expected one of {', '.join(VERSIONS)})")
        self.version = document_version(doc)
        self.obj(doc, (), DOCUMENT_FIELDS)
        self.namespace(doc)
        clean = _SHAPES.clean if FAST_PATH else None
        for i, flag in enumerate(self.seq(doc, "flags", ())):
            if clean is None or not clean(flag, self.version, self.extended):
                self.flag(flag, ("flags", i))
        for i, segment in enumerate(self.seq(doc, "segments", ())):
            self.segment(segment, ("segments", i))

    def namespace(self, doc: dict[str, Any]) -> None:
        if "namespace" not in doc:
            return
        ns = doc["namespace"]
        if isinstance(ns, dict):
            self.obj(ns, ("namespace",), NAMESPACE_FIELDS)
            self.key(ns, "key", ("namespace",))
            self.text(ns, "name", ("namespace",), nonempty=True)
            self.text(ns, "description", ("namespace",), nullable=True)
        else:
            self.key_value(ns, ("namespace",))

    def flag(self, flag: Any, path: Path) -> None:
        if self.obj(flag, path, FLAG_FIELDS, ("key", "name")) is None:
            return
        self.key(flag, "key", path)
        self.text(flag, "name", path, nonempty=True)
        self.enum(flag, "type", path, _FLAG_TYPES)
        self.text(flag, "description", path, nullable=True)
        if self.extended and not flag.get("description"):
            self.error(path + ("description",), "a flag needs a non-empty description (extended rules)")
        self.boolean(flag, "enabled", path)
        metadata = flag.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict):
                self.error(path + ("metadata",), f"must be a mapping, not {describe(metadata)}")
            else:
                for key, value in metadata.items():
                    if value is None:
                        self.error(path + ("metadata", str(key)), "metadata values must not be null")
                self.json_value(metadata, path + ("metadata",))
                # Flagdeck's lifecycle fields: warnings, as Flipt accepts any metadata and a Flipt repository
                # whose `lifecycle:` means something else must still be served (the console's editor refuses them)
                for name, message in lifecycle_problems(metadata):
                    self.warn(path + ("metadata", name), message)
        defaults = []
        for i, variant in enumerate(self.seq(flag, "variants", path)):
            vpath = path + ("variants", i)
            if self.obj(variant, vpath, VARIANT_FIELDS, ("key",)) is None:
                continue
            self.text(variant, "key", vpath, nonempty=True)
            self.text(variant, "name", vpath, nonempty=True)
            self.text(variant, "description", vpath, nullable=True)
            self.boolean(variant, "default", vpath)
            if variant.get("default") is True:
                defaults.append(i)
            attachment = variant.get("attachment")
            if attachment is not None and not isinstance(attachment, dict | list):
                self.error(vpath + ("attachment",), f"an attachment must be an object, an array or null, "
                           f"not {describe(attachment)}")
            elif attachment is not None:
                self.json_value(attachment, vpath + ("attachment",))
        if len(defaults) > 1:
            self.warn(path + ("variants", defaults[-1]), f"{len(defaults)} variants are marked default; the last "
                      "one wins")
        for i, rule in enumerate(self.seq(flag, "rules", path)):
            self.rule(rule, path + ("rules", i))
        rollouts = self.seq(flag, "rollouts", path)
        if rollouts and flag.get("type", FlagType.VARIANT.value) != FlagType.BOOLEAN.value:
            self.error(path + ("rollouts",), "rollouts are only allowed on BOOLEAN_FLAG_TYPE flags")
        for i, rollout in enumerate(rollouts):
            self.rollout(rollout, path + ("rollouts", i))

    def rule(self, rule: Any, path: Path) -> None:
        if self.obj(rule, path, RULE_FIELDS, ("segment",)) is None:
            return
        segment = rule.get("segment")
        if isinstance(segment, dict):
            spath = path + ("segment",)
            if self.obj(segment, spath, RULE_SEGMENT_FIELDS, ("keys",)) is not None:
                self.segment_keys(segment, spath)
        elif "segment" in rule:
            self.key_value(segment, path + ("segment",))
        if "rank" in rule and (not isinstance(rule["rank"], int) or isinstance(rule["rank"], bool)):
            self.error(path + ("rank",), f"must be an integer, not {describe(rule['rank'])}")
        for i, dist in enumerate(self.seq(rule, "distributions", path)):
            dpath = path + ("distributions", i)
            if self.obj(dist, dpath, DISTRIBUTION_FIELDS, ("variant", "rollout")) is None:
                continue
            self.text(dist, "variant", dpath, nonempty=True)
            if "rollout" in dist and (problem := percentage_problem(dist["rollout"], "a rollout")):
                self.error(dpath + ("rollout",), problem)

    def segment_keys(self, segment: dict[str, Any], path: Path) -> None:
        self.enum(segment, "operator", path, _SEGMENT_OPERATORS)
        if "key" in segment:
            self.key(segment, "key", path)
        if "keys" in segment:
            keys = segment["keys"]
            if not isinstance(keys, list):
                self.error(path + ("keys",), f"must be a list of segment keys, not {describe(keys)}")
            else:
                for i, key in enumerate(keys):
                    self.key_value(key, path + ("keys", i))

    def rollout(self, rollout: Any, path: Path) -> None:
        if self.obj(rollout, path, ROLLOUT_FIELDS) is None:
            return
        self.text(rollout, "description", path, nullable=True)
        has_segment, has_threshold = "segment" in rollout, "threshold" in rollout
        if has_segment == has_threshold:
            self.error(path, "a rollout needs exactly one of 'segment' or 'threshold'")
        if has_segment:
            spath = path + ("segment",)
            segment = self.obj(rollout["segment"], spath, ROLLOUT_SEGMENT_FIELDS)
            if segment is not None:
                if ("key" in segment) == ("keys" in segment):
                    self.error(spath, "a segment rollout needs exactly one of 'key' or 'keys'")
                self.segment_keys(segment, spath)
                self.boolean(segment, "value", spath)
        if has_threshold:
            tpath = path + ("threshold",)
            threshold = self.obj(rollout["threshold"], tpath, THRESHOLD_FIELDS, ("percentage",))
            if threshold is not None:
                if "percentage" in threshold and (problem := percentage_problem(threshold["percentage"])):
                    self.error(tpath + ("percentage",), problem)
                self.boolean(threshold, "value", tpath)

    def segment(self, segment: Any, path: Path) -> None:
        if self.obj(segment, path, SEGMENT_FIELDS, ("key", "name")) is None:
            return
        self.key(segment, "key", path)
        self.text(segment, "name", path, nonempty=True)
        self.text(segment, "description", path, nullable=True)
        if "match_type" not in segment:
            self.warn(path, "missing 'match_type' (Flipt's schema requires it); ALL_MATCH_TYPE assumed")
        self.enum(segment, "match_type", path, _MATCH_TYPES)
        for i, constraint in enumerate(self.seq(segment, "constraints", path)):
            cpath = path + ("constraints", i)
            if self.obj(constraint, cpath, CONSTRAINT_FIELDS, ("type", "property", "operator")) is None:
                continue
            self.text(constraint, "property", cpath, nonempty=True)
            self.text(constraint, "description", cpath, nullable=True)
            check_constraint(constraint, cpath, self.version, self.emit)

    def json_value(self, value: Any, path: Path) -> None:
        """Metadata and attachments are served as JSON: string keys, finite numbers."""
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    self.error(path, f"key {key!r} must be a string (JSON objects have string keys)")
                self.json_value(item, path + (str(key),))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.json_value(item, path + (i,))
        elif isinstance(value, float) and not math.isfinite(value):
            self.error(path, f"{value} is not a JSON number")


def check_documents(docs: list[Any], extended: bool = False) -> list[Finding]:
    """Schema findings of every document, then cross-references per namespace (several documents of a stream
    may add to one namespace)."""
    findings: list[Finding] = []
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, doc in enumerate(docs):
        checker = Checker(i, extended=extended)
        checker.document(doc)
        findings.extend(checker.findings)
        if isinstance(doc, dict):
            groups.setdefault(namespace_key(doc), []).append((i, doc))
    for parts in groups.values():
        findings.extend(check_references(parts))
    return findings


validate_tree = check_documents
