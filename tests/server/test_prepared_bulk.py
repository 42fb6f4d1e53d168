"""The OFREP bulk call without a flag list while a big namespace is still being prepared after start-up (issue 18):
it waits for the bulk keys off the event loop, as a client snapshot does, and every other request is answered
meanwhile; /health says the environment is still being prepared. Before the fix the bulk call built the keys on the
event loop, holding up every request for as long as the preparation took (seconds at 100,000 flags)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.documents.test_lazy_documents import TEXT
from tests.server.harness import FlagRepo, ServerProcess, ServerThread, wait_until, write_config
from tests.server.test_server_prepared import big_namespace

PROD = "  production: {storage: flags, directory: prod}\n"
OFREP = {"X-Flipt-Namespace": "default"}


def _health(url: str) -> dict[str, object]:
    return httpx.get(url + "/health", timeout=5).json()["environments"]["production"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("hot_lane", [True, False], ids=["hot lane", "ordinary path"])
def test_a_bulk_call_while_preparing_waits_and_the_server_answers_others_meanwhile(
        tmp_path: Path, held_preparation: threading.Event, hot_lane: bool) -> None:
    release = held_preparation
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({"prod/default/features.yaml": TEXT})
    server = ServerThread(write_config(tmp_path, repo.path, environments=PROD), hot_lane=hot_lane)
    try:
        with ThreadPoolExecutor(1) as pool:
            # the body as many clients send it: headers and body in one write, so the hot lane reads it whole
            bulk = pool.submit(server.post, "/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "u1"}},
                               headers=OFREP)
            time.sleep(0.2)  # the bulk call is in
            for key in ("first", "second"):  # answered while the bulk call waits: the event loop is not held up
                answer = server.post(f"/ofrep/v1/evaluate/flags/{key}", {"context": {"targetingKey": "u1"}},
                                     headers=OFREP)
                assert answer.status_code == 200, answer.text
            health = _health(server.url)
            assert health["prepared"] is False
            assert health["namespaces"]["default"]["prepared"] is False  # type: ignore[index]
            assert not bulk.done()
            release.set()
            answer = bulk.result(20)
        assert answer.status_code == 200, answer.text
        # the bulk keys: boolean flags and enabled variant flags, each as its own evaluation answers it
        flags = answer.json()["flags"]
        assert [f["key"] for f in flags] == ["first", "second", "third"]
        for flag in flags:
            alone = server.post(f"/ofrep/v1/evaluate/flags/{flag['key']}", {"context": {"targetingKey": "u1"}},
                                headers=OFREP)
            assert alone.json() == flag
        assert wait_until(lambda: _health(server.url)["prepared"], timeout=10, what="prepared")
    finally:
        release.set()
        server.stop()


FLAGS = 40_000  # ~8 MB: preparing it takes a few seconds on this 2-core machine (under a second at 3,000 flags)


def test_a_cheap_request_is_answered_promptly_while_a_bulk_call_waits_for_a_real_preparation(
        tmp_path: Path) -> None:
    """A real server process on a generated big namespace (no held preparation): a bulk call right after /health
    answers, a cheap evaluation meanwhile. Before the fix the cheap one waited for the whole preparation."""
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({"prod/default/features.yaml": big_namespace(FLAGS)})
    server = ServerProcess(write_config(tmp_path, repo.path, environments=PROD))
    try:
        assert _health(server.url)["prepared"] is False, "prepared before the test could ask: make FLAGS bigger"

        def timed_bulk() -> tuple[float, httpx.Response]:
            started = time.perf_counter()
            answer = httpx.post(server.url + "/ofrep/v1/evaluate/flags", headers=OFREP, timeout=60,
                                json={"context": {"targetingKey": "u1", "plan": "pro"}})
            return time.perf_counter() - started, answer

        with ThreadPoolExecutor(1) as pool:
            bulk = pool.submit(timed_bulk)
            time.sleep(0.1)  # the bulk call is in
            started = time.perf_counter()
            cheap = httpx.post(server.url + "/ofrep/v1/evaluate/flags/flag-00011", headers=OFREP, timeout=60,
                               json={"context": {"targetingKey": "u1", "plan": "pro"}})
            cheap_seconds = time.perf_counter() - started
            bulk_seconds, answer = bulk.result(60)
        assert cheap.status_code == 200 and cheap.json()["key"] == "flag-00011"
        assert answer.status_code == 200
        flags = answer.json()["flags"]
        assert len(flags) == sum(1 for i in range(FLAGS) if i % 3)  # the enabled variant flags
        assert next(f for f in flags if f["key"] == "flag-00011") == cheap.json()
        # generous bound: before the fix the cheap call waited for the preparation, seconds
        assert cheap_seconds < 1.0 and cheap_seconds < bulk_seconds, (cheap_seconds, bulk_seconds)

        # prepared now: a bulk call of its ~27,000 flags is evaluated in slices, cheap calls answered between them
        # (before, the whole bulk ran at once on the event loop and the first cheap call waited for all of it)
        assert wait_until(lambda: _health(server.url)["prepared"], timeout=30, what="prepared")
        with ThreadPoolExecutor(1) as pool, httpx.Client(timeout=60) as client:
            bulk = pool.submit(timed_bulk)
            time.sleep(0.02)  # the bulk call is in
            cheap_times = []
            while not bulk.done():
                started = time.perf_counter()
                answer = client.post(server.url + "/ofrep/v1/evaluate/flags/flag-00011", headers=OFREP,
                                     json={"context": {"targetingKey": "u1", "plan": "pro"}})
                assert answer.status_code == 200
                cheap_times.append(time.perf_counter() - started)
            bulk_seconds, answer = bulk.result(60)
        assert answer.status_code == 200 and len(answer.json()["flags"]) == len(flags)
        assert answer.json()["flags"] == flags  # the same answer, slice by slice
        assert len(cheap_times) >= 2 and max(cheap_times) < bulk_seconds / 2, (cheap_times, bulk_seconds)
    finally:
        assert server.stop() == 0
