"""Flipt v2's analytics API (rpc/v2/analytics), served from the analytics reader (evaluator/analytics):

    GET  /internal/v2/analytics/environments/{env}/namespaces/{ns}/flags/{flag}?from=...&to=...
         -> {"timestamps": [RFC 3339, ...], "values": [count, ...]}
    POST /internal/v2/analytics/environments/{env}/namespaces/{ns}/batch
         {"flagKeys": [...], "from": ..., "to": ..., "limit": N}
         -> {"flagEvaluations": {flag: {"timestamps": [...], "values": [...]}}}

As Flipt: `from`/`to` are RFC 3339 or `2006-01-02 15:04:05` (UTC), default the last 24 hours; the single flag's
step follows the window (30 min from 24 h, 15 min from 12 h, 5 min from 4 h, else 1 min), the batch's is 30 min;
each point counts the evaluations of the step ending at its timestamp, from `from` to `to` + one step; `limit`
averages the batch's points down to that many. Reading needs what evaluating the namespace needs (a credential when
`authentication.required`). The reader blocks, so it runs in a thread."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from evaluator.analytics.reader import AnalyticsReader
from evaluator.analytics.store import AnalyticsError
from evaluator.server.auth import Api
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import ApiError, Code, invalid, not_found

READER = web.AppKey("flagdeck_analytics_reader", AnalyticsReader)
PREFIX = "/internal/v2/analytics/environments/{environment_key}/namespaces/{namespace_key}"
BATCH_STEP = timedelta(minutes=30)


def _time(text: Any, default: datetime, field: str) -> datetime:
    if text in (None, ""):
        return default
    if not isinstance(text, str):
        raise invalid(f"{field}: expected a time string")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise invalid(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def step_for(window: timedelta) -> timedelta:
    """Flipt's getStepFromDuration."""
    hours = window / timedelta(hours=1)
    return timedelta(minutes=30 if hours >= 24 else 15 if hours >= 12 else 5 if hours >= 4 else 1)


def points(reader: AnalyticsReader, env: str, ns: str, flag: str, start: datetime, end: datetime,
           step: timedelta) -> tuple[list[str], list[float]]:
    """Timestamps from `start` to `end` + step, each with the count of the step ending there."""
    n = int((end + step - start) / step)
    counts = reader.series(env, ns, flag, start - step, step, start + step * n)
    stamps = [(start + step * i).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n + 1)]
    return stamps, [float(count) for _, count in counts]


def _numbers(values: list[float]) -> list[float | int]:
    """Counts as JSON numbers the way Flipt's gateway writes its floats: 12, not 12.0."""
    return [int(v) if v.is_integer() else round(v, 3) for v in values]


def _limit(stamps: list[str], values: list[float], limit: int) -> tuple[list[str], list[float]]:
    """Flipt's batch `limit`: every `len // limit` points averaged into one."""
    if limit <= 0 or len(stamps) <= limit:
        return stamps, values
    factor = len(stamps) // limit
    out_stamps, out_values = [], []
    for i in range(limit):
        chunk = values[i * factor:min((i + 1) * factor, len(values))]
        out_stamps.append(stamps[i * factor])
        out_values.append(sum(chunk) / len(chunk) if chunk else 0.0)
    return out_stamps, out_values


def _target(request: web.Request, ctx: ServerContext) -> tuple[str, str]:
    env, ns = request.match_info["environment_key"], request.match_info["namespace_key"]
    if env not in ctx.registry.states:
        raise not_found(f'environment "{env}" not found')
    ctx.auth.check(request.headers, Api.EVALUATION, env, (ns,))
    return env, ns


async def _read(request: web.Request, work: Any) -> Any:
    try:
        return await asyncio.get_running_loop().run_in_executor(None, work, request.app[READER])
    except AnalyticsError as exc:
        raise ApiError(Code.UNAVAILABLE, str(exc)) from None


@endpoint
async def flag_counts(request: web.Request, ctx: ServerContext) -> web.Response:
    env, ns = _target(request, ctx)
    flag = request.match_info["flag_key"]
    now = datetime.now(UTC)
    end = _time(request.query.get("to"), now, "to")
    start = _time(request.query.get("from"), end - timedelta(days=1), "from")
    if start >= end:
        raise invalid("from must be before to")
    step = step_for(end - start)
    stamps, values = await _read(request, lambda reader: points(reader, env, ns, flag, start, end, step))
    return ctx.json(orjson.dumps({"timestamps": stamps, "values": _numbers(values)}))


@endpoint
async def batch_counts(request: web.Request, ctx: ServerContext) -> web.Response:
    env, ns = _target(request, ctx)
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise invalid("the body is not JSON") from None
    if not isinstance(body, dict):
        raise invalid("the body is not a JSON object")
    flags = body.get("flagKeys", body.get("flag_keys", []))
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise invalid("flagKeys: expected a list of flag keys")
    limit = body.get("limit", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise invalid("limit: expected a non-negative integer")
    now = datetime.now(UTC)
    end = _time(body.get("to"), now, "to")
    start = _time(body.get("from"), end - timedelta(days=1), "from")
    if start >= end:
        raise invalid("from must be before to")

    def read(reader: AnalyticsReader) -> dict[str, Any]:
        out = {}
        for flag in dict.fromkeys(flags):
            stamps, values = _limit(*points(reader, env, ns, flag, start, end, BATCH_STEP), limit)
            out[flag] = {"timestamps": stamps, "values": _numbers(values)}
        return out

    return ctx.json(orjson.dumps({"flagEvaluations": await _read(request, read)}))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(PREFIX + "/flags/{flag_key}", flag_counts)
    router.add_post(PREFIX + "/batch", batch_counts)
