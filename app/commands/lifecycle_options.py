"""Options `flagdeck stale` and `flagdeck refs --stale` share: the days of the stale rules, and a fixed `--now`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

DEFAULT_DAYS = 14  # app.insight.stale.DEFAULT_DAYS (not imported: --help imports nothing heavy)


def parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--now") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def days_option(f: Any) -> Any:
    return click.option("--days", type=click.IntRange(min=1), default=None,
                        help=f"N: stale after N days without an evaluation or serving one value (default: "
                             f"lifecycle.stale_days in flagdeck.yaml, else {DEFAULT_DAYS}).")(f)


def now_option(f: Any) -> Any:
    return click.option("--now", "now_text", hidden=True, help="Judge as of this time (ISO 8601; for tests).")(f)
