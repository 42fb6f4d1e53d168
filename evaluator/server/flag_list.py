"""`GET /api/v1/namespaces/{ns}/flags`: ListFlags, which Flipt v2 keeps for v1 clients (flipt-compatibility §6.7),
with Flipt's pagination (its fs snapshot's `paginate` and grpc-gateway's query parameters).

- Flags in key order. `limit` (int32; absent or 0 = every flag from the offset) and `pageToken` (or `page_token`):
  the page token is the decimal offset of the next page, `nextPageToken` is set while flags remain after the page,
  and `totalCount` is the namespace's number of flags whatever the page. `offset` (deprecated in Flipt) is parsed
  and ignored, as Flipt's fs snapshot does.
- 400s in grpc-gateway's shape with Flipt's texts: a non-numeric or out-of-range `limit`/`offset`
  (`parsing field "limit": strconv.ParseInt: parsing "x": invalid syntax`), one given twice
  (`too many values for field "limit": 1, 2`), a page token that is not an integer
  (`pageToken is not valid: "x"`) or points at or past the end (`invalid offset: 7`). A token outside 0..2^31-1 reads
  as 0, and a namespace without flags answers an empty list whatever the token, as in Flipt.
- One deviation: a negative `limit` makes Flipt panic (a 500 from its recovery handler); Flagdeck answers 400
  `invalid limit: -1`.

Each flag is serialised once, by the first request for the list (`FlagItems`, in a worker thread: 100,000 flags
take about a second, which a start-up or a reload need not pay for a v1 call most clients never make); a request
only joins a slice of them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import orjson
from multidict import MultiMapping

from evaluator.engine import attachment_text
from evaluator.server.errors import go_quote, invalid

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
_GO_INT = re.compile(r"[+-]?[0-9]+")
# query field -> (its names: proto, then JSON), as grpc-gateway accepts either
_FIELDS = {"limit": ("limit",), "offset": ("offset",), "page_token": ("page_token", "pageToken")}


def flag_items(namespace: str, document: Any) -> tuple[bytes, ...]:
    """Each flag of `document` as ListFlags writes it, in key order. Attachments are the engine's text, as Flipt's
    fs snapshot marshals them (`"null"` for a variant without one), the same as the client snapshot."""
    items = []
    for flag in sorted(document.flags, key=lambda f: f.key):
        default = flag.default_variant
        item: dict[str, Any] = {
            "key": flag.key,
            "name": flag.name,
            "description": flag.description or "",
            "enabled": flag.enabled,
            "type": str(flag.type),
            "namespaceKey": namespace,
            "variants": [
                {
                    "id": f"{flag.key}/{v.key}",
                    "key": v.key,
                    "name": v.name or "",
                    "description": v.description or "",
                    "attachment": attachment_text(v.attachment),
                    "flagKey": flag.key,
                    "namespaceKey": namespace,
                }
                for v in flag.variants
            ],
        }
        if default is not None:
            item["defaultVariant"] = item["variants"][flag.variants.index(default)]
        if flag.metadata:
            item["metadata"] = flag.metadata
        items.append(orjson.dumps(item))
    return tuple(items)


class FlagItems:
    """`flag_items(namespace, document())`, computed once, on the first `get` (thread-safe)."""

    __slots__ = ("_document", "_items", "_lock", "_namespace")

    def __init__(self, namespace: str, document: Callable[[], Any]):
        self._namespace, self._document = namespace, document
        self._items: tuple[bytes, ...] | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> tuple[bytes, ...] | None:
        """The items when already computed (a request then needs no thread)."""
        return self._items

    def get(self) -> tuple[bytes, ...]:
        with self._lock:
            if self._items is None:
                self._items = flag_items(self._namespace, self._document())
            return self._items


def list_body(items: tuple[bytes, ...] | list[bytes], next_page_token: str, total: int) -> bytes:
    return (b'{"flags":[' + b",".join(items) + b'],"nextPageToken":' + orjson.dumps(next_page_token)
            + b',"totalCount":' + str(total).encode() + b"}")


def flag_list_body(namespace: str, document: Any) -> bytes:
    """The whole list of `document`'s flags (what a request without `limit` or `pageToken` gets)."""
    items = flag_items(namespace, document)
    return list_body(items, "", len(items))


def _go_int(text: str, bounds: tuple[int, int]) -> int | None:
    """Go's `strconv.ParseInt(text, 10, bits)`; None where it fails (`invalid syntax` / `value out of range`)."""
    if not _GO_INT.fullmatch(text):
        return None
    value = int(text)
    return value if bounds[0] <= value <= bounds[1] else None


def _query_value(query: MultiMapping[str], field: str) -> str | None:
    """A query field's value as grpc-gateway reads it: by its proto or JSON name, a lone empty value = absent,
    several values = 400."""
    value = None
    for name in _FIELDS[field]:
        values = query.getall(name, [])
        if values == [""] or not values:
            continue
        if len(values) > 1:
            raise invalid(f"too many values for field {go_quote(field)}: {', '.join(values)}")
        value = values[0]
    return value


def _int32_param(query: MultiMapping[str], field: str) -> int:
    text = _query_value(query, field)
    if text is None:
        return 0
    value = _go_int(text, INT32)
    if value is None:
        reason = "value out of range" if _GO_INT.fullmatch(text) else "invalid syntax"
        raise invalid(f"parsing field {go_quote(field)}: strconv.ParseInt: parsing {go_quote(text)}: {reason}")
    return value


def read_query(query: MultiMapping[str]) -> tuple[int, str]:
    """(limit, page token) from a request's query (aiohttp's MultiDict), checked as grpc-gateway checks it before
    Flipt sees the request: ApiError 400 for a malformed or repeated field."""
    limit = _int32_param(query, "limit")
    _int32_param(query, "offset")  # checked, then ignored as Flipt's fs snapshot does
    return limit, _query_value(query, "page_token") or ""


def page(items: tuple[bytes, ...], limit: int, token: str) -> bytes:
    """The ListFlags answer for `read_query`'s (limit, page token): Flipt's `paginate`, ApiError 400 as the module
    says."""
    if not items:
        return list_body((), "", 0)
    parsed = _go_int(token, INT64) if token else 0
    if parsed is None:
        raise invalid(f"pageToken is not valid: {go_quote(token)}")
    offset = parsed if 0 <= parsed <= INT32[1] else 0
    if offset >= len(items):
        raise invalid(f"invalid offset: {offset}")
    if not limit:
        return list_body(items[offset:], "", len(items))
    if limit < 0:
        raise invalid(f"invalid limit: {limit}")
    end = offset + limit
    next_token = str(end) if end < len(items) else ""
    return list_body(items[offset:end], next_token, len(items))
