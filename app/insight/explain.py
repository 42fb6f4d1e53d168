"""Evaluate and explain over a namespace document (pending edits included) with the evaluator's own engine: the
"why" is the engine's `Trace`, recorded on the same code path that produced the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitstore.model.documents import Document


def parse_context(text: str) -> dict[str, str]:
    """`plan=pro, country=de` -> {"plan": "pro", "country": "de"}; raises ValueError naming the bad pair."""
    context: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"context pair {part!r} is not key=value")
        context[key.strip()] = value.strip()
    return context


def describe_result(result: Any) -> str:
    """One line: `match=yes  variant=dark  reason=MATCH_EVALUATION_REASON  segments=internal-users`."""
    reason = getattr(result, "reason", "")
    reason = getattr(reason, "value", reason)
    segments = ", ".join(sorted(getattr(result, "segment_keys", ()) or ())) or "none"
    if hasattr(result, "enabled"):
        value = f"enabled={'true' if result.enabled else 'false'}"
    else:
        value = f"match={'yes' if result.match else 'no'}  variant={result.variant_key or '(none)'}"
    return f"{value}  reason={reason}  segments={segments}"


@dataclass(frozen=True)
class Explanation:
    flag_key: str
    summary: str  # describe_result, or the error
    why: list[str] = field(default_factory=list)  # Trace.render()
    error: bool = False


@dataclass(frozen=True)
class Evaluation:
    entity: str
    context: dict[str, str]
    warnings: list[str]
    results: list[Explanation]

    def summary_lines(self) -> list[str]:
        return [f"⚠ {w}" for w in self.warnings] + [
            f"{r.flag_key}: {'✗ ' if r.error else ''}{r.summary}" for r in self.results
        ]


def explain(doc: Document, flags: list[str] | None, entity: str, context: dict[str, str]) -> Evaluation:
    """Evaluate `flags` (None: every flag, in file order) with a trace each."""
    from evaluator.engine import EvaluationError, Trace, compile_namespace, evaluate

    compiled = compile_namespace(doc)
    results = []
    for key in flags if flags is not None else [f.key for f in doc.flags]:
        trace = Trace()
        try:
            result = evaluate(compiled, key, entity, context, trace=trace)
        except EvaluationError as error:
            results.append(Explanation(key, str(error.message), [], True))
            continue
        results.append(Explanation(key, describe_result(result), trace.render()))
    return Evaluation(entity, dict(context), [str(w) for w in compiled.warnings], results)
