"""Go's parsers, as Flipt's server applies them to context and constraint values (flipt-compatibility §4.5).

- `go_trim`: `strings.TrimSpace` (Unicode white space; unlike `str.strip()` it keeps U+001C..U+001F).
- `go_parse_float`: `strconv.ParseFloat(s, 64)`: decimal and hexadecimal literals, `_` between digits, signed
  `Inf`/`Infinity` and unsigned `NaN` in any case, no surrounding white space; overflow is an error.
- `go_parse_bool`: `strconv.ParseBool`.
- `parse_instant`: `time.Parse(time.RFC3339, s)`, else `time.Parse("2006-01-02", s)`, as integer nanoseconds since
  the epoch so instants compare exactly.

Each returns None where Go returns an error.
"""

from __future__ import annotations

import math
import re

GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def go_trim(value: str) -> str:
    return value.strip(GO_SPACE)


_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL = re.compile(rf"[+-]?(?:{_DEC}(?:\.(?:{_DEC})?)?|\.{_DEC})(?:[eE][+-]?{_DEC})?", re.ASCII)
_HEXFLOAT = re.compile(rf"[+-]?0[xX](?:_?{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP][+-]?{_DEC}", re.ASCII)
_SPECIAL = re.compile(r"[+-]?(?:inf|infinity)|nan", re.ASCII | re.IGNORECASE)


def go_parse_float(text: str) -> float | None:
    if _DECIMAL.fullmatch(text):
        value = float(text.replace("_", "")) if "_" in text else float(text)
        return None if math.isinf(value) else value  # Go: ErrRange
    if _HEXFLOAT.fullmatch(text):
        try:
            return float.fromhex(text.replace("_", ""))
        except OverflowError:
            return None
    if _SPECIAL.fullmatch(text):
        return float(text)
    return None


_BOOLS = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}


def go_parse_bool(text: str) -> bool | None:
    return _BOOLS.get(text)


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NS = 1_000_000_000


def _days_from_civil(year: int, month: int, day: int) -> int | None:
    """Days since 1970-01-01 of a proleptic Gregorian date, or None when the date does not exist."""
    if not 1 <= month <= 12:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _MONTH_DAYS[month - 1] + (1 if leap and month == 2 else 0):
        return None
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_instant(text: str) -> int | None:
    """Nanoseconds since the Unix epoch of an RFC 3339 timestamp or a `YYYY-MM-DD` date (midnight UTC)."""
    m = _RFC3339.fullmatch(text)
    if m is not None:
        year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
        days = _days_from_civil(year, month, day)
        if days is None or hour > 23 or minute > 59 or second > 59:
            return None
        offset = 0
        if m.group(8) is None:
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                return None
            offset = (oh * 3600 + om * 60) * (1 if m.group(9) == "+" else -1)
        frac = m.group(7) or ""
        nanos = int((frac[:9]).ljust(9, "0")) if frac else 0
        return (days * 86400 + hour * 3600 + minute * 60 + second - offset) * _NS + nanos
    m = _DATE.fullmatch(text)
    if m is not None:
        days = _days_from_civil(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return None if days is None else days * 86400 * _NS
    return None
