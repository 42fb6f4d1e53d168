"""Request bodies: JSON objects with camelCase or snake_case keys, `null` meaning absent (flipt-compatibility §6.1).

A wrong type is a 400 `invalid values for key(s) in json body` naming the keys; a body over the cap is a 413.
Context values: strings as they are; numbers and booleans coerced to their JSON text (the OpenFeature provider and
the `flipt` SDK send them untyped); `null` values dropped; objects and arrays rejected.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from evaluator.server.errors import BAD_JSON_TYPES, ApiError, Code, invalid

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB


@dataclass(slots=True)
class EvalRequest:
    flag_key: str = ""
    entity_id: str = ""
    namespace_key: str = "default"
    context: dict[str, str] = field(default_factory=dict)
    request_id: str = ""
    environment_key: str = ""


@dataclass(slots=True)
class BatchRequest:
    request_id: str
    requests: list[Entry]


class BodyTimeout(Exception):
    """The request's body did not arrive within the server's `body_timeout` (set on the payload by connection.py)."""


async def read_body(request: web.Request, max_body: int) -> bytes:
    """The body's bytes. 413 over `max_body`, 400 when it cannot be read (a broken chunked body, a body that is not
    in its `Content-Encoding`), 408 when it did not arrive in time. After a 400 or 408 the connection is closed:
    aiohttp's parser cannot go on after a body it could not read."""
    length = request.content_length
    if length is not None and length > max_body:
        raise too_large(max_body)
    content = request.content
    try:
        # fast path: the whole (small) body has already arrived, so take it without awaiting
        raw = content.read_nowait() if content.is_eof() else await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(max_body) from None
    except BodyTimeout as exc:
        raise ApiError(Code.INVALID_ARGUMENT, str(exc), status=408) from None
    except (RequestPayloadError, HttpProcessingError) as exc:
        content.feed_eof()  # the parser stopped at the error: nothing more comes, and aiohttp must not linger on it
        request.protocol.close()  # the connection closes after this answer
        cause = exc.__cause__ if isinstance(exc.__cause__, HttpProcessingError) else exc
        if isinstance(cause, ContentEncodingError):
            encoding = request.headers.get("Content-Encoding", "").strip()
            raise invalid(f"request body is not valid {encoding} (Content-Encoding: {encoding})") from None
        raise invalid("unreadable request body (malformed chunked encoding or length)") from None
    if len(raw) > max_body:
        raise too_large(max_body)
    return raw


def json_object(raw: bytes) -> dict[str, Any]:
    """A body as a JSON object ({} when empty); 400 when it is not one."""
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("request body must be a JSON object")
    return data


def too_large(max_body: int) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, f"request body larger than {max_body} bytes", status=413)


def _get(data: dict[str, Any], camel: str, snake: str) -> Any:
    value = data.get(camel)
    return data.get(snake) if value is None else value


def _string(data: dict[str, Any], camel: str, snake: str, bad: list[str], default: str = "") -> str:
    value = _get(data, camel, snake)
    if value is None:
        return default
    if isinstance(value, str):
        return value
    bad.append(camel)
    return default


def coerce_context(value: Any, bad: list[str], name: str = "context") -> dict[str, str]:
    """A string map from a JSON object; scalars become their JSON text, nulls are dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        bad.append(name)
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if type(item) is str:
            out[key] = item
            continue
        if isinstance(item, str):
            out[key] = item
        elif item is None:
            continue
        elif isinstance(item, bool):
            out[key] = "true" if item else "false"
        elif isinstance(item, int | float):
            out[key] = orjson.dumps(item).decode()
        else:
            bad.append(f"{name}.{key}")
    return out


def _check(bad: list[str]) -> None:
    if bad:
        raise invalid(f"{BAD_JSON_TYPES}: {', '.join(bad)}")


# body key -> position among EvalRequest's string fields, both spellings (flipt-compatibility §6.1); when a body has
# both, the later one wins
_FLAG, _ENTITY, _NAMESPACE, _REQUEST_ID, _ENVIRONMENT, _REFERENCE = range(6)
_FIELDS = {
    "flagKey": _FLAG, "flag_key": _FLAG,
    "entityId": _ENTITY, "entity_id": _ENTITY,
    "namespaceKey": _NAMESPACE, "namespace_key": _NAMESPACE,
    "requestId": _REQUEST_ID, "request_id": _REQUEST_ID,
    "environmentKey": _ENVIRONMENT, "environment_key": _ENVIRONMENT,
    "reference": _REFERENCE,
}


# one evaluation request of a body: flag, entity, namespace, context, request id, environment
Entry = tuple[str, str, str, dict[str, str], str, str]
_PLAIN = frozenset(("flagKey", "entityId", "namespaceKey", "requestId", "environmentKey", "context"))


def _entry(data: dict[str, Any], bad: list[str]) -> Entry:
    """What every SDK sends (camelCase keys, string values, a string map as context) is read with a few lookups;
    anything else (snake_case, nulls, numbers to coerce, wrong types) takes the general pass."""
    if data.keys() <= _PLAIN:
        get = data.get
        flag, entity, namespace = get("flagKey", ""), get("entityId", ""), get("namespaceKey", "")
        request_id, environment, context = get("requestId", ""), get("environmentKey", ""), get("context")
        if type(flag) is str and type(entity) is str and type(namespace) is str and type(request_id) is str \
                and type(environment) is str:
            if context is None:
                return flag, entity, namespace or "default", {}, request_id, environment
            if type(context) is dict:
                for value in context.values():
                    if type(value) is not str:
                        break
                else:
                    return flag, entity, namespace or "default", context, request_id, environment
    return _general_entry(data, bad)


def _general_entry(data: dict[str, Any], bad: list[str]) -> Entry:
    """One pass over the keys present: both spellings, nulls as absent, context scalars coerced, bad types noted."""
    values = ["", "", "", "", "", ""]
    context: dict[str, str] = {}
    for key, value in data.items():
        if type(value) is str:
            slot = _FIELDS.get(key)
            if slot is not None:
                values[slot] = value
        elif key == "context":
            context = coerce_context(value, bad)
        elif value is not None and key in _FIELDS:
            bad.append(key)
    flag, entity, namespace, request_id, environment, _reference = values
    return flag, entity, namespace or "default", context, request_id, environment


def parse_evaluation(data: dict[str, Any]) -> EvalRequest:
    bad: list[str] = []
    flag, entity, namespace, context, request_id, environment = _entry(data, bad)
    _check(bad)
    return EvalRequest(flag, entity, namespace, context, request_id, environment)


def parse_batch(data: dict[str, Any]) -> BatchRequest:
    bad: list[str] = []
    items = data.get("requests")
    requests: list[Entry] = []
    if items is not None and not isinstance(items, list):
        bad.append("requests")
        items = None
    for i, item in enumerate(items or ()):
        if type(item) is dict:
            requests.append(_entry(item, bad))
        else:
            bad.append(f"requests[{i}]")
    request_id = _string(data, "requestId", "request_id", bad)
    _string(data, "reference", "reference", bad)
    _check(bad)
    return BatchRequest(request_id=request_id or new_request_id(), requests=requests)


@dataclass(slots=True)
class OfrepRequest:
    entity_id: str
    context: dict[str, str]
    flags: list[str] | None = None


def parse_ofrep(data: dict[str, Any], bulk: bool = False) -> OfrepRequest:
    """`{"context": {"targetingKey": ..., ...}}`; no targeting key -> a random entity id (Flipt's behaviour)."""
    bad: list[str] = []
    context = coerce_context(data.get("context"), bad)
    _check(bad)
    entity_id = context.get("targetingKey") or new_request_id()
    flags = None
    if bulk and context.get("flags"):
        flags = [k.strip() for k in context["flags"].split(",") if k.strip()]
    return OfrepRequest(entity_id=entity_id, context=context, flags=flags)


_id_prefix = ""
_id_counter = itertools.count()


def _seed_request_ids() -> None:
    """A fresh random prefix and counter start, at import and again in every forked worker (which would otherwise
    inherit its parent's and hand out the same ids as its siblings)."""
    global _id_prefix, _id_counter
    head = os.urandom(8).hex()
    _id_prefix = f"{head[:8]}-{head[8:12]}-4{head[13:16]}-8"
    _id_counter = itertools.count(int.from_bytes(os.urandom(5), "big"))


_seed_request_ids()
os.register_at_fork(after_in_child=_seed_request_ids)


def new_request_id() -> str:
    """A request id in UUID v4 form: a random per-process prefix and a counter starting at a random value (unique
    across workers and restarts for all practical purposes, and half the cost of `str(uuid.uuid4())`)."""
    n = next(_id_counter)
    return f"{_id_prefix}{(n >> 48) & 0xfff:03x}-{n & 0xffffffffffff:012x}"
