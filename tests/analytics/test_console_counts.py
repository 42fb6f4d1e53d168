"""The console reading real counts (issue 16): evaluations made through real SDKs (the PyPI `flipt` REST SDK and the
OpenFeature OFREP provider) against a real evaluator reach the flag list's `Evals 24h` column and the analytics
panel (`a`) per value and reason once flushed; two evaluator processes scraped by a real Prometheus reach the console
summed, with Prometheus named as the source. Counts are compared exactly, with what the SDKs were answered."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from flipt import FliptClient as RestClient
from flipt.evaluation import EvaluationRequest as RestRequest
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

from evaluator.analytics.reader import AnalyticsReader
from tests.console.helpers import TESS, settle
from tests.server.harness import FlagRepo, ServerProcess, wait_until, write_config

from .test_counting import totals

Answers = dict[str, tuple[Counter[str], Counter[str]]]  # flag -> (by value, by reason) as the SDKs were answered


def sdk_evaluations(url: str) -> Answers:
    """Evaluations through the REST SDK (booleans and variants) and the OFREP provider (variants): what each was
    answered, tallied per flag by value and reason (OFREP's reasons are its own; the evaluator counts Flipt's)."""
    answers: Answers = {}

    def tally(flag: str, value: str, reason: str) -> None:
        by_value, by_reason = answers.setdefault(flag, (Counter(), Counter()))
        by_value[value] += 1
        by_reason[reason] += 1

    client = RestClient(url=url, timeout=10)
    try:
        for i in range(9):
            answer = client.evaluation.boolean(RestRequest(namespace_key="ns1", flag_key="bool-rollout-on",
                                                           entity_id=f"user-{i}", context={}))
            tally("bool-rollout-on", str(answer.enabled).lower(), str(answer.reason))
        for i in range(4):
            variant = client.evaluation.variant(RestRequest(namespace_key="ns1", flag_key="variant-seg",
                                                            entity_id=f"pro-{i}", context={"plan": "pro"}))
            tally("variant-seg", variant.variant_key, str(variant.reason))
    finally:
        client.close()
    api.set_provider(OFREPProvider(base_url=url, headers_factory=lambda: {"X-Flipt-Namespace": "ns1"}))
    try:
        of = api.get_client()
        for i in range(3):
            details = of.get_string_details("variant-seg-dflt", "none", EvaluationContext(targeting_key=f"o{i}"))
            assert details.error_code is None, details.error_message
            tally("variant-seg-dflt", details.value, "DEFAULT_EVALUATION_REASON")  # no rule matched: the default
    finally:
        api.shutdown()
    return answers


def flushed(reader: AnalyticsReader, answers: Answers, times: int = 1) -> None:
    expected = {("ns1", flag): times * sum(v.values()) for flag, (v, _) in answers.items()}
    wait_until(lambda: totals(reader) == expected, timeout=30, what=f"the counts {expected}")


@pytest.fixture
def console_on(tmp_path: Path) -> Iterator[Any]:
    """`console_on(config)`: a console on namespace ns1 of production, as `flagdeck console` opens it (the reader the
    configuration names, the real clock)."""
    from app.console import ConsoleApp
    from app.session import Session
    from app.settings import load_flagdeck_config
    from gitstore.results import Author
    from gitstore.store import Store

    stores: list[Store] = []

    def make(config: Path) -> ConsoleApp:
        stores.append(Store(load_flagdeck_config(config), identity=Author(*TESS)))
        return ConsoleApp(Session(stores[-1], env="production", namespace="ns1", author=TESS),
                          theme="textual-dark", cursor_blink=False)

    yield make
    for store in stores:
        store.close()


def listed(app: Any) -> dict[str, str]:
    """The flag list's `Evals 24h` cell of each row, as drawn (the column must be shown)."""
    from app.widgets.flag_table import FlagTable

    table = app.screen.query_one(FlagTable)
    names = [name for name, _, _ in table.columns]
    assert "Evals 24h" in names, names
    return {row.key: table._evals_text(row).split()[0] for row in table.visible_rows()}


def panel_counts(text: str, title: str) -> dict[str, int]:
    """The bars under `title` in an environment's panel text: label -> count."""
    section = text.split(f"{title}\n", 1)[1].split("\nby ", 1)[0]
    found = {}
    for line in section.splitlines():
        match = re.match(r"^  (\S+) +█+ +(\d+) +[\d.]+%$", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


async def open_panel(app: Any, pilot: Any, flag: str) -> tuple[str, str]:
    """`a` on `flag`: the panel's title and the current environment's text."""
    from app.screens.flag_analytics import FlagAnalyticsScreen
    from app.widgets.flag_table import FlagTable

    app.screen.query_one(FlagTable).move_to(flag)
    await pilot.press("a")
    await settle(pilot)
    panel = app.screen
    assert isinstance(panel, FlagAnalyticsScreen)
    return str(panel.query_one("#analytics-title").render()), str(panel.query_one("#env-0").render())


async def test_real_sdk_evaluations_reach_the_list_and_the_panel(make_server, reader: AnalyticsReader,  # noqa: ANN001
                                                                 config_path: Path, console_on) -> None:  # noqa: ANN001
    server = make_server()
    answers = sdk_evaluations(server.url)
    flushed(reader, answers)
    app = console_on(config_path)
    async with app.run_test(size=(130, 36)) as pilot:
        await settle(pilot)
        assert listed(app) == {"bool-rollout": "0", "bool-rollout-on": "9", "variant-seg": "4",
                               "variant-seg-dflt": "3", "env-marker": "0"}
        assert "counts: sqlite" in str(app.screen.query_one("#flags-status").render())
        for flag, (by_value, by_reason) in answers.items():
            title, text = await open_panel(app, pilot, flag)
            assert "counts from sqlite; client-side SDK evaluations are not counted" in title
            total = sum(by_value.values())
            assert f"{total} evaluations, the last at " in text, text
            assert panel_counts(text, "by value served") == dict(by_value), text
            assert panel_counts(text, "by reason") == dict(by_reason), text
            await pilot.press("escape")
            await settle(pilot)


def _up(url: str) -> int:
    result = httpx.get(url + "/api/v1/query", params={"query": "up"}, timeout=5).json()["data"]["result"]
    return sum(1 for r in result if r["value"][1] == "1")


async def test_console_reads_two_evaluators_summed_by_prometheus(tmp_path: Path, flag_repo: FlagRepo,
                                                                 config_path: Path, prometheus_for,  # noqa: ANN001
                                                                 console_on) -> None:  # noqa: ANN001
    from evaluator.analytics.reader import open_reader
    from evaluator.config import load_evaluator_config

    a, b = ServerProcess(config_path), ServerProcess(config_path)
    try:
        prometheus = prometheus_for([a.url.removeprefix("http://"), b.url.removeprefix("http://")])
        (tmp_path / "console").mkdir()
        console_config = write_config(tmp_path / "console", flag_repo.path,
                                      f"analytics:\n  prometheus: {{url: {prometheus}}}\n")
        wait_until(lambda: _up(prometheus) == 2, timeout=30, what="both evaluators scraped")
        first, second = sdk_evaluations(a.url), sdk_evaluations(b.url)
        reader = open_reader(load_evaluator_config(console_config))
        flushed(reader, first, times=2)  # in Prometheus: one scrape of each after the evaluations
    finally:
        a.stop()
        b.stop()
    # both down in Prometheus: their series end (staleness markers); replicas replaced or stopped still count
    wait_until(lambda: _up(prometheus) == 0, timeout=30, what="both evaluators seen down")
    app = console_on(console_config)
    async with app.run_test(size=(130, 36)) as pilot:
        await settle(pilot)
        assert listed(app) == {"bool-rollout": "0", "bool-rollout-on": "18", "variant-seg": "8",
                               "variant-seg-dflt": "6", "env-marker": "0"}
        assert "counts: prometheus" in str(app.screen.query_one("#flags-status").render())
        title, text = await open_panel(app, pilot, "bool-rollout-on")
        assert "counts from prometheus; client-side SDK evaluations are not counted" in title
        by_value = first["bool-rollout-on"][0] + second["bool-rollout-on"][0]
        assert "18 evaluations, the last at " in text, text
        assert panel_counts(text, "by value served") == dict(by_value), text


async def test_failed_evaluations_are_counted_per_flag_and_reason(make_server, reader: AnalyticsReader,  # noqa: ANN001
                                                                  config_path: Path, console_on) -> None:  # noqa: ANN001
    from .test_stats import stats

    server = make_server()
    for flag, path, times in (("nope", "/evaluate/v1/boolean", 3), ("variant-seg", "/evaluate/v1/boolean", 2),
                              ("variant-seg", "/evaluate/v1/variant", 4)):
        for i in range(times):
            answer = server.post(path, {"namespaceKey": "ns1", "flagKey": flag, "entityId": f"u{i}",
                                        "context": {"plan": "pro"}})
            assert (answer.status_code == 200) == (path.endswith("variant") and flag != "nope"), answer.text
    assert server.post("/ofrep/v1/evaluate/flags/gone", {"context": {"targetingKey": "a"}},
                       headers={"X-Flipt-Namespace": "ns1"}).status_code == 404
    not_found, wrong = "NOT_FOUND_ERROR_EVALUATION_REASON", "UNKNOWN_ERROR_EVALUATION_REASON"
    wait_until(lambda: {k: (u.total, u.errors) for k, u in reader.usage(
        "production", datetime.now(UTC) - timedelta(hours=1)).items()} == {
        ("ns1", "(unknown)"): (0, {not_found: 4}), ("ns1", "variant-seg"): (4, {wrong: 2})}, timeout=15,
        what="the failed evaluations counted")
    usage = reader.usage("production", datetime.now(UTC) - timedelta(hours=1), flag="variant-seg")
    assert usage[("ns1", "variant-seg")].by_reason == {"MATCH_EVALUATION_REASON": 4}  # the failed apart

    report = json.loads(stats(config_path, "--env", "production", "--json").stdout)
    assert {f["flag"]: (f["total"], f["failed"], f["failed_by_reason"]) for f in report["flags"]} == {
        "(unknown)": (0, 4, {not_found: 4}), "variant-seg": (4, 2, {wrong: 2})}
    text = stats(config_path, "--env", "production").stdout
    assert "failed 4 (NOT_FOUND_ERROR_EVALUATION_REASON 4)" in text
    assert "; failed 2 (UNKNOWN_ERROR_EVALUATION_REASON 2)" in text
    assert text.splitlines()[-1] == "total: 4 evaluations of 2 flags; 6 failed evaluations (not in the totals)"
    one = stats(config_path, "--env", "production", "variant-seg").stdout
    assert "ns1/variant-seg: 4 evaluations, last " in one and "; 2 failed" in one
    assert "  failed UNKNOWN_ERROR_EVALUATION_REASON" in one

    app = console_on(config_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        _, panel = await open_panel(app, pilot, "variant-seg")
        assert "4 evaluations, the last at " in panel
        assert "failed evaluations (2, not in the counts above)\n  UNKNOWN_ERROR_EVALUATION_REASON" in panel, panel
