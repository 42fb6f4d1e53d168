"""Keeping the label space of `/metrics` bounded (issue 12 #5).

A label value that comes from a request is only ever one the served snapshots know: environments are the
configured ones and namespaces the served ones (a request for any other is answered 404 before anything is
counted); a flag key the namespace does not have is counted under `UNKNOWN`, one series per namespace however many
distinct keys arrive. Result labels (type, match, reason, segments, value) come from the engine's answer for a
served flag, so they are the snapshot's too.

Across reloads a series lives as long as what it names is served: `Served` describes an environment's served
namespaces, and `Metrics.git_updated` drops the series of a deleted namespace or flag, a removed variant or segment
(the counts of a flag served again later restart at 0, which Prometheus' `rate`/`increase` read as a counter
reset). So the size of `/metrics` follows the repository as it is now, never the history of requests.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from gitstore.model.documents import FlagType

# The flag label of an evaluation of a key the namespace does not have. Flag keys match [-_,A-Za-z0-9]+, so this
# value can never be a real flag's.
UNKNOWN = "(unknown)"
BOOLEAN_VALUES = frozenset({"true", "false"})


def flag_label(flag: str, known: Container[str]) -> str:
    return flag if flag in known else UNKNOWN


@dataclass(frozen=True, slots=True)
class ServedFlag:
    type: str  # the `flipt_flag_type` label: "variant" or "boolean"
    values: frozenset[str]  # the `flipt_value` labels it can have


@dataclass(frozen=True, slots=True)
class ServedNamespaceLabels:
    flags: Mapping[str, ServedFlag]
    segments: frozenset[str]

    def keeps_result(self, labels: tuple[str, ...]) -> bool:
        """Whether a `flipt_evaluations_results` series (labels as `metrics.RESULT_LABELS`) names what is served."""
        flag = self.flags.get(labels[2])
        if flag is None or labels[3] != flag.type or labels[7] not in flag.values:
            return False
        segments = labels[6]
        return not segments or segments in self.segments or all(s in self.segments for s in segments.split(","))


def served_labels(namespaces: Mapping[str, Any]) -> dict[str, ServedNamespaceLabels]:
    """Namespace key -> its label values, from an EnvState's served namespaces (their documents)."""
    served = {}
    for key, ns in namespaces.items():
        document = ns.prepared.document()
        flags = {}
        for flag in document.flags:
            if flag.type == FlagType.BOOLEAN:
                flags[flag.key] = ServedFlag("boolean", BOOLEAN_VALUES)
            else:
                flags[flag.key] = ServedFlag("variant", frozenset({"", *(v.key for v in flag.variants)}))
        served[key] = ServedNamespaceLabels(flags, frozenset(s.key for s in document.segments))
    return served


def prune(counts: dict[tuple[str, ...], Any], env: str, keep: Any) -> None:
    """Drop the series of `env` in `counts` for which `keep(labels)` is false (labels[0] is the environment)."""
    for labels in [labels for labels in counts if labels[0] == env and not keep(labels)]:
        del counts[labels]
