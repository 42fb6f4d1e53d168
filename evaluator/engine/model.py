"""The compiled form of a namespace: everything evaluation needs, prepared once (flipt-compatibility §3.7).

Segments are compiled once per namespace and shared by every rule and rollout naming them; boundaries, float32
rollouts, attachment texts and hash seeds are computed at compile time. The `source` fields of segments and rollouts
point back at the document objects (the client snapshot reads them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evaluator.engine.constraints import CompiledConstraint
from gitstore.errors import Problem
from gitstore.model.documents import Document, FlagType, Rollout, Segment, SegmentOperator


@dataclass(frozen=True, slots=True)
class CompiledSegment:
    key: str
    match_all: bool
    constraints: tuple[CompiledConstraint, ...]
    source: Segment


@dataclass(frozen=True, slots=True)
class CompiledDistribution:
    variant_key: str
    attachment: str  # JSON text, "null" when the variant has none
    rollout: float  # float32, as Flipt stores it
    source_rollout: float  # the number written in the file


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rank: int  # 1-based
    operator: SegmentOperator
    is_and: bool
    segments: tuple[CompiledSegment, ...]  # unique keys, malformed ones dropped
    dropped: tuple[str, ...]  # keys of segments dropped as malformed (or unknown)
    distributions: tuple[CompiledDistribution, ...]  # all, in file order
    kept: tuple[CompiledDistribution, ...]  # rollout > 0, in file order
    bounds: tuple[int, ...]  # upper bounds (exclusive) of `kept` in 0..1000


@dataclass(frozen=True, slots=True)
class CompiledRollout:
    rank: int  # 1-based
    value: bool
    threshold: float | None  # float32 percentage for a threshold rollout, None for a segment rollout
    operator: SegmentOperator
    is_and: bool
    segments: tuple[CompiledSegment, ...]
    dropped: tuple[str, ...]
    source: Rollout


@dataclass(frozen=True, slots=True)
class CompiledFlag:
    key: str
    type: FlagType
    is_boolean: bool
    enabled: bool
    default_key: str  # "" when the flag has no default variant
    default_attachment: str  # its JSON text; "" when there is no default variant
    rules: tuple[CompiledRule, ...]
    rollouts: tuple[CompiledRollout, ...]
    key_bytes: bytes  # UTF-8 of the key (threshold hash suffix)
    seed: int  # crc32 of the key (variant hash prefix)


@dataclass(frozen=True, slots=True)
class CompiledNamespace:
    key: str
    flags: Mapping[str, CompiledFlag]  # in document order (a dict, or `LazyFlags`: each compiled when first asked for)
    warnings: list[Problem]  # of every flag compiled (none for `LazyFlags`: the namespace's full compile has them)
    document: Document | None  # None when the flags are compiled one by one (`LazyFlags`)

    @property
    def flag_keys(self) -> list[str]:
        return list(self.flags)
