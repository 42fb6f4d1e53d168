"""Minimal-diff writes of one namespace file (storage-notes §4.6): only what changed is rewritten.

- A replaced flag or segment is patched field by field (toggling `enabled` is a one-line diff); if its layout is
  unusual the item's own lines are re-emitted, in the file's indentation.
- A new flag or segment is appended after the last one, in canonical form; a delete removes exactly the item's
  lines with the comments directly above it.
- Comments, blank lines and formatting everywhere else stay byte for byte.
- Every spliced item is parsed back and must equal the intended model, else the whole file is re-emitted in
  canonical form (`EditResult.rewritten`). Files in an older version that a change needs a newer one for, JSON
  files, and layouts the index cannot follow are also re-emitted.

Big files stay fast: item positions come from `gitstore.edit.locate` (regular expressions, no parse), and with
`base` (the parsed document the store already holds) the file is never parsed whole. The index of the text the
writer wrote last is kept; after another writer's commit it is followed to the new text (only the spans that
differ are scanned), and so is the key index of its document (`gitstore.edit.places.follow`). A kept index that
does not fit the text (it never should) is not trusted twice: the text is scanned and spliced again before
anything is re-emitted; a re-emitted file is logged, because its comments are gone.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from gitstore.edit.checks import changed_keys, check_written, written_document
from gitstore.edit.locate import TextIndex, kept, remember
from gitstore.edit.places import follow, forget, value_of
from gitstore.edit.splicer import Fallback, Splicer, splice
from gitstore.errors import Problem, ValidationError
from gitstore.format.loader import load_document
from gitstore.format.models import dump_document, dump_json
from gitstore.format.yamlio import is_json
from gitstore.format.yamlscan import Locator
from gitstore.gcpause import gc_paused
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Document, NamespaceInfo

log = logging.getLogger(__name__)
Stored = Callable[[str, Document], TextIndex | None]
VERIFY_WHOLE_BELOW = 256_000  # characters: smaller results are re-loaded whole as a final check


@dataclass(frozen=True)
class EditResult:
    text: str
    document: Document  # the namespace as the new text holds it
    rewritten: bool = False  # the file was re-emitted whole: comments and formatting were not kept


def apply_changes(text: str, filename: str, changes: list[Change], base: Document | None = None) -> str:
    """The file's new text. `base` (optional) is the parsed namespace of `text`; giving it saves a full parse."""
    return edit_file(text, filename, changes, base).text


def edit_file(text: str, filename: str, changes: list[Change], base: Document | None = None,
              stored: Stored | None = None) -> EditResult:
    """`apply_changes` with the new document (for the store's parse cache) and whether the file was re-emitted.
    `stored(text, base)`: the index of the text (with LF line ends) kept on disk (`gitstore.edit.stored.load`),
    asked when none is kept in memory."""
    crlf = "\r" in text and "\r\n" in text  # one character is found ten times faster (46 MB: 4 ms)
    with gc_paused():
        result = _edit(text.replace("\r\n", "\n") if crlf else text, filename, changes, base, stored)
    if crlf and result.text is not text:
        return EditResult(result.text.replace("\n", "\r\n"), result.document, result.rewritten)
    return result


def _edit(text: str, filename: str, changes: list[Change], base: Document | None, stored: Stored | None
          ) -> EditResult:
    namespaces = {c.namespace for c in changes}
    if len(namespaces) > 1:
        raise ValueError(f"one file holds one namespace; changes name {sorted(namespaces)}")
    ns = next(iter(namespaces), base.namespace.key if base else "default")
    if not text or text.isspace():
        empty = Document(namespace=NamespaceInfo(key=ns))
        new = written_document(empty, changes)
        return _rewrite(filename, new, None)
    others: dict[str, Document] = {}
    if base is None or base.namespace.key != ns:
        result = load_document(text, filename, namespace=ns)
        if result.document is None:
            raise ValidationError(result.errors)
        if ns not in result.documents:
            raise ValueError(f"{filename} holds namespace(s) {sorted(result.documents)}, not {ns!r}")
        base, others = result.document, {k: d for k, d in result.documents.items() if k != ns}
    known = None if is_json(filename) else kept(text)  # remembered or followed, else None (a scan is needed)
    if known is None and stored is not None and not is_json(filename):
        known = stored(text, base)  # kept on disk by the process that wrote this file
        if known is not None:
            remember(known)
    if known is not None:  # `base` may take the key index of the document the kept one was made with
        if known.document is None or known.document() is None:
            known.document = weakref.ref(base)
        follow(known, base)
    if all(value_of(base, c.kind, c.key) == c.value for c in changes):
        return EditResult(text, base)
    new = written_document(base, changes)
    flags, segments = changed_keys(changes, Kind.FLAG), changed_keys(changes, Kind.SEGMENT)
    removed = {c.key for c in changes if c.kind is Kind.SEGMENT}
    try:
        if is_json(filename):
            raise Fallback("JSON has no comments to keep")
        if check_written(new, flags, segments, base.version, filename, removed, base):
            raise Fallback("needs a newer version")
        try:
            new_text = _spliced(text, filename, ns, base, new, changes, known or TextIndex(text))
        except Fallback as exc:
            if known is None:  # the index was a scan of this text: a second one finds the same
                raise
            # A kept index that does not fit the text (it never should) would lose every comment and the layout
            # to a re-emitted file: scan the text once and splice again.
            log.warning("the kept index of %s did not fit (%s); scanning the file again", filename, exc)
            forget(base)  # its key index may have been moved along the kept index: built anew
            new = written_document(base, changes)
            fresh = TextIndex(text)
            remember(fresh)
            new_text = _spliced(text, filename, ns, base, new, changes, fresh)
    except Fallback as exc:
        problems = check_written(new, flags, segments, "1.6", filename, removed, base)
        if problems:
            raise ValidationError(_with_lines(problems, text, base, new)) from None
        log.warning("%s is written whole in canonical form (%s): its comments and layout are not kept", filename,
                    exc)
        return _rewrite(filename, new, others or _other_namespaces(text, filename, ns))
    return EditResult(new_text, new)


def _spliced(text: str, filename: str, ns: str, base: Document, new: Document, changes: list[Change],
             index: TextIndex) -> str:
    new_text = Splicer(text, filename, ns, base, new, index).run(changes)
    if len(new_text) < VERIFY_WHOLE_BELOW:
        check = load_document(new_text, filename, namespace=ns)
        if check.document is None or check.document != new:
            raise Fallback("the spliced file does not read back as intended")
    return new_text


def _with_lines(problems: list[Problem], text: str, base: Document, new: Document) -> list[Problem]:
    """Refused-write problems point at the current file's line of the resource they concern (a resource the
    write adds has no line yet: 0)."""
    locator: Locator | None = None
    out = []
    for problem in problems:
        found = re.match(r"(flags|segments)\[(\d+)\]", problem.path)
        line = 0
        if found:
            attr, index = found.group(1), int(found.group(2))
            items, old = getattr(new, attr), [item.key for item in getattr(base, attr)]
            if index < len(items) and items[index].key in old:
                locator = locator or Locator(text)
                line = locator.line(0, (attr, old.index(items[index].key))) if len(locator.docs or ()) == 1 else 0
        out.append(Problem(problem.file, line, problem.path, problem.message, problem.severity))
    return out


def _other_namespaces(text: str, filename: str, ns: str) -> dict[str, Document]:
    """The other namespaces of a multi-document file, which a whole-file rewrite must keep."""
    if is_json(filename) and text.count("{") < 2 or not is_json(filename) and "---" not in text:
        return {}
    result = load_document(text, filename, namespace=ns)
    return {k: d for k, d in result.documents.items() if k != ns}


def _rewrite(filename: str, new: Document, others: dict[str, Document] | None) -> EditResult:
    """The whole file in canonical form (several namespaces of a stream stay in one stream)."""
    new = new.model_copy(update={"version": "1.6"})
    docs = [new, *(others or {}).values()]
    if is_json(filename):
        text = "".join(dump_json(d) for d in docs)
    else:
        text = "---\n".join(dump_document(d) for d in docs)
    check = load_document(text, filename, namespace=new.namespace.key)
    if check.document is None:
        raise ValidationError(check.errors)
    return EditResult(text, check.document, rewritten=True)


__all__ = ["EditResult", "Problem", "apply_changes", "edit_file", "splice", "written_document"]
