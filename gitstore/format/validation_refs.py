"""Cross-references inside one namespace (which may be spread over several documents of a stream): duplicate
keys, rules and rollouts naming unknown segments, distributions naming unknown variants. Defensive about shapes:
the schema checks have already reported anything malformed."""

from __future__ import annotations

from typing import Any

from gitstore.format.validation_fast import clean_references
from gitstore.format.validation_rules import Finding, Path, path_text

FAST_PATH = True  # ordinary flags through `validation_fast.clean_references` (the same findings)


def _items(doc: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = doc.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _segment_refs(holder: dict[str, Any], path: Path) -> list[tuple[Path, str]]:
    """(path, key) of every segment a rule or rollout names."""
    segment = holder.get("segment")
    if isinstance(segment, str):
        return [(path + ("segment",), segment)]
    if not isinstance(segment, dict):
        return []
    refs = []
    if isinstance(segment.get("key"), str):
        refs.append((path + ("segment", "key"), segment["key"]))
    keys = segment.get("keys")
    if isinstance(keys, list):
        refs.extend((path + ("segment", "keys", i), k) for i, k in enumerate(keys) if isinstance(k, str))
    return refs


def check_references(parts: list[tuple[int, dict[str, Any]]]) -> list[Finding]:
    findings: list[Finding] = []
    segments: dict[str, tuple[int, Path]] = {}
    for doc_index, doc in parts:
        for i, segment in _items(doc, "segments"):
            key = segment.get("key")
            if not isinstance(key, str):
                continue
            if key in segments:
                first = segments[key]
                findings.append(Finding(doc_index, ("segments", i, "key"),
                                        f"duplicate segment key {key!r} (first at {path_text(first[1])})"))
            else:
                segments[key] = (doc_index, ("segments", i))
    flags: dict[str, Path] = {}
    clean = clean_references if FAST_PATH else None
    for doc_index, doc in parts:
        for i, flag in _items(doc, "flags"):
            path: Path = ("flags", i)
            key = flag.get("key")
            if isinstance(key, str):
                if key in flags:
                    findings.append(Finding(doc_index, path + ("key",),
                                            f"duplicate flag key {key!r} (first at {path_text(flags[key])})"))
                else:
                    flags[key] = path
            if clean is None or not clean(flag, segments):
                findings.extend(_check_flag(doc_index, flag, path, segments))
    return findings


def _check_flag(doc_index: int, flag: dict[str, Any], path: Path, segments: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    variants: dict[str, int] = {}
    for i, variant in _items(flag, "variants"):
        key = variant.get("key")
        if not isinstance(key, str):
            continue
        if key in variants:
            findings.append(Finding(doc_index, path + ("variants", i, "key"),
                                    f"duplicate variant key {key!r} (first at variants[{variants[key]}]); "
                                    "the last one wins", "warning"))
        else:
            variants[key] = i
    for r, rule in _items(flag, "rules"):
        rpath = path + ("rules", r)
        for ref_path, key in _segment_refs(rule, rpath):
            if key not in segments:
                findings.append(Finding(doc_index, ref_path, f"rule references unknown segment {key!r}"))
        for d, dist in _items(rule, "distributions"):
            named = dist.get("variant")
            if isinstance(named, str) and named and named not in variants:
                findings.append(Finding(doc_index, rpath + ("distributions", d, "variant"),
                                        f"distribution names unknown variant {named!r}: the flag has no such "
                                        "variant, the distribution is skipped when serving", "warning"))
    for r, rollout in _items(flag, "rollouts"):
        for ref_path, key in _segment_refs(rollout, path + ("rollouts", r)):
            if key not in segments:
                findings.append(Finding(doc_index, ref_path, f"rollout references unknown segment {key!r}"))
    return findings
