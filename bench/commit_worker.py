"""bench/cli.py's one-flag commit rows, run by the source tree given: a Store of that tree, warm on the repository
given, commits a toggle of flag-N for each line `N` read (the first commit after the store read a file another
writer changed: its positions are found anew), then a toggle of flag-(N+1) right after (the next commit in a row:
the writer kept them), then Git alone writes another writer's edit of those bytes (`other_writer`: a flag in
the middle of the file toggled, a line added; blob, trees, commit, ref swap) and the store follows that commit, as
it would (its snapshot is read before the next round: the parse is not timed, as a console or an SSH session has
read the new commit before its user commits); prints the three times in seconds. With
`--against DIR`, bench/cli.py runs one of these for each tree, each on its own copy of the repository, in
alternation.

With `--first N`: the first commit after a Store starts instead (a console just opened, a `flagdeck flag set`):
this fresh process opens a Store, reads the snapshot and the namespace's document as the console and the CLI read
them and freezes what it read out of the garbage collector's way as the console does (not timed), toggles flag-N
(timed), prints its seconds and ends; nothing is kept in memory from an earlier commit.
`BENCH_PROFILE=FILE` writes that commit's cProfile to FILE.

Run by bench/cli.py: python bench/commit_worker.py SOURCE_TREE CONFIG [--first N]
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/gitstore.py shadows gitstore
sys.path.insert(0, str(Path(sys.argv[1]).resolve()))

import pygit2  # noqa: E402

from gitstore.config import load_config  # noqa: E402
from gitstore.git.refs import branch_ref  # noqa: E402
from gitstore.git.repo import build_tree, cas_ref, make_commit  # noqa: E402
from gitstore.model.changes import Change, Kind  # noqa: E402
from gitstore.store import Author, Store  # noqa: E402

FILE = "default/features.yaml"


def other_writer(data: bytes, n: int) -> bytes:
    """Another writer's edit: the flag in the middle of the file toggled (its line `enabled: ...`), and a comment
    line added at the end (a different line each round)."""
    at = data.index(b"\n    enabled: ", len(data) // 2)
    end = data.index(b"\n", at + 1)
    value = b"false" if data[at:end].endswith(b"true") else b"true"
    return data[:at] + b"\n    enabled: " + value + data[end:] + f"# {n}\n".encode()


def first_commit(config: Path, n: int) -> None:
    """`--first N` (the module docstring)."""
    import os

    with Store(load_config(config)) as store:
        key = f"flag-{n}"
        flag = store.snapshot("production").document("default").flag(key)
        change = Change("default", Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))
        base = store.head("production")
        # as the console does once it has read (app/session_loading.py): without it, the collector's next full
        # pass over the 700,000 objects just built (~0.4 s) lands wherever it falls due, often in this commit
        gc.freeze()
        profile = os.environ.get("BENCH_PROFILE")
        if profile:  # the commit runs on the repository's thread: profiled there
            import cProfile

            profiler = cProfile.Profile()
            store.run_on("production", lambda _repo: profiler.enable())
        started = time.perf_counter()
        store.commit("production", [change], Author("Bench", "bench@localhost"), based_on=base)
        seconds = time.perf_counter() - started
        if profile:
            store.run_on("production", lambda _repo: profiler.disable())
            profiler.dump_stats(profile)
        print(seconds, flush=True)


def main() -> None:
    config = Path(sys.argv[2])
    if sys.argv[3:4] == ["--first"]:
        first_commit(config, int(sys.argv[4]))
        return
    author = Author("Bench", "bench@localhost")
    repo = pygit2.Repository(str(config.parent / "repo"))
    ref = branch_ref("main")
    with Store(load_config(config)) as store:
        store.snapshot("production")
        print("ready", flush=True)
        def toggle(key: str) -> float:
            flag = store.snapshot("production").document("default").flag(key)
            change = Change("default", Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))
            base = store.head("production")
            started = time.perf_counter()
            store.commit("production", [change], author, based_on=base)
            return time.perf_counter() - started

        for line in sys.stdin:
            n = int(line)
            first, second = toggle(f"flag-{n}"), toggle(f"flag-{n + 1}")
            started = time.perf_counter()
            parent = repo.references[ref].target
            data = other_writer(repo[repo[parent].tree[FILE].id].data, n)
            tree = build_tree(repo, repo[parent].tree, {FILE: data})
            cas_ref(repo, ref, parent, make_commit(repo, tree, [parent], author, "git only"), "bench")
            print(first, second, time.perf_counter() - started, flush=True)
            store.snapshot("production")  # the store follows the outside commit, as it would


if __name__ == "__main__":
    main()
