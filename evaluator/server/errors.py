"""Errors on the wire, in one place: gRPC codes, their HTTP statuses and Flipt's two error shapes
(grpc-gateway `{"code", "message", "details"}` and OFREP `{"key", "errorCode", "errorDetails"}`)."""

from __future__ import annotations

from enum import IntEnum

import orjson


class Code(IntEnum):
    """gRPC status codes Flipt uses (flipt-compatibility §6.2)."""

    CANCELED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    ABORTED = 10
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    UNAUTHENTICATED = 16


HTTP_STATUS: dict[Code, int] = {
    Code.CANCELED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.ABORTED: 409,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.UNAUTHENTICATED: 401,
}

# OFREP error codes by gRPC code (Flipt's OFREP bridge); anything else is GENERAL.
OFREP_CODES: dict[Code, str] = {Code.NOT_FOUND: "FLAG_NOT_FOUND", Code.INVALID_ARGUMENT: "INVALID_CONTEXT"}

BAD_JSON_TYPES = "invalid values for key(s) in json body"
UNAUTHENTICATED = "request was not authenticated"
PERMISSION_DENIED = "permission denied"


class ApiError(Exception):
    """An error answered to the client. `status` overrides the code's usual HTTP status (e.g. 413, 406); `key` is
    the flag an OFREP error names (Flipt attaches it to the errors of a flag's lookup and evaluation only)."""

    def __init__(self, code: Code, message: str, status: int | None = None, key: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else HTTP_STATUS[code]
        self.key = key


def invalid(message: str) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, message)


def not_found(message: str) -> ApiError:
    return ApiError(Code.NOT_FOUND, message)


def from_engine(exc: Exception) -> ApiError:
    """Map an engine `EvaluationError` (which carries a gRPC code number) to an ApiError."""
    raw = getattr(exc, "code", Code.INTERNAL)
    try:
        code = Code(int(raw))
    except (TypeError, ValueError):
        code = Code.INTERNAL
    return ApiError(code, str(getattr(exc, "message", None) or exc))


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """`text` as Go's `%q` (strconv.Quote) writes it, for Flipt's messages that quote a value the client sent."""
    out = ['"']
    for ch in text:
        point = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif point < 0x20 or point == 0x7F:
            out.append(f"\\x{point:02x}")
        elif point < 0x10000:
            out.append(f"\\u{point:04x}")
        else:
            out.append(f"\\U{point:08x}")
    out.append('"')
    return "".join(out)


def error_body(code: Code, message: str) -> bytes:
    return orjson.dumps({"code": int(code), "message": message, "details": []})
