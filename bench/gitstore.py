"""Git store speed (issue 3 "Speed"): commit latency of a one-flag change, cold and cached snapshots, history of
one flag, and how soon a watcher notices a moved branch. Prints medians; every figure comes from the real Store on
real repositories under a temporary directory.

Run: .venv/bin/python bench/gitstore.py [--quick]
"""

# ruff: noqa: E402 - the sys.path repair below must run before the gitstore imports
from __future__ import annotations

import sys
from pathlib import Path

# This file shares its name with the `gitstore` package: when bench/ is on sys.path (`python bench/gitstore.py`,
# `python bench/run_all.py`) take it off, and if this file was imported *as* `gitstore`, let the real package
# replace it in sys.modules.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
if getattr(sys.modules.get("gitstore"), "__file__", None) == __file__:
    del sys.modules["gitstore"]

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

import pygit2

from gitstore.config import load_config
from gitstore.format.yamlio import parse_documents
from gitstore.git.refs import branch_ref
from gitstore.git.repo import build_tree, cas_ref, make_commit
from gitstore.model.changes import Change, Kind
from gitstore.store import Author, Store

AUTHOR = Author("Bench", "bench@example.com")

FLAG = """\
  - key: flag-{i}
    name: Flag {i}
    type: VARIANT_FLAG_TYPE
    description: Benchmark flag number {i}
    enabled: {enabled}
    metadata:
      owner: team-{team}
      ticket: FD-{i}
    variants:
      - key: control
        name: Control
        default: true
      - key: treatment
        name: Treatment
    rules:
      - segment: segment-{seg}
        distributions:
          - variant: control
            rollout: 50
          - variant: treatment
            rollout: 50
"""
SEGMENT = """\
  - key: segment-{i}
    name: Segment {i}
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: eq
        value: plan-{i}
"""
SEGMENTS = 10


def features(namespace: str, flags: int, segments: int = SEGMENTS) -> bytes:
    """A namespace file of `flags` variant flags (a rule and a 50/50 split each) over `segments` segments."""
    body = [f'version: "1.6"\nnamespace: {namespace}\nflags:\n']
    body += [FLAG.format(i=i, enabled="true" if i % 2 else "false", team=i % 7, seg=i % segments)
             for i in range(flags)]
    body.append("segments:\n")
    body += [SEGMENT.format(i=i) for i in range(segments)]
    return "".join(body).encode()


def make_repo(root: Path, files: dict[str, bytes]) -> Path:
    """A repository holding `files` in one commit on main, plus its flagdeck.yaml; returns the config path."""
    repo = pygit2.init_repository(str(root / "repo"), bare=True, initial_head="main")
    tree = build_tree(repo, None, files)
    cas_ref(repo, branch_ref("main"), None, make_commit(repo, tree, [], AUTHOR, "bench data"), "bench")
    config = root / "flagdeck.yaml"
    config.write_text("storage:\n  local: {path: repo}\nenvironments:\n  production: {storage: local}\n")
    return config


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def bench_commit(root: Path, label: str, files: dict[str, bytes], namespace: str, repeat: int) -> float:
    config = make_repo(root, files)
    with Store(load_config(config)) as store:
        store.snapshot("production")  # what a console has loaded before the user edits
        samples = []
        for n in range(repeat):
            base = store.head("production")
            change = Change(namespace, Kind.FLAG, "flag-1", store.snapshot("production").document(namespace)
                            .flag("flag-1").model_copy(update={"enabled": n % 2 == 0}))
            started = time.perf_counter()
            store.commit("production", [change], AUTHOR, based_on=base)
            samples.append(time.perf_counter() - started)
        git_only = _git_only_commits(store.config.storage["local"].path, namespace, repeat)
    result = median_ms(samples)
    print(f"commit, one-flag change, {label:<34} median {result:9.1f} ms  (n={repeat}); Git alone "
          f"{git_only:.1f} ms, ratio {result / git_only:.1f}x")
    return result


def _git_only_commits(path: Path, namespace: str, repeat: int) -> float:
    """The Git share of a commit, side by side: the same file bytes written as blob + trees + commit + ref swap."""
    repo = pygit2.Repository(str(path))
    ref = branch_ref("main")
    file = f"{namespace}/features.yaml"
    data = repo[repo[repo.references[ref].target].tree[file].id].data
    samples = []
    for n in range(repeat):
        changed = data + f"# {n}\n".encode()
        started = time.perf_counter()
        parent = repo.references[ref].target
        tree = build_tree(repo, repo[parent].tree, {file: changed})
        cas_ref(repo, ref, parent, make_commit(repo, tree, [parent], AUTHOR, "git only"), "bench")
        samples.append(time.perf_counter() - started)
    return median_ms(samples)


def bench_cold(root: Path, label: str, files: dict[str, bytes], repeat: int) -> float:
    """A new Store's first snapshot, interleaved with a plain YAML parse of the same files (the lower bound)."""
    config = make_repo(root, files)
    samples, raw = [], []
    for _ in range(repeat):
        with Store(load_config(config)) as store:
            started = time.perf_counter()
            snap = store.snapshot("production")
            samples.append(time.perf_counter() - started)
            assert not snap.problems, snap.problems[:3]
        raw += timed(lambda: [parse_documents(data.decode(), path) for path, data in files.items()], 1)
    result = median_ms(samples)
    print(f"cold snapshot, {label:<42} median {result:9.1f} ms  (n={repeat}); plain YAML parse alone "
          f"{median_ms(raw):.0f} ms, ratio {result / median_ms(raw):.1f}x")
    return result


def bench_cached(root: Path, files: dict[str, bytes], repeat: int) -> float:
    config = make_repo(root, files)
    with Store(load_config(config)) as store:
        store.snapshot("production")
        samples = timed(lambda: store.snapshot("production"), repeat)
    result = statistics.median(samples) * 1e6
    print(f"cached snapshot (same commit), 10,000 flags{'':<15} median {result:9.1f} µs  (n={repeat})")
    return result


def bench_history(root: Path, commits: int, repeat: int) -> float:
    config = make_repo(root, {"default/features.yaml": features("default", 20)})
    repo = pygit2.Repository(str(root / "repo"))
    ref = branch_ref("main")
    with Store(load_config(config)) as store:
        doc = store.snapshot("production").document("default")
        for n in range(commits):  # 1 in 10 commits touches flag-3, the rest other flags
            key = "flag-3" if n % 10 == 0 else f"flag-{5 + n % 10}"
            flag = doc.flag(key).model_copy(update={"description": f"revision {n}"})
            store.commit("production", [Change("default", Kind.FLAG, key, flag)], AUTHOR)
        assert len(list(repo.walk(repo.references[ref].target))) == commits + 1
        samples = timed(lambda: store.history("production", "default", flag="flag-3", limit=1000), repeat)
        found = store.history("production", "default", flag="flag-3", limit=1000)
        namespace = timed(lambda: store.history("production", "default", limit=1000), repeat)
    assert len(found) == commits // 10 + 1, len(found)
    result = median_ms(samples)
    print(f"history of one flag over {commits} commits ({len(found)} entries){'':<9} median {result:9.1f} ms  "
          f"(n={repeat}; namespace history with diffs: {median_ms(namespace):.0f} ms)")
    return result


def bench_object_cache(root: Path, rounds: int) -> None:
    """libgit2's object cache, which the store turns off (gitstore/git/repo.py), turned on and off in alternate rounds:
    a new Store's history of one flag over bench_history's 1,000 commits, and its cold snapshot of 1,000 namespaces."""
    samples: dict[tuple[str, bool], list[float]] = {}
    for _ in range(rounds):
        for on in (True, False):
            pygit2.settings.enable_caching(on)
            for name, directory, read in (
                    ("history", "history", lambda s: s.history("production", "default", flag="flag-3", limit=1000)),
                    ("cold snapshot", "cold1000", lambda s: s.snapshot("production"))):
                with Store(load_config(root / directory / "flagdeck.yaml")) as store:
                    pygit2.settings.enable_caching(on)  # opening the store turned it off
                    started = time.perf_counter()
                    read(store)
                    samples.setdefault((name, on), []).append(time.perf_counter() - started)
    pygit2.settings.enable_caching(False)
    for name in ("history", "cold snapshot"):
        on, off = median_ms(samples[(name, True)]), median_ms(samples[(name, False)])
        print(f"libgit2 object cache, {name:<36} median on {on:7.1f} ms, off {off:7.1f} ms: ratio off/on "
              f"{off / on:.2f} (n={rounds})")


def bench_watch(root: Path, repeat: int) -> float:
    config = make_repo(root, {"default/features.yaml": features("default", 10)})
    latencies: list[float] = []
    with Store(load_config(config)) as store:
        moved = threading.Event()
        store.watch(lambda env, commit: moved.set())
        repo = pygit2.Repository(str(root / "repo"))
        ref = branch_ref("main")
        for n in range(repeat):  # another handle (as another process would) moves the branch
            moved.clear()
            parent = repo.references[ref].target
            tree = build_tree(repo, repo[parent].tree, {"README.md": f"{n}\n".encode()})
            commit = make_commit(repo, tree, [parent], AUTHOR, f"outside {n}")
            started = time.perf_counter()
            cas_ref(repo, ref, parent, commit, "outside")
            moved.wait(5)
            latencies.append(time.perf_counter() - started)
    result = median_ms(latencies)
    print(f"watch notices a branch moved by another writer{'':<12} median {result:9.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms (n={repeat})")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv if argv is not None else [])
    reps = 3 if args.quick else 9
    with tempfile.TemporaryDirectory(prefix="flagdeck-bench-") as tmp:
        root = Path(tmp)
        small = bench_commit(root / "c100", "namespace of 100 flags", {"default/features.yaml": features("default", 100)},
                             "default", reps * 3)
        big_file = features("default", 10_000)
        big = bench_commit(root / "c10k", "namespace of 10,000 flags", {"default/features.yaml": big_file},
                           "default", reps)
        many = {f"ns{i:04}/features.yaml": features(f"ns{i:04}", 10) for i in range(1000)}
        wide = bench_commit(root / "c1000ns", "repository of 1,000 namespaces", many, "ns0500", reps * 3)
        cold_one = bench_cold(root / "cold1", "10,000 flags in one file", {"default/features.yaml": big_file},
                              max(3, reps // 3))
        cold_many = bench_cold(root / "cold1000", "10,000 flags in 1,000 files", many, max(3, reps // 3))
        cached = bench_cached(root / "cached", {"default/features.yaml": big_file}, 1000)
        bench_history(root / "history", 1000, max(3, reps // 3))
        bench_object_cache(root, max(3, reps // 2))
        watch = bench_watch(root / "watch", 20)
    print(f"targets: commit at 100 flags {small:.1f} ms (< 20), at 10,000 flags {big:.1f} ms (< 100), "
          f"1,000 namespaces {wide:.1f} ms; cold 10k snapshot {cold_one:.0f} / {cold_many:.0f} ms (< 1000); "
          f"cached {cached:.1f} µs; watch {watch:.0f} ms (< 100)")
    print(f"ratio cold/cached snapshot (10,000 flags, one file): {cold_one * 1000 / cached:,.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
