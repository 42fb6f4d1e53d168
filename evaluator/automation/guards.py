"""A ramp's guards, evaluated before each step (blocking: the runner calls them off the event loop): a PromQL
instant query against a Prometheus server (`/api/v1/query`), every sample of which must satisfy the guard's
comparison, or an HTTP check (a GET answering 2xx). A query without data, a server that does not answer or an
error answer cannot be evaluated: the verdict is unknown (the ramp pauses); only a value that breaks the
comparison, or a check answering non-2xx, is a breach (the ramp reverts)."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from gitstore.automation.ramps import Guard, Verdict

TIMEOUT = 5.0


def check(guards: Iterable[Guard], timeout: float = TIMEOUT) -> Verdict:
    """All guards hold (ok), one breached (the first breach wins over unknowns), or one could not be evaluated."""
    seen: list[str] = []
    unknown: str | None = None
    for guard in guards:
        ok, text = (_prometheus if guard.kind == "prometheus" else _http)(guard, timeout)
        if ok is False:
            return Verdict(False, text)
        if ok is None and unknown is None:
            unknown = text
        seen.append(text)
    if unknown is not None:
        return Verdict(None, unknown)
    return Verdict(True, "; ".join(seen))


def _prometheus(guard: Guard, timeout: float) -> tuple[bool | None, str]:
    url = guard.url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": guard.query})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return None, f"{guard.query}: Prometheus answered {exc.code}"
    except (OSError, ValueError) as exc:
        return None, f"{guard.query}: Prometheus at {guard.url} cannot be queried: {exc}"
    data = body.get("data", {}) if isinstance(body, dict) else {}
    kind, result = data.get("resultType"), data.get("result")
    values = [float(s["value"][1]) for s in result] if kind == "vector" and isinstance(result, list) else (
        [float(result[1])] if kind == "scalar" and isinstance(result, list) else [])
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return None, f"{guard.query}: no data"
    worst = next((v for v in values if not guard.holds(v)), None)
    shown = ", ".join(f"{v:g}" for v in values[:3])
    if worst is not None:
        return False, f"{guard.query} = {worst:g}, not {guard.op} {guard.threshold:g}"
    return True, f"{guard.query} = {shown} {guard.op} {guard.threshold:g}"


def _http(guard: Guard, timeout: float) -> tuple[bool | None, str]:
    try:
        with urllib.request.urlopen(guard.url, timeout=timeout) as answer:
            return True, f"GET {guard.url}: {answer.status}"
    except urllib.error.HTTPError as exc:
        return False, f"GET {guard.url}: {exc.code}"
    except OSError as exc:
        return None, f"GET {guard.url}: {exc}"
