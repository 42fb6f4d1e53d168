"""Building `Document`s for engine tests from compact data in the file's own shape (no YAML needed)."""

from __future__ import annotations

import json
from typing import Any

from evaluator.engine import CompiledNamespace, compile_namespace
from gitstore.model.documents import Document


def _refs(value: Any) -> dict[str, Any]:
    """A rule's `segment:` (a key, or {keys, operator}) as the model's SegmentRef."""
    return {"keys": [value]} if isinstance(value, str) else dict(value)


def _constraint(c: dict[str, Any]) -> dict[str, Any]:
    c = dict(c)
    if not c["type"].endswith("_COMPARISON_TYPE"):
        c["type"] = c["type"].upper() + "_COMPARISON_TYPE"
    if isinstance(c.get("value"), list):
        c["value"] = json.dumps(c["value"], separators=(",", ":"))
    return c


def make_doc(
    flags: list[dict[str, Any]], segments: list[dict[str, Any]] | None = None, namespace: str = "default"
) -> Document:
    data_flags = []
    for f in flags:
        f = {"name": f["key"], **f}
        if "rules" in f:
            f["rules"] = [{**r, "segment": _refs(r["segment"])} for r in f["rules"]]
        if "rollouts" in f:
            f["type"] = "BOOLEAN_FLAG_TYPE"
            rollouts = []
            for r in f["rollouts"]:
                if "segment" in r:
                    seg = dict(r["segment"])
                    if "key" in seg:
                        seg["keys"] = [seg.pop("key")]
                    r = {**r, "segment": seg}
                rollouts.append(r)
            f["rollouts"] = rollouts
        data_flags.append(f)
    data_segments = [
        {
            "name": s["key"],
            "match_type": "ALL_MATCH_TYPE",
            **s,
            "constraints": [_constraint(c) for c in s.get("constraints", [])],
        }
        for s in segments or []
    ]
    return Document.model_validate({"namespace": {"key": namespace}, "flags": data_flags, "segments": data_segments})


def compiled(flags: list[dict[str, Any]], segments: list[dict[str, Any]] | None = None, namespace: str = "default") -> CompiledNamespace:
    return compile_namespace(make_doc(flags, segments, namespace), f"{namespace}/features.yaml")


def variants(*keys: str) -> list[dict[str, Any]]:
    return [{"key": k} for k in keys]


def split(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"variant": v, "rollout": r} for v, r in pairs]
