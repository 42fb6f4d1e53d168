"""JSON typed by the user in a console text area (a flag's metadata, a variant's attachment): empty means none,
anything else must parse and have the expected shape, and every problem is a ValueError naming the field, shown
under the form as it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def parse_json_text(text: str, label: str, accepts: Callable[[Any], bool], shape: str) -> Any:
    """The value of `text`: None when it is blank; otherwise its JSON value when `accepts(value)`.

    Raises ValueError "<label>: invalid JSON at line L, column C: <reason>" when it does not parse, and
    "<label>: <shape>" when it parses to a value `accepts` refuses."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{label}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not accepts(value):
        raise ValueError(f"{label}: {shape}")
    return value
