"""`compile_namespace`: a validated `Document` into a `CompiledNamespace` (pure, no I/O).

Flipt's snapshot builder drops a segment from every rule and rollout naming it when one of its constraints cannot
be prepared (flipt-compatibility §3.7); so does this compiler, with a warning `Problem` per rule or rollout affected that
names the flag, the segment and the constraint. Segment keys listed twice in one rule count once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from evaluator.engine.buckets import boundaries, f32, to_bytes
from evaluator.engine.constraints import CompiledConstraint, Malformed, compile_constraint
from evaluator.engine.model import (
    CompiledDistribution,
    CompiledFlag,
    CompiledNamespace,
    CompiledRollout,
    CompiledRule,
    CompiledSegment,
)
from gitstore.errors import Problem
from gitstore.gcpause import gc_paused
from gitstore.model.documents import Document, Flag, FlagType, Rule, Segment, SegmentOperator

_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def attachment_text(attachment: Any) -> str:
    """An attachment as Go's `json.Marshal` writes it: compact, sorted keys, HTML characters escaped; "null" if none."""
    if attachment is None:
        return "null"
    text = orjson.dumps(attachment, option=orjson.OPT_SORT_KEYS).decode()
    for raw, escaped in _GO_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


@dataclass(frozen=True, slots=True)
class _Broken:
    """Why a segment cannot be used: the first constraint that failed to prepare."""

    index: int
    description: str


def _compile_segment(segment: Segment, position: int) -> CompiledSegment | _Broken:
    compiled: list[CompiledConstraint] = []
    for i, c in enumerate(segment.constraints):
        try:
            compiled.append(compile_constraint(c))
        except Malformed as exc:
            where = f"segments[{position}].constraints[{i}]"
            shown = f"{c.type.name} {c.property} {c.operator} {c.value!r}"
            return _Broken(i, f"{where} ({shown}) is malformed: {exc}")
    return CompiledSegment(
        key=segment.key,
        match_all=segment.match_type.name == "ALL",
        constraints=tuple(compiled),
        source=segment,
    )


class Compiler:
    """One namespace's compile: its segments compiled once, rules and distributions shared by shape, warnings."""

    def __init__(self, segments: Iterable[Segment], file: str):
        self.file = file
        self.warnings: list[Problem] = []
        self.segments: dict[str, CompiledSegment | _Broken] = {
            s.key: _compile_segment(s, i) for i, s in enumerate(segments)
        }
        self.rules: dict[tuple[Any, ...], CompiledRule] = {}  # rules compiled without a warning, by what they hold
        self.distributions: dict[tuple[str, str, float], CompiledDistribution] = {}

    def resolve(
        self, keys: tuple[str, ...], flag: Flag, path: Callable[[], str], what: str
    ) -> tuple[tuple[CompiledSegment, ...], tuple[str, ...]]:
        """The compiled segments of `keys` (each once), and the keys dropped (malformed or unknown), each with a
        warning at `path()`."""
        kept: list[CompiledSegment] = []
        dropped: list[str] = []
        for key in dict.fromkeys(keys) if len(keys) > 1 else keys:
            segment = self.segments.get(key)
            if isinstance(segment, CompiledSegment):
                kept.append(segment)
                continue
            dropped.append(key)
            why = segment.description if segment is not None else "the segment does not exist"
            message = f'segment "{key}" dropped from flag "{flag.key}" {what}: {why}'
            self.warnings.append(Problem(self.file, 0, path(), message, "warning"))
        return tuple(kept), tuple(dropped)

    def unknown_variant(self, flag: Flag, variant: str, path: str, rule: int) -> None:
        """A distribution naming a variant the flag lacks is skipped (Flipt refuses the whole snapshot; serving it
        would hand out the key of a variant that does not exist, with a "null" attachment), with a warning."""
        message = f'flag "{flag.key}" rule {rule + 1}: distribution names unknown variant "{variant}"; skipped'
        self.warnings.append(Problem(self.file, 0, path, message, "warning"))

    def rule(self, flag: Flag, rule: Rule, i: int, position: int, texts: dict[str, str]) -> CompiledRule:
        ref = rule.segment
        # Most rules repeat across flags (the same segment, a 50/50 split of "on"/"off"): one that raised no
        # warning is compiled once per namespace and shared (it is immutable), the 100,000th flag costing a lookup.
        shape = (i, ref.keys, ref.operator, tuple((d.variant, texts.get(d.variant), d.rollout)
                                                   for d in rule.distributions))
        found = self.rules.get(shape)
        if found is not None:
            return found
        warned = len(self.warnings)
        segments, dropped = self.resolve(ref.keys, flag, lambda: f"flags[{position}].rules[{i}]", f"rule {i + 1}")
        dists = []
        for j, (variant, text, rollout) in enumerate(shape[3]):
            if text is None:
                self.unknown_variant(flag, variant, f"flags[{position}].rules[{i}].distributions[{j}]", i)
            else:
                dists.append(self.distribution(variant, text, rollout))
        kept = tuple(d for d in dists if d.rollout > 0)
        compiled = CompiledRule(
            rank=i + 1,
            operator=ref.operator,
            is_and=ref.operator is SegmentOperator.AND,
            segments=segments,
            dropped=dropped,
            distributions=tuple(dists),
            kept=kept,
            bounds=tuple(boundaries([d.rollout for d in kept])),
        )
        if len(self.warnings) == warned:
            self.rules[shape] = compiled
        return compiled

    def distribution(self, variant: str, text: str, rollout: float) -> CompiledDistribution:
        key = (variant, text, rollout)
        found = self.distributions.get(key)
        if found is None:
            found = self.distributions[key] = CompiledDistribution(variant, text, f32(rollout), rollout)
        return found

    def flag(self, flag: Flag, position: int) -> CompiledFlag:
        texts = {v.key: attachment_text(v.attachment) for v in flag.variants}
        default = flag.default_variant
        rules = tuple(self.rule(flag, rule, i, position, texts) for i, rule in enumerate(flag.rules))
        rollouts = []
        for i, rollout in enumerate(flag.rollouts):
            if rollout.threshold is not None:
                t = rollout.threshold
                compiled = CompiledRollout(
                    i + 1, t.value, f32(t.percentage), SegmentOperator.OR, False, (), (), rollout
                )
            else:
                s = rollout.segment
                assert s is not None, "a rollout has a segment or a threshold"
                segments, dropped = self.resolve(
                    s.keys, flag, lambda i=i: f"flags[{position}].rollouts[{i}]", f"rollout {i + 1}"  # type: ignore[misc]
                )
                compiled = CompiledRollout(
                    i + 1, s.value, None, s.operator, s.operator is SegmentOperator.AND, segments, dropped, rollout
                )
            rollouts.append(compiled)
        key_bytes = to_bytes(flag.key)
        return CompiledFlag(
            key=flag.key,
            type=flag.type,
            is_boolean=flag.type is FlagType.BOOLEAN,
            enabled=flag.enabled,
            default_key=default.key if default is not None else "",
            default_attachment=texts[default.key] if default is not None else "",
            rules=rules,
            rollouts=tuple(rollouts),
            key_bytes=key_bytes,
            seed=zlib.crc32(key_bytes),  # buckets.crc32_seed
        )


def compile_namespace(doc: Document, file: str = "", only: str | None = None,
                      places: Mapping[str, int] | None = None) -> CompiledNamespace:
    """Compile once, evaluate many times. `file` names the source in warnings. `only`: compile just that flag
    (with the segments; its warnings name it at its place in the document), for one evaluation of a large
    namespace (`flagdeck eval FLAG`). `places`: each flag's place in the whole namespace when `doc` holds only
    some of its flags (`NamespaceSnapshot.partial`), for the warnings."""
    with gc_paused():
        compiler = Compiler(doc.segments, file)
        flags = {f.key: compiler.flag(f, places.get(f.key, i) if places else i) for i, f in enumerate(doc.flags)
                 if only is None or f.key == only}
    return CompiledNamespace(key=doc.namespace.key, flags=flags, warnings=compiler.warnings, document=doc)


class LazyFlags(Mapping[str, CompiledFlag]):
    """A namespace's compiled flags, each compiled the first time it is asked for (the evaluator right after start:
    100,000 flags take seconds to compile, one a few microseconds). `flag(key)` gives the source flag and its place
    in the namespace (what its warnings name); the answers equal `compile_namespace`'s. Safe to share between
    threads (a flag compiled twice at once keeps the first)."""

    def __init__(self, keys: Iterable[str], segments: Iterable[Segment], flag: Callable[[str], tuple[Flag, int]],
                 file: str = ""):
        self._keys = dict.fromkeys(keys)
        self._flag = flag
        self._compiler = Compiler(segments, file)
        self._compiled: dict[str, CompiledFlag] = {}

    def __getitem__(self, key: str) -> CompiledFlag:
        found = self._compiled.get(key)
        if found is None:
            if key not in self._keys:
                raise KeyError(key)
            source, place = self._flag(key)
            found = self._compiled.setdefault(key, self._compiler.flag(source, place))
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
