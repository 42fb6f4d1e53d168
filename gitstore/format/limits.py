"""Explicit limits on what one namespace file may hold (README "Limits"). A file beyond them is invalid with a
`FILE:LINE: PATH: message` problem, like any other invalid file: only its own namespace stops being updated, and
nothing downstream (validation, the engine, JSON encoders, the console) ever sees data that could make it fail.

- `check_text` runs on the decoded text before any parser (`gitstore.format.yamlio.parse_documents` calls it): characters YAML does not allow in a file (NUL and the
  other C0/C1 control characters except tab, line feed and carriage return), and nesting that would make a parser
  recurse too deeply (indentation, chains of `- `/`? ` indicators on one line).
- `check_data` runs on the parsed data before validation: nesting depth, integer range, string length, mapping
  keys that are not strings, values of other types (`!!set`, `!!binary`). Control characters written as escapes
  (`"\\a"`, `"\\u0007"`) are legal YAML and JSON, and Flipt serves them: they are kept.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

Path = tuple[str | int, ...]
Beyond = tuple[int, Path, str]  # (document index, path, message)

MAX_FILE_BYTES = 64 * 1024 * 1024  # one namespace file (a 100,000-flag file is ~50 MB)
MAX_DEPTH = 64  # nested mappings/sequences in one document, the document itself counting as 1
MAX_INDENT = 1_000  # columns of indentation on one line
MAX_INLINE_INDICATORS = 100  # `- `/`? ` indicators opening nested collections on one line
MAX_STRING_CHARS = 1_048_576  # characters in one string (a key, a name, a metadata or attachment value)
MIN_INT, MAX_INT = -(2**63), 2**64 - 1  # Go's int64/uint64: what Flipt's decoders can hold
MAX_FINDINGS = 20  # limit problems reported per file

# Characters outside YAML 1.2's printable set (surrogates cannot occur in decoded text).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_FORBIDDEN_ASCII = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_DEEP_INDENT = "\n" + " " * (MAX_INDENT + 1)
_INDICATORS = re.compile(rf"(?:[-?][ \t]+){{{MAX_INLINE_INDICATORS + 1}}}")
# Two indicators in a row, as two patterns starting with a literal (which `re` searches for quickly): ~3 ms/MB
# where one character-class pattern takes ten times as long.
_INDICATOR_PAIRS = (re.compile(r"-[ \t]+[-?][ \t]"), re.compile(r"\?[ \t]+[-?][ \t]"))


def size_problem(size: int) -> str | None:
    """Why a file of `size` bytes is refused (before it is even read), or None."""
    if size > MAX_FILE_BYTES:
        return f"the file is {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}"
    return None


class LimitError(Exception):
    """The text is beyond a limit; `line`/`column` are 1-based."""

    def __init__(self, message: str, line: int, column: int = 0):
        self.message, self.line, self.column = message, line, column
        super().__init__(message)


def char_name(char: str) -> str:
    names = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}
    code = f"U+{ord(char):04X}"
    return f"{code} ({names[char]})" if char in names else code


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_text(text: str) -> None:
    """Raise `LimitError` for a character YAML forbids or nesting too deep to hand to a parser."""
    found = _forbidden(text)
    if found:
        line, column = _position(text, found.start())
        hint = ""
        if found.group() == "\x00":
            hint = " (a file in UTF-16 or UTF-32 has NUL bytes: save it as UTF-8)"
        raise LimitError(f"control character {char_name(found.group())} is not allowed in a feature file{hint}",
                         line, column)
    deep = ("\n" + text).find(_DEEP_INDENT)
    if deep >= 0:
        line, _ = _position(text, deep)
        raise LimitError(f"indented more than {MAX_INDENT} columns (limit: nesting depth {MAX_DEPTH})", line)
    found = _INDICATORS.search(text) if any(pair.search(text) for pair in _INDICATOR_PAIRS) else None
    if found:
        line, column = _position(text, found.start())
        raise LimitError(f"more than {MAX_INLINE_INDICATORS} nested '- '/'? ' indicators on one line (limit: "
                         f"nesting depth {MAX_DEPTH})", line, column)


def _forbidden(text: str) -> re.Match[str] | None:
    """The first forbidden character; ASCII text (most files) is checked as bytes, ten times faster."""
    if text.isascii():
        data = text.encode("ascii")
        if len(data.translate(None, _FORBIDDEN_ASCII)) == len(data):
            return None
    return _FORBIDDEN.search(text)


def check_data(docs: list[Any]) -> list[Beyond]:
    """(document, path, message) of data beyond the limits (at most `MAX_FINDINGS`)."""
    findings: list[Beyond] = []
    for index, doc in enumerate(docs):
        _walk(doc, index, (), 1, findings)
        if len(findings) >= MAX_FINDINGS:
            break
    return findings[:MAX_FINDINGS]


# What the parse cache writes (gitstore.format.cache): orjson refuses, for these options, exactly the values
# `check_data` refuses by type (keys that are not strings, integers beyond Go's, sets, dates, subclasses).
JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
_BLOCK = MAX_STRING_CHARS // 2  # a string longer than MAX_STRING_CHARS bytes covers one whole aligned block
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_CURLY_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_QUOTED = re.compile(rb'"[^"]*"')


def checked_json(docs: list[Any]) -> bytes | None:
    """The documents as JSON (`JSON_OPTIONS`) when they are certainly within the limits, so `check_data` would
    find nothing; None when `check_data` must look. The same answer as the walk at a fraction of its cost on a
    big file (a 100,000-flag file: ~0.4 s instead of ~0.9-1.6 s), and the bytes are what the parse cache keeps.
    Only 'clean' is ever decided here: anything doubtful (a string that might be long, orjson refusing a value)
    goes to the walk, which words the finding."""
    try:
        raw = orjson.dumps(docs, option=JSON_OPTIONS)
    except (TypeError, ValueError):  # a refused type, key or integer; orjson's own depth limit (255)
        return None
    plain = raw
    if b"\\\\" in plain:  # escaped backslashes and quotes, as two bytes that are neither (lengths unchanged)
        plain = plain.replace(b"\\\\", b"__")
    if b'\\"' in plain:
        plain = plain.replace(b'\\"', b"__")
    # string length: each character is at least one byte of JSON, and a string of more than MAX_STRING_CHARS
    # bytes would hold a whole aligned block of _BLOCK bytes without a quote
    if len(plain) > MAX_STRING_CHARS and any(
            plain.find(b'"', start, start + _BLOCK) < 0 for start in range(0, len(plain) - _BLOCK + 1, _BLOCK)):
        return None
    # depth: only quotes and brackets kept; strings dropped (empty ones at C speed, the rare ones holding a
    # bracket by pattern), then each round removes the innermost pairs; the list of documents is one level more
    shape = plain.translate(_CURLY_AS_SQUARE, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in shape:
        shape = _QUOTED.sub(b"", shape)
    for _ in range(MAX_DEPTH + 1):
        if not shape:
            return raw
        shape = shape.replace(b"[]", b"")
    return raw if not shape else None


def _walk(value: Any, doc: int, path: Path, depth: int, out: list[Beyond]) -> None:
    kind = type(value)
    if kind is dict or kind is list:
        if depth > MAX_DEPTH:
            out.append((doc, path, f"nested more than {MAX_DEPTH} levels deep"))
            return
        items = value.items() if kind is dict else enumerate(value)
        for key, item in items:
            if kind is dict and type(key) is not str:
                out.append((doc, path, f"mapping key {_short(key)} must be a string"))
                key = _short(key)
            # the common scalars inline (no call per value: the walk was a fifth of a cold 100,000-flag load)
            if type(item) is str:
                if len(item) > MAX_STRING_CHARS:
                    _walk(item, doc, path + (key,), depth + 1, out)
            elif type(item) not in _SCALARS:
                _walk(item, doc, path + (key,), depth + 1, out)
            if len(out) >= MAX_FINDINGS:
                return
    elif kind is str:
        if len(value) > MAX_STRING_CHARS:
            out.append((doc, path, f"string of {len(value):,} characters (limit {MAX_STRING_CHARS:,})"))
    elif kind is int:
        if not MIN_INT <= value <= MAX_INT:
            out.append((doc, path, f"integer out of range (limit {MIN_INT} to {MAX_INT}; "
                               f"this one has {_digits(value)} digits)"))
    elif kind not in _SCALARS:
        out.append((doc, path, f"unsupported value of type {kind.__name__} (a YAML tag such as !!set or "
                           "!!binary?): feature files hold mappings, lists, strings, numbers, booleans and null"))


_SCALARS = frozenset({float, bool, type(None)})


def _digits(value: int) -> int:
    return len(str(abs(value))) if value.bit_length() < 10_000 else int(value.bit_length() * 0.30103) + 1


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and not MIN_INT <= value <= MAX_INT:
        return f"<integer of {_digits(value)} digits>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
