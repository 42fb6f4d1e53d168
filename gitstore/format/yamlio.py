"""Reading feature files into plain data, fast.

YAML goes through yaml-rs (a Rust YAML 1.2 parser: `on`/`off`/`yes`/`no` stay strings, duplicate keys are errors),
JSON through orjson. Neither gives per-node line numbers; `gitstore.format.yamlscan` finds those from the text when a
problem needs one. If yaml-rs refuses a document, ruamel.yaml (also YAML 1.2) gets a second opinion, so a construct
the fast parser lacks costs time, not correctness.
"""

from __future__ import annotations

import datetime as _dt
import json
import json.decoder
import json.scanner
import re
from decimal import Decimal
from typing import Any

import orjson
import yaml_rs

from gitstore.format.limits import LimitError, check_text

_DOC_MARKER = re.compile(r"^---(?:[ \t\r]|$)", re.MULTILINE)  # (\r: a CRLF file's `---\r\n`)
_ALIAS = re.compile(r"(?:^|[\s\[{,:-])\*[^\s,\[\]{}]+", re.MULTILINE)
_RS_POSITION = re.compile(r"line (\d+), column (\d+)")
MIN_ALIAS_EVENTS = 100_000
SECOND_OPINION_LIMIT = 300_000  # characters: ruamel costs ~5 s per 450 KB; bigger files take yaml-rs's word


class ParseError(Exception):
    """The file is not well-formed YAML/JSON (or not UTF-8). `line`/`column` are 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        self.message = message
        self.line = line
        self.column = column
        super().__init__(message)


def is_json(filename: str) -> bool:
    """Flipt picks the decoder by extension: `.yaml`/`.yml` are YAML, anything else is JSON."""
    return not filename.lower().endswith((".yaml", ".yml"))


_BOMS = ((b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe\x00\x00", "UTF-32LE"), (b"\xfe\xff", "UTF-16BE"),
         (b"\xff\xfe", "UTF-16LE"))


def decode_text(data: bytes) -> str:
    """The file as text: UTF-8 (a leading byte order mark is dropped, as YAML allows); anything else is a
    `ParseError` naming the line."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise ParseError(f"the file is {name} (it starts with a {name} byte order mark); feature files must be "
                             "UTF-8", 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})", line) from None
    return text[1:] if text.startswith("\ufeff") else text


def parse_documents(text: str, filename: str) -> list[Any]:
    """Every document of the file as plain Python data (dict/list/str/int/float/bool/None); empty documents are
    dropped. Raises `ParseError` with the line of the first syntax error, or of text beyond the limits that a
    parser must not be handed (`gitstore.format.limits.check_text`)."""
    try:
        check_text(text)
    except LimitError as exc:
        raise ParseError(exc.message, exc.line, exc.column) from None
    if is_json(filename):
        return _parse_json_stream(text)
    return _parse_yaml_stream(text)


_JSON_KEY = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"\s*:')


def _parse_json_stream(text: str) -> list[Any]:
    docs = _json_documents(text)
    if len(_JSON_KEY.findall(text)) != sum(_count_keys(doc) for doc in docs):
        _find_duplicate_key(text)
    return docs


def _count_keys(value: Any) -> int:
    """Keys of every object in a parsed JSON value (a key said twice in one object counts once)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


class _DuplicateKey(Exception):
    def __init__(self, key: str, start: int):
        self.key, self.start = key, start


def _find_duplicate_key(text: str) -> None:
    """Raise `ParseError` at the second occurrence of a key in one JSON object (JSON decoders keep the last value
    silently; a namespace file must not say two things). Slow (the pure-Python scanner, for object positions):
    only run when a cheap count says some key is repeated."""
    decoder: Any = json.JSONDecoder()  # its undocumented hooks are replaced below
    internals: Any = json  # json.decoder.JSONObject and json.scanner.py_make_scanner are not in the type stubs

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[dict[str, Any], int]:
        strict, scan_once, _, _, memo = args  # py_make_scanner's call
        pairs, end = internals.decoder.JSONObject(s_and_end, strict, scan_once, None, lambda items: items, memo)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key, s_and_end[1])
            seen.add(key)
        return dict(pairs), end

    decoder.parse_object = parse_object
    decoder.scan_once = internals.scanner.py_make_scanner(decoder)
    pos = 0
    try:
        while pos < len(text):
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos < len(text):
                _, pos = decoder.raw_decode(text, pos)
    except _DuplicateKey as exc:
        hits = [m.start() for m in re.finditer(re.escape(json.dumps(exc.key)) + r"\s*:", text[exc.start:])]
        line = text.count("\n", 0, exc.start + hits[1]) + 1 if len(hits) > 1 else 0
        raise ParseError(f"invalid JSON: duplicate key {exc.key!r} in one object", line) from None
    except (ValueError, RecursionError):
        return


def _json_documents(text: str) -> list[Any]:
    if not text.strip():
        return []
    try:
        return [orjson.loads(text)]
    except orjson.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return docs
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except RecursionError:
            raise ParseError("invalid JSON: nested too deeply", text.count("\n", 0, pos) + 1) from None
        except ValueError as exc:  # an integer of more than 4,300 digits
            detail = "an integer of more than 4,300 digits" if "digits" in str(exc) else str(exc)
            raise ParseError(f"invalid JSON: {detail}", text.count("\n", 0, pos) + 1) from None
        docs.append(value)


def _parse_yaml_stream(text: str) -> list[Any]:
    try:
        result = yaml_rs.loads(text, parse_datetime=False, alias_limits=alias_limits(text))
    except yaml_rs.YAMLDecodeError as exc:
        return _second_opinion(text, exc)
    if result is None:
        return []
    if isinstance(result, list) and _document_count(text) > 1:
        return [doc for doc in result if doc is not None]
    return [result]


def alias_limits(text: str) -> yaml_rs.AliasLimits:
    """At most as many events replayed by aliases as the text has characters (at least 100,000): merges such as
    `<<: *defaults` stay well below, an alias bomb is refused before it builds much."""
    return yaml_rs.AliasLimits(max_total_replayed_events=max(MIN_ALIAS_EVENTS, len(text)))


def _document_count(text: str) -> int:
    """How many documents the stream holds, judged from `---` markers at column 0 (yaml-rs returns a list both for
    a stream and for a single document whose top level is a sequence)."""
    markers = len(_DOC_MARKER.findall(text))
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "%")):
            continue
        return markers if _DOC_MARKER.match(line) else markers + 1
    return markers


def _second_opinion(text: str, exc: Exception) -> list[Any]:
    message = str(exc)
    found = _RS_POSITION.search(message)
    line, column = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    detail = message.strip().splitlines()[-1] if message.strip() else "syntax error"
    if "duplicate" in message:
        raise ParseError(f"invalid YAML: {detail}", line or _duplicate_line(text, message), column)
    if "alias" in message:  # an alias bomb: ruamel would build it lazily, but turning it into data would not end
        raise ParseError(f"invalid YAML: aliases expand to too many nodes ({detail})", line or _first_alias(text))
    if "recursion limit" in message:
        raise ParseError(f"invalid YAML: nested too deeply ({detail})", line, column)
    if len(text) > SECOND_OPINION_LIMIT:
        raise ParseError(f"invalid YAML: {detail}", line, column)
    try:
        docs = [to_plain(doc) for doc in rt_load_all(text)]
    except Exception:  # noqa: BLE001 - any ruamel failure means the file is malformed; report yaml-rs's position
        raise ParseError(f"invalid YAML: {detail}", line, column) from None
    return [doc for doc in docs if doc is not None]


def _first_alias(text: str) -> int:
    """1-based line of the first alias (`*name`) in the text, 0 when none is found."""
    found = _ALIAS.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else 0


def _duplicate_line(text: str, message: str) -> int:
    found = re.search(r"duplicate mapping key: '([^']*)'", message)
    if not found:
        return 0
    pattern = re.compile(rf"^\s*(?:- )?{re.escape(found.group(1))}\s*:", re.MULTILINE)
    hits = [m.start() for m in pattern.finditer(text)]
    return text.count("\n", 0, hits[1]) + 1 if len(hits) > 1 else 0


def rt_load_all(text: str) -> list[Any]:
    """ruamel round-trip load (YAML 1.2; nodes remember their lines). Slow: only for problems and fallbacks."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return list(yaml.load_all(text))


def node_line(node: Any, path: tuple[Any, ...]) -> int:
    """1-based line of the deepest key or item along `path` that exists in a ruamel round-trip node, 0 if none."""
    line = 0
    for part in path:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                line = lc.item(part)[0] + 1 if lc is not None else line
                node = node[part]
            elif isinstance(part, str) and isinstance(node, dict) and part in node:
                line = lc.key(part)[0] + 1 if lc is not None else line
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


def to_plain(value: Any) -> Any:
    """ruamel's round-trip objects as plain Python data."""
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    return str(value)


def go_number(value: int | float) -> str:
    """A number as Go's encoders print it: shortest round-trip digits, no `.0`, exponents only outside
    [1e-6, 1e21) (`1e-07` -> `1e-7`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    if 1e-6 <= abs(value) < 1e21:
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(value).partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
