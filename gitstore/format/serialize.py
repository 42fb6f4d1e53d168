"""Documents as plain data in Flipt's field order (the shape its YAML encoder writes), for the YAML emitter and for
JSON export. Defaults are omitted as Flipt omits them, except `enabled`, which every flag carries."""

from __future__ import annotations

import json
from typing import Any

from gitstore.model.documents import (
    LATEST_VERSION,
    LIST_OPERATORS,
    Constraint,
    Document,
    Flag,
    FlagType,
    NamespaceInfo,
    Rollout,
    Segment,
    SegmentOperator,
)


def document_to_data(doc: Document, version: str = LATEST_VERSION) -> dict[str, Any]:
    data: dict[str, Any] = {"version": version, "namespace": namespace_to_data(doc.namespace)}
    if doc.flags:
        data["flags"] = [flag_to_data(f, version) for f in doc.flags]
    if doc.segments:
        data["segments"] = [segment_to_data(s, version) for s in doc.segments]
    return data


def namespace_to_data(info: NamespaceInfo) -> str | dict[str, Any]:
    if info.name is None and info.description is None:
        return info.key
    data: dict[str, Any] = {"key": info.key}
    if info.name is not None:
        data["name"] = info.name
    if info.description is not None:
        data["description"] = info.description
    return data


def _segment_ref(keys: tuple[str, ...], operator: SegmentOperator) -> str | dict[str, Any]:
    if len(keys) == 1 and operator is SegmentOperator.OR:
        return keys[0]
    return {"keys": list(keys), "operator": operator.value}


def flag_to_data(flag: Flag, version: str = LATEST_VERSION) -> dict[str, Any]:
    """A flag in Flipt's field order; `type` is left out of a variant flag for version 1.0 files, which have none."""
    data: dict[str, Any] = {"key": flag.key, "name": flag.name}
    if version >= "1.1" or flag.type is not FlagType.VARIANT:
        data["type"] = flag.type.value
    if flag.description is not None:
        data["description"] = flag.description
    data["enabled"] = flag.enabled
    if flag.metadata:
        data["metadata"] = dict(flag.metadata)
    if flag.variants:
        variants = []
        for v in flag.variants:
            item: dict[str, Any] = {"key": v.key}
            if v.name is not None:
                item["name"] = v.name
            if v.description is not None:
                item["description"] = v.description
            if v.default:
                item["default"] = True
            if v.attachment is not None:
                item["attachment"] = v.attachment
            variants.append(item)
        data["variants"] = variants
    if flag.rules:
        data["rules"] = [
            {"segment": _segment_ref(r.segment.keys, r.segment.operator),
             **({"distributions": [{"variant": d.variant, "rollout": d.rollout} for d in r.distributions]}
                if r.distributions else {})}
            for r in flag.rules
        ]
    if flag.rollouts:
        data["rollouts"] = [_rollout(r) for r in flag.rollouts]
    return data


def _rollout(rollout: Rollout) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if rollout.description is not None:
        data["description"] = rollout.description
    if rollout.segment is not None:
        s = rollout.segment
        if len(s.keys) == 1 and s.operator is SegmentOperator.OR:
            data["segment"] = {"key": s.keys[0], "value": s.value}
        else:
            data["segment"] = {"keys": list(s.keys), "operator": s.operator.value, "value": s.value}
    if rollout.threshold is not None:
        data["threshold"] = {"percentage": rollout.threshold.percentage, "value": rollout.threshold.value}
    return data


def segment_to_data(segment: Segment, version: str = LATEST_VERSION) -> dict[str, Any]:
    """Flipt's segment order: key, name, description, constraints, match_type."""
    data: dict[str, Any] = {"key": segment.key, "name": segment.name}
    if segment.description is not None:
        data["description"] = segment.description
    if segment.constraints:
        data["constraints"] = [_constraint(c, version) for c in segment.constraints]
    data["match_type"] = segment.match_type.value
    return data


def _constraint(c: Constraint, version: str) -> dict[str, Any]:
    data: dict[str, Any] = {"type": c.type.value, "property": c.property, "operator": c.operator}
    if c.operator in LIST_OPERATORS and version >= "1.6":
        try:
            parsed = json.loads(c.value)
        except ValueError:
            parsed = None
        data["value"] = parsed if isinstance(parsed, list) else c.value
    elif c.value:
        data["value"] = c.value
    if c.description is not None:
        data["description"] = c.description
    return data
