"""The `analytics` section of flagdeck.yaml (Flipt v2's `analytics` where it fits):

    analytics:
      enabled: true                 # count server-side evaluations (default: on)
      state_dir: .flagdeck-state    # the SQLite store's directory, relative to flagdeck.yaml (this is the default)
      retention: 30d                # counts (hourly roll-up) older than this are deleted
      minute_retention: 48h         # minute buckets older than this are deleted (the hours stay): windows
                                    # reaching further back are exact to the hour
      buffer: {flush_period: 10s}   # how often counts are written (Flipt's `analytics.buffer.flush_period`)
      prometheus:                   # set: the reader queries Prometheus instead of the SQLite store
        url: http://prometheus:9090
        headers: {Authorization: "Bearer ..."}

Counting into the SQLite store goes on with `prometheus` set (each evaluator keeps its own counts; the aggregate
of several replicas is Prometheus' scrape of their `/metrics`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from gitstore.config import Duration, HttpUrl, Section, parse_duration

STATE_DIR = ".flagdeck-state"  # next to flagdeck.yaml
DB_NAME = "analytics.sqlite3"
_DAYS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*d\s*$")


def parse_window(value: Any) -> float:
    """A duration in seconds as `gitstore.config.parse_duration` reads it, or in days (`7d`, `30d`)."""
    if isinstance(value, str) and (match := _DAYS.match(value)):
        seconds = float(match.group(1)) * 86400
        if seconds <= 0:
            raise ValueError("a duration must be greater than zero")
        return seconds
    return parse_duration(value)


Window = Annotated[float, BeforeValidator(parse_window)]


class BufferConfig(Section):
    flush_period: Duration = 10.0


class PrometheusConfig(Section):
    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 10.0


class AnalyticsConfig(Section):
    enabled: bool = True
    state_dir: Path | None = None  # None: `.flagdeck-state` next to flagdeck.yaml
    retention: Window = 30 * 86400.0
    minute_retention: Window = 48 * 3600.0
    buffer: BufferConfig = Field(default_factory=BufferConfig)
    prometheus: PrometheusConfig | None = None

    @field_validator("retention", "minute_retention")
    @classmethod
    def _retention(cls, value: float) -> float:
        if value < 3600:
            raise ValueError("keep counts at least 1h")
        return value

    def database(self, config_path: Path | None) -> Path:
        """The SQLite file: `state_dir` (absolute once loaded), else `.flagdeck-state` next to flagdeck.yaml."""
        if self.state_dir is not None:
            return self.state_dir / DB_NAME
        base = config_path.parent if config_path is not None else Path.cwd()
        return base / STATE_DIR / DB_NAME
