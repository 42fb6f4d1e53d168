"""Fixtures: the flag repository of tests/server (namespace ns1 in production and staging), evaluators on it that
flush their counts every 0.2 s, and a real Prometheus scraping given evaluators (tests/automation/prometheus.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evaluator.analytics.reader import AnalyticsReader, open_reader
from evaluator.config import load_evaluator_config
from tests.automation.prometheus import PROMETHEUS, Prometheus
from tests.server.conftest import initial_files
from tests.server.harness import FlagRepo, ServerThread, write_config

FAST = "analytics:\n  buffer: {flush_period: 200ms}\n"


@pytest.fixture
def flag_repo(tmp_path: Path) -> FlagRepo:
    repo = FlagRepo(tmp_path / "flags")
    repo.commit(initial_files(), "initial flags")
    return repo


@pytest.fixture
def config_path(tmp_path: Path, flag_repo: FlagRepo) -> Path:
    return write_config(tmp_path, flag_repo.path, FAST)


@pytest.fixture
def make_server(config_path: Path) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def make(**options: object) -> ServerThread:
        server = ServerThread(config_path, **options)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def reader(config_path: Path) -> AnalyticsReader:
    return open_reader(load_evaluator_config(config_path))


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[list[str]], str]]:
    """`prometheus_for(["127.0.0.1:PORT", ...])`: a real Prometheus scraping those every second; its URL."""
    if not Path(PROMETHEUS).exists():
        pytest.skip("prometheus is installed by .ci/run")
    started: list[Prometheus] = []

    def start(targets: list[str]) -> str:
        started.append(Prometheus(tmp_path / "prometheus", targets=targets))
        return started[-1].url

    yield start
    for prometheus in started:
        prometheus.close()
