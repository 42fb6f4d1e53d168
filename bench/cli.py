"""Command-line speed (issue 18): `flagdeck --help`, `validate`, `export --format json`, `eval`, the evaluator's
cold start until /health serves, the console's first screen and a one-flag commit, on generated repositories of
1,000 / 10,000 / 100,000 flags (one namespace, N variant flags with a rule and a 50/50 split, 100 segments; the
100,000-flag file is ~46 MB of YAML). Every command runs as a fresh process, as a user or a CI gate runs it.

Printed side by side with the floor, `git show HEAD:<file> | wc -c` (reading the blob and nothing else); each
figure is the median of several runs taken in alternation, so a busy machine slows them alike. Commands that read
the environment run twice per round: `cold` with an empty state directory (no parse cache) and `warm` once the
cache holds the file; flagdeck.yaml was validated before in both (the cache of validated configurations,
`gitstore/config_cache.py`), except in the row "eval, flagdeck.yaml just edited" ("console: open the namespace": from opening the big namespace in a console started on a small
one to its rows on screen). The evaluator's start is timed until /health answers, then until a first evaluation and the
namespace's client snapshot, each asked as soon as the previous answered (a big namespace is prepared after
/health answers: evaluations compile their flag meanwhile, the snapshot waits for its body, written first).

Run: .venv/bin/python bench/cli.py [--sizes 1000,10000,100000] [--runs N] [--no-console] [--against DIR]
     [--commit-only] [--commit-runs N]
`make bench` runs 1,000 and 10,000 flags (~3 minutes); 100,000 flags is opt-in (`--sizes 1000,10000,100000` or
BENCH_CLI_SIZES=1000,10000,100000 make bench): generating it takes seconds, but one round of its commands takes
3-4 minutes on 2 cores, so it runs at most 3 rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]  # bench/gitstore.py shadows gitstore
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import timed  # noqa: E402

FLAGDECK = str(Path(sys.executable).with_name("flagdeck"))
SEGMENTS = 100
FILE = "default/features.yaml"
CONFIG = "storage:\n  local: {path: repo, branch: main}\nenvironments:\n  production: {storage: local, default: true}\n"


def features(flags: int) -> bytes:
    """The issue's repository: one namespace of `flags` variant flags with a rule and a 50/50 split, 100 segments."""
    from bench.gitstore import features as namespace_file

    return namespace_file("default", flags, SEGMENTS)


def make_repo(root: Path, flags: int) -> Path:
    """`root/flagdeck.yaml` and a bare repository `root/repo` whose branch main holds one namespace of `flags`."""
    from gitstore.git.refs import branch_ref
    from gitstore.git.repo import build_tree, cas_ref, make_commit, open_repository
    from gitstore.results import Author

    root.mkdir(parents=True)
    (root / "flagdeck.yaml").write_text(CONFIG)
    repo = open_repository(root / "repo")
    repo.set_head(branch_ref("main"))
    tree = build_tree(repo, None, {FILE: features(flags)})
    commit = make_commit(repo, tree, [], Author("Bench", "bench@localhost"), "create namespace default")
    cas_ref(repo, branch_ref("main"), None, commit, "bench")
    return root / "flagdeck.yaml"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-1500:]}")


SERVE_ROWS = ("serve until /health", "  + 1st evaluation", "  + client snapshot")


def serve_start(cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """`flagdeck serve --port 0`: seconds from process start until GET /health answers SERVING, until a variant
    evaluation of flag-7 answers (asked right after), and until the namespace's client snapshot has arrived (asked
    right after that); then the server is stopped (not timed)."""
    started = time.perf_counter()
    proc = subprocess.Popen([FLAGDECK, "serve", "--config", "flagdeck.yaml", "--port", "0"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"flagdeck serve did not start: {line}{proc.communicate(timeout=10)[1][-1500:]}")
        base = line.split("listening on ", 1)[1].split()[0]
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=60) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("/health never answered 200") from None
                time.sleep(0.005)
        health = time.perf_counter() - started
        body = b'{"namespaceKey": "default", "flagKey": "flag-7", "entityId": "u1", "context": {}}'
        ask = urllib.request.Request(base + "/evaluate/v1/variant", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(ask, timeout=120) as answer:
            if b'"variantKey"' not in answer.read():
                raise RuntimeError("the evaluation did not answer a variant")
        evaluation = time.perf_counter() - started
        with urllib.request.urlopen(base + "/internal/v1/evaluation/snapshot/namespace/default",
                                    timeout=120) as answer:
            if b'"flags"' not in answer.read():
                raise RuntimeError("the client snapshot has no flags")
        return health, evaluation, time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def console_first_screen(config: Path, env: dict[str, str], root: Path = ROOT) -> None:
    from bench.console import first_screen

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        first_screen(config, root)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def console_enter_namespace(root: Path, flags: int, env: dict[str, str]) -> float:
    """Seconds from opening the namespace of `flags` flags in a console started on a small namespace (`small`, as
    one opens it from the namespace list) to the first frame showing its rows; the environment's files are parsed
    by then (the first screen read them), so this is the list's own cost. The repository is made once."""
    from bench.console import enter_namespace

    config = root / "flagdeck.yaml"
    if not config.exists():
        from gitstore.git.refs import branch_ref
        from gitstore.git.repo import build_tree, cas_ref, make_commit, open_repository
        from gitstore.results import Author

        root.mkdir(parents=True)
        config.write_text(CONFIG)
        repo = open_repository(root / "repo")
        repo.set_head(branch_ref("main"))
        tree = build_tree(repo, None, {FILE: features(flags), "small/features.yaml": SMALL})
        commit = make_commit(repo, tree, [], Author("Bench", "bench@localhost"), "create namespaces")
        cas_ref(repo, branch_ref("main"), None, commit, "bench")
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return enter_namespace(config, "small", "default", flags)
    finally:
        os.environ.clear()
        os.environ.update(saved)


SMALL = b"""version: "1.6"\nnamespace: small\nflags:\n  - {key: one, name: One, type: BOOLEAN_FLAG_TYPE, enabled: true}\n"""


FIRST_ROW = "  first after the store opens"


def _copy(config: Path, suffix: str) -> Path:
    """A copy of the repository of `config` and of the config, beside it; the copy's config."""
    other = config.parent.parent / f"{config.parent.name}-{suffix}"
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(config.parent / "repo", other / "repo")
    shutil.copy(config, other / "flagdeck.yaml")
    return other / "flagdeck.yaml"


def commit_one_flag(config: Path, runs: int, against: Path | None = None
                    ) -> dict[str, dict[str, list[float]]]:
    """A one-flag commit through a Store that has the snapshot loaded (as the console and the SSH sessions do),
    right after another writer's commit, then the next one in a row, side by side with Git alone writing the same
    bytes (blob, trees, commit, ref swap), each round on other flags (a new blob to hash, compress and write);
    bench/commit_worker.py runs them in a process of its own. With `against`, that source tree's store does the
    same on its own copy of the repository, in alternation (the `before` column). Each round also makes the first
    commit of a Store just opened (FIRST_ROW: a fresh process reads the snapshot and the document, then toggles a
    flag; `commit_worker.py --first`), on a copy of its own. Seconds per row and column."""
    workers = [(ROOT, config)]
    if against is not None:
        workers.append((against, _copy(config, "before")))
    firsts = [(tree, _copy(where, "first")) for tree, where in workers]
    procs = []
    rows = ("one-flag commit (store warm)", "  the next one in a row", "  Git alone, same bytes")
    times: dict[str, dict[str, list[float]]] = {row: {} for row in (*rows[:2], FIRST_ROW, rows[2])}
    try:
        for tree, where in workers:
            proc = subprocess.Popen([sys.executable, str(BENCH / "commit_worker.py"), str(tree), str(where)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            procs.append(proc)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"bench/commit_worker.py did not start for {tree}")
        for n in range(runs):
            order = list(range(len(procs)))
            for i in order if n % 2 == 0 else order[::-1]:
                stdin, stdout = procs[i].stdin, procs[i].stdout
                assert stdin is not None and stdout is not None
                stdin.write(f"{2 * n + 1}\n")
                stdin.flush()
                for row, seconds in zip(rows, map(float, stdout.readline().split()), strict=True):
                    if i == 0 or row != rows[-1]:
                        times[row].setdefault("before" if i else "cold", []).append(seconds)
                tree, where = firsts[i]
                done = subprocess.run([sys.executable, str(BENCH / "commit_worker.py"), str(tree), str(where),
                                       "--first", str(500 + n)], stdout=subprocess.PIPE, text=True, check=True)
                times[FIRST_ROW].setdefault("before" if i else "cold", []).append(
                    float(done.stdout.split()[-1]))
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=60)
    return times


def measure(flags: int, runs: int, workdir: Path, console: bool, against: Path | None = None,
            commit_only: bool = False, commit_runs: int = 5) -> dict[str, dict[str, float]]:
    """Median seconds per row and column (`cold`: no parse cache; `warm`: a second run, cache filled; `before`:
    the same command from the source tree `against`, in the same rounds); `commit_only`: the commit rows only."""
    root = workdir / f"flags-{flags}"
    started = time.perf_counter()
    config = make_repo(root, flags)
    size = len(features(flags))
    print(f"-- {flags:,} flags: {size / 1e6:.1f} MB of YAML, repository made in {time.perf_counter() - started:.1f} s",
          flush=True)
    state = root / "state"
    env = dict(os.environ, FLAGDECK_STATE_DIR=str(state), FLAGDECK_CONFIG_CACHE=str(root / "config-cache"))
    old = dict(env, PYTHONPATH=str(against)) if against is not None else None
    out = root / "export.json"
    commands: dict[str, list[str]] = {
        "validate": [FLAGDECK, "validate", "--env", "production", "--config", "flagdeck.yaml"],
        "export": [FLAGDECK, "export", "--env", "production", "--config", "flagdeck.yaml", "--format", "json",
                   "-o", str(out)],
        "eval": [FLAGDECK, "eval", "--env", "production", "--config", "flagdeck.yaml", "-n", "default", "flag-7",
                 "-e", "u1"],
    }

    def reset() -> None:
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(root / "repo" / "flagdeck", ignore_errors=True)  # the parse cache (gitstore.format.cache)

    rows: dict[str, dict[str, list[float]]] = {}

    def add(row: str, column: str, seconds: float) -> None:
        rows.setdefault(row, {}).setdefault(column, []).append(seconds)

    floor = ["sh", "-c", f"git --git-dir=repo show HEAD:{FILE} | wc -c"]
    run(commands["validate"], root, env)  # flagdeck.yaml as a user has it: validated by an earlier command
    for _ in range(0 if commit_only else runs):
        add("git show | wc -c (floor)", "cold", timed(lambda: run(floor, root, env)))
        for name, args in (("flagdeck --help", [FLAGDECK, "--help"]),
                           ("flagdeck validate --help", [FLAGDECK, "validate", "--help"])):
            add(name, "cold", timed(lambda a=args: run(a, root, env)))  # type: ignore[misc]
            if old is not None:
                add(name, "before", timed(lambda a=args: run(a, root, old)))  # type: ignore[misc]
        for name, args in commands.items():
            if old is not None:  # cold too: both trees' loaders may have the same fingerprint, so share entries
                reset()
                add(name, "before", timed(lambda a=args: run(a, root, old)))  # type: ignore[misc]
            reset()
            add(name, "cold", timed(lambda a=args: run(a, root, env)))  # type: ignore[misc]
            add(name, "warm", timed(lambda a=args: run(a, root, env)))  # type: ignore[misc]
        reset()
        shutil.rmtree(root / "config-cache", ignore_errors=True)
        add("eval, flagdeck.yaml just edited", "cold", timed(lambda: run(commands["eval"], root, env)))
        for column, environ in ((("before", old),) if old is not None else ()) + (("cold", env), ("warm", env)):
            if column != "warm":
                reset()
            for row, seconds in zip(SERVE_ROWS, serve_start(root, environ), strict=True):  # type: ignore[arg-type]
                add(row, column, seconds)
        if console:
            if against is not None:
                reset()
                add("console first screen", "before", timed(lambda: console_first_screen(config, env, against)))
            reset()
            add("console first screen", "cold", timed(lambda: console_first_screen(config, env)))
            add("console first screen", "warm", timed(lambda: console_first_screen(config, env)))
            add("console: open the namespace", "warm", console_enter_namespace(workdir / f"two-{flags}", flags, env))
    rows |= commit_one_flag(config, max(runs, commit_runs), against)
    return {row: {col: statistics.median(v) for col, v in cols.items()} for row, cols in rows.items()}


def bytecode(tree: Path) -> None:
    """Compile the source tree's packages to bytecode, as installing a package does (pip compiles on install), so
    that no command compiles its modules at start: with PYTHONDONTWRITEBYTECODE set (as in this project's shells
    and many CI images) a source tree is compiled anew by every process, ~60 ms of a 1,000-flag `validate` that no
    installed `flagdeck` pays. Both trees alike, for `--against`."""
    import compileall

    for package in ("app", "evaluator", "gitstore"):
        compileall.compile_dir(tree / package, quiet=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=os.environ.get("BENCH_CLI_SIZES", "1000,10000"))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_CLI_RUNS", "5")))
    parser.add_argument("--no-console", action="store_true", help="skip the console's first screen")
    parser.add_argument("--against", type=Path, default=None,
                        help="another source tree (e.g. an export of an older commit): its commands run in the same "
                             "rounds, in a `before` column (the console's first screen too, cold; its one-flag "
                             "commits alternate with this tree's, each store in its own process)")
    parser.add_argument("--commit-only", action="store_true", help="only the one-flag commit rows")
    parser.add_argument("--commit-runs", type=int, default=5, help="one-flag commits per side (at least --runs)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for tree in (ROOT, args.against) if args.against is not None else (ROOT,):
        bytecode(tree)
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        for flags in sizes:
            runs = args.runs if flags < 100_000 else min(args.runs, 3)
            results[flags] = measure(flags, runs, Path(tmp), not args.no_console, args.against, args.commit_only,
                                     args.commit_runs)
    print_table(sizes, results)


def print_table(sizes: list[int], results: dict[int, dict[str, dict[str, float]]]) -> None:
    rows = list(dict.fromkeys(row for flags in sizes for row in results[flags]))
    before = any("before" in cols for flags in sizes for cols in results[flags].values())
    title = "median ms (before -> cold / warm)" if before else "median ms (cold / warm)"
    head = f"{title:<34}" + "".join(f"{f'{flags:,} flags':>26}" for flags in sizes)
    print(head)
    print("-" * len(head))
    for row in rows:
        cells = []
        for flags in sizes:
            found = results[flags].get(row, {})
            cell = " / ".join(f"{found[col] * 1000:.0f}" for col in ("cold", "warm") if col in found)
            if "before" in found:
                cell = f"{found['before'] * 1000:.0f} -> {cell}"
            cells.append(f"{cell:>26}")
        print(f"{row:<34}" + "".join(cells))
    if all("git show | wc -c (floor)" in results[flags] for flags in sizes):
        floor = {flags: results[flags]["git show | wc -c (floor)"]["cold"] for flags in sizes}
        print("ratio to the floor (warm where measured): " + "; ".join(
            f"{flags:,} flags: " + ", ".join(
                f"{row} {(results[flags][row].get('warm') or results[flags][row]['cold']) / floor[flags]:.0f}x"
                for row in ("validate", "export", "eval"))
            for flags in sizes))
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
