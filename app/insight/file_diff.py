"""The diff a commit of pending edits will make to a namespace's file, as Git will record it: the file's text as
the snapshot read it, and the text the store's writer makes of it (`gitstore.writer.edit_file`, the function the
commit itself runs), compared line by line with the real file's line numbers. Pure CPU, no Git: run it in a worker
(a 50 MB file costs one splice and a diff of the changed region only)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitstore.model.changes import Change, Kind

if TYPE_CHECKING:
    from gitstore.git.snapshot import Snapshot

CONTEXT = 3  # lines around each change, as `git diff`


@dataclass(frozen=True)
class FileDiff:
    namespace: str
    path: str
    diff: str  # unified diff ("" when the file would not change)
    error: str = ""  # why the store would refuse this commit ("" when it would not)
    edits: int = 0  # pending edits in this file


def namespace_path(snapshot: Snapshot | None, directory: str, namespace: str) -> str:
    """The file holding `namespace`, or where a new namespace's file is created."""
    found = snapshot.namespaces.get(namespace) if snapshot is not None else None
    if found is not None and found.path:
        return found.path
    return "/".join(p for p in (directory.strip("/"), namespace, "features.yaml") if p)


def file_diff(snapshot: Snapshot | None, directory: str, namespace: str, changes: Sequence[Change]) -> FileDiff:
    """What committing `changes` (all of one namespace) on `snapshot` does to the namespace's file."""
    from gitstore.edit.writer import edit_file
    from gitstore.errors import FlagdeckError, ValidationError

    found = snapshot.namespaces.get(namespace) if snapshot is not None else None
    path = namespace_path(snapshot, directory, namespace)
    old = found.text if found is not None else ""
    deleted = any(c.kind is Kind.NAMESPACE and c.value is None for c in changes)
    try:
        if found is not None and found.document is None:
            raise ValidationError(list(found.problems))
        new = "" if deleted else edit_file(old, path, list(changes), found.document if found else None).text
    except ValidationError as error:
        lines = "\n".join(f"• {p}" for p in error.problems) or str(error)
        return FileDiff(namespace, path, "", f"The store would refuse this commit:\n{lines}", len(changes))
    except (FlagdeckError, ValueError) as error:
        return FileDiff(namespace, path, "", f"The store would refuse this commit: {error}", len(changes))
    a_name = f"a/{path}" if found is not None else "/dev/null"
    b_name = "/dev/null" if deleted else f"b/{path}"
    return FileDiff(namespace, path, unified(old, new, a_name, b_name), "", len(changes))


def unified(old: str, new: str, a_name: str, b_name: str, context: int = CONTEXT) -> str:
    """`diff -u` of two texts with the files' own line numbers. The common head and tail are skipped before
    matching, so a one-line change in a huge file costs a diff of a few lines."""
    if old == new:
        return ""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    start = max(0, head - context)
    a_mid, b_mid = a[start:len(a) - max(0, tail - context)], b[start:len(b) - max(0, tail - context)]
    out = [f"--- {a_name}\n", f"+++ {b_name}\n"]
    matcher = difflib.SequenceMatcher(None, a_mid, b_mid, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        heading = _heading(a, start + first[1])
        out.append(f"@@ -{_range(start + first[1], last[2] - first[1])} "
                   f"+{_range(start + first[3], last[4] - first[3])} @@{heading}\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + _line(x) for x in a_mid[i1:i2]]
                continue
            out += ["-" + _line(x) for x in a_mid[i1:i2]]
            out += ["+" + _line(x) for x in b_mid[j1:j2]]
    return "".join(out)


def _heading(lines: list[str], before: int) -> str:
    """Git's default hunk heading: the nearest line above the hunk that starts with a letter, `_` or `$`."""
    for i in range(before - 1, -1, -1):
        line = lines[i]
        if line[:1].isalpha() or line[:1] in "_$":
            return " " + line.rstrip()[:80]
    return ""


def _range(start: int, length: int) -> str:
    """Git's hunk range: 1-based start, `,length` unless it is 1; an empty side starts at the line before."""
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n\\ No newline at end of file\n"
