"""Putting file and line on findings. The line scanner (`gitstore.format.yamlscan`) answers for block-style YAML in
milliseconds; whatever it cannot follow (flow style, JSON) is looked up in a ruamel round-trip parse, which keeps
line numbers but is slow, so it runs only when a file has problems the scanner could not place."""

from __future__ import annotations

from typing import Any

from gitstore.errors import Problem
from gitstore.format.validation_rules import Finding, Path, path_text
from gitstore.format.yamlio import node_line, rt_load_all
from gitstore.format.yamlscan import Locator

RT_LIMIT = 300_000  # characters: ruamel needs ~5 s per 450 KB; above this keep the scanner's best answer


def attach_lines(text: str, filename: str, findings: list[Finding]) -> list[Problem]:
    locator = Locator(text)
    rt_docs: list[Any] | None = None
    problems = []
    for finding in findings:
        entry, complete = locator.entry(finding.doc, finding.path)
        line = entry.line + 1 if entry is not None else 0
        if not complete and len(text) <= RT_LIMIT:
            if rt_docs is None:
                rt_docs = _rt_docs(text)
            line = _rt_line(rt_docs, finding.doc, finding.path) or line
        if not line:
            line = locator.line(finding.doc, ())
        problems.append(Problem(filename, line, path_text(finding.path), finding.message, finding.severity))
    problems.sort(key=lambda p: (p.severity != "error", p.line))
    return problems


def _rt_docs(text: str) -> list[Any]:
    try:
        return [doc for doc in rt_load_all(text) if doc is not None]
    except Exception:  # noqa: BLE001 - no line numbers is better than no report
        return []


def _rt_line(docs: list[Any], doc: int, path: Path) -> int:
    """1-based line of the deepest node along `path` in a ruamel round-trip document."""
    if doc >= len(docs):
        return 0
    node = docs[doc]
    if not path and getattr(node, "lc", None) is not None:
        return int(node.lc.line) + 1
    return node_line(node, path)
