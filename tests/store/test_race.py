"""Real processes racing on one branch: every commit survives (compare-and-swap on the ref + per-resource rebase)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pygit2

from gitstore.config import load_config
from gitstore.store import Author, Store

from .conftest import put_flag, single_env_config

WRITERS = 3
COMMITS = 12


def _writer(config: str, index: int, barrier, results) -> None:  # noqa: ANN001 - multiprocessing proxies
    store = Store(load_config(config))
    author = Author(f"Writer {index}", f"writer{index}@example.com")
    barrier.wait(timeout=30)
    rebased = 0
    for n in range(COMMITS):
        base = store.head("production")  # what this writer "saw" before editing
        result = store.commit("production", [put_flag(f"w{index}-{n}", n % 2 == 0)], author, based_on=base)
        rebased += result.rebased
    store.close()
    results.put((index, rebased))


def test_racing_processes_never_lose_a_commit(tmp_path: Path) -> None:
    config = single_env_config(tmp_path)
    Store(load_config(config)).close()  # create the repository before the race
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(config), i, barrier, results)) for i in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    outcome = dict(results.get(timeout=5) for _ in procs)
    print("rebased per writer:", outcome)
    assert set(outcome) == set(range(WRITERS))
    with Store(load_config(config)) as store:
        doc = store.snapshot("production").document("default")
        expected = {f"w{i}-{n}" for i in range(WRITERS) for n in range(COMMITS)}
        assert {f.key for f in doc.flags} == expected
        assert all(doc.flag(f"w{i}-{n}").enabled == (n % 2 == 0) for i in range(WRITERS) for n in range(COMMITS))
    repo = pygit2.Repository(str(tmp_path / "repo"))
    messages = [c.message for c in repo.walk(repo.references["refs/heads/main"].target)]
    assert len(messages) == WRITERS * COMMITS + 1  # + Flipt's "add initial README"
    assert sorted(m for m in messages if m.startswith("create flag")) == sorted(
        f"create flag default/{key}" for key in expected)
