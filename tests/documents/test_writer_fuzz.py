"""Seeded random files in several hand-written styles, random changes: the result always reads back as the
intended document, and every comment of an untouched flag survives."""

from __future__ import annotations

import random

import pytest

from gitstore.edit.checks import written_document
from gitstore.edit.writer import edit_file
from gitstore.format.loader import load_document
from gitstore.format.models import document_to_data
from gitstore.format.yamlemit import Style, item_lines
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import (
    ComparisonType,
    Constraint,
    Distribution,
    Flag,
    FlagType,
    Rollout,
    RolloutThreshold,
    Rule,
    SegmentRef,
    Variant,
)

STYLES = [Style(2, 2), Style(2, 0), Style(4, 4), Style(4, 2)]


def _flag(rng: random.Random, key: str) -> Flag:
    if rng.random() < 0.3:
        return Flag(key=key, name=f"Flag {key}", type=FlagType.BOOLEAN, enabled=rng.random() < 0.5,
                    rollouts=(Rollout(threshold=RolloutThreshold(percentage=rng.choice([5, 50.5]), value=True)),))
    variants = tuple(Variant(key=k, name=rng.choice([None, k.upper()]), attachment=rng.choice([None, {"n": 1}]))
                     for k in rng.sample(["on", "off", "a", "b"], rng.randint(1, 3)))
    rules = tuple(Rule(segment=SegmentRef(keys=("seg",)),
                       distributions=tuple(Distribution(variant=v.key, rollout=rng.choice([10, 90]))
                                           for v in variants[: rng.randint(0, len(variants))]))
                  for _ in range(rng.randint(0, 2)))
    return Flag(key=key, name=f"Flag {key}", description=rng.choice([None, "text", "two\nlines\n"]),
                enabled=rng.random() < 0.5, metadata=rng.choice([None, {"team": "x", "n": 3}]),
                variants=variants, rules=rules)


def _file(rng: random.Random, flags: list[Flag], style: Style) -> str:
    out = ["# top comment", 'version: "1.6"', "namespace: fz", "flags:"]
    for flag in flags:
        lines = item_lines(document_to_data_flag(flag), style.seq_indent, style)
        if rng.random() < 0.5:
            out.append(f"# above {flag.key}")
        body = []
        for n, line in enumerate(lines):
            body.append(line)
            if n and rng.random() < 0.15 and not line.rstrip().endswith("|") and not line.rstrip().endswith("|-"):
                body.append(f"{' ' * (style.seq_indent + 2)}# in {flag.key}")
        out.extend(_drop_comments_inside_literals(body))
        if rng.random() < 0.3:
            out.append("")
    out.append("segments:")
    out.extend(item_lines({"key": "seg", "name": "Seg", "match_type": "ALL_MATCH_TYPE"}, style.seq_indent, style))
    return "\n".join(out) + "\n"


def _drop_comments_inside_literals(lines: list[str]) -> list[str]:
    """A comment line inside a `|` block would end or join the string; keep them out of those."""
    out, header = [], None
    for line in lines:
        stripped = line.lstrip(" ")
        current = len(line) - len(stripped)
        if header is not None:
            if stripped.startswith("# in "):
                continue
            if stripped and current <= header:
                header = None
        if line.rstrip().endswith(("|", "|-")):
            header = current
        out.append(line)
    return out


def document_to_data_flag(flag: Flag) -> dict:
    from gitstore.model.documents import Document

    return document_to_data(Document(flags=(flag,)))["flags"][0]


@pytest.mark.parametrize("seed", [*range(40), 921])
def test_random_edits(seed: int) -> None:
    rng = random.Random(seed)
    style = rng.choice(STYLES)
    flags = [_flag(rng, f"f{i}") for i in range(rng.randint(2, 7))]
    text = _file(rng, flags, style)
    loaded = load_document(text, "fz/features.yaml")
    assert loaded.errors == [], (text, loaded.errors)
    base = loaded.document
    changes, touched = [], set()
    for _ in range(rng.randint(1, 3)):
        action = rng.random()
        target = rng.choice(base.flags).key
        if target in touched:
            continue
        touched.add(target)
        if action < 0.4:
            current = base.flag(target)
            changes.append(Change("fz", Kind.FLAG, target, current.model_copy(update={"enabled": not current.enabled})))
        elif action < 0.7:
            changes.append(Change("fz", Kind.FLAG, target, _flag(rng, target)))
        elif action < 0.85:
            changes.append(Change("fz", Kind.FLAG, target, None))
        else:
            key = f"new{seed}"
            touched.add(key)
            changes.append(Change("fz", Kind.FLAG, key, _flag(rng, key)))
    if rng.random() < 0.3:
        operator, value = rng.choice([("gt", "18"), ("isoneof", "[1,2]"), ("isnotoneof", "[3]")])
        constraint = Constraint(type=ComparisonType.NUMBER, property="age", operator=operator, value=value)
        segment = base.segment("seg").model_copy(update={"name": "Renamed", "constraints": (constraint,)})
        changes.append(Change("fz", Kind.SEGMENT, "seg", segment))
    result = edit_file(text, "fz/features.yaml", changes, base=base if rng.random() < 0.5 else None)
    expected = written_document(base, changes)
    again = load_document(result.text, "fz/features.yaml")
    assert again.errors == []
    assert again.document == expected == result.document, result.text
    if not result.rewritten:
        assert "# top comment" in result.text
        for flag in base.flags:
            if flag.key not in touched:
                for line in text.splitlines():
                    if line.strip() in (f"# in {flag.key}", f"# above {flag.key}"):
                        assert line in result.text, (line, result.text)
