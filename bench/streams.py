"""10,000 concurrent snapshot streams on one evaluator: memory per idle connection and commit fan-out latency.

A real evaluator (`python -m evaluator`, the `flagdeck serve` command) serves a Git repository built in a temporary
directory. Separate client processes (bench/stream_clients.py: raw asyncio protocols, no client library) open
`--clients` streams on one namespace, half NDJSON (`/client/v2/.../stream`), half SSE (`Accept: text/event-stream`),
and wait until each has its first snapshot. The server's RSS (VmRSS, summed over the workers with `--workers 2`) is
read before connecting and once every stream is idle: (after - before) / clients = memory per idle connection
(target < 30 KB). Then `--commits` times: a commit (git CLI, in this process) changes the namespace, and each client
timestamps the arrival of the new snapshot (NDJSON line with the commit's marker, SSE event with a new ETag);
latencies count from the commit's completion (target p99 < 1 s). Medians over the commits are printed.

    python bench/streams.py [--clients 10000] [--commits 5] [--workers 1,2] [--procs 2] [--repeat 1] [--against DIR]

`--against DIR` runs an evaluator from another source tree too, alternating with this one (a before/after).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.server import GIT_ENV, bench_namespace, cpu_seconds, wait_for  # noqa: E402

NAMESPACE = "live"
STREAM_PATH = f"/client/v2/environments/production/namespaces/{NAMESPACE}/stream"


class Repository:
    """A Git work tree with the streamed namespace; `commit(n)` rewrites it with marker `rev-n`."""

    def __init__(self, directory: Path, flags: int = 20):
        self.path = directory / "flags"
        self.file = self.path / NAMESPACE / "features.yaml"
        self.text = bench_namespace(flags).replace("namespace: bench", f"namespace: {NAMESPACE}")
        self.file.parent.mkdir(parents=True)
        self.file.write_text(self.text)
        self._git("init", "-q", "-b", "main")
        self._git("add", "-A")
        self._git("commit", "-q", "-m", "bench flags")
        self.config = directory / "flagdeck.yaml"
        self.config.write_text(f"storage:\n  flags: {{path: {self.path}}}\n"
                               "environments:\n  production: {storage: flags}\n")

    def _git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.path, env=GIT_ENV, check=True)

    def commit(self, marker: str) -> float:
        """Commit a change carrying `marker`; returns the monotonic time the commit completed."""
        self.file.write_text(self.text.replace("attachment: {n: 1}", f"attachment: {{n: 1, rev: {marker}}}", 1))
        self._git("commit", "-q", "-am", marker)
        return time.monotonic()


def start_server(config: Path, *options: str, source: str | None = None
                 ) -> tuple[subprocess.Popen[bytes], str, Path]:
    """The evaluator as `flagdeck serve` runs it (from the source tree `source` when given), its log going to a
    file next to `config` (a pipe nobody reads would fill and block the server); returns the process, its URL and
    the log file."""
    log = config.with_name(f"evaluator-{time.monotonic_ns()}.log")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "evaluator", "--config", str(config), "--port", "0",
                                 "--log-level", "info", *options], cwd=source or ROOT, stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": source} if source else None)
    deadline = time.monotonic() + 60
    while not (found := re.search(r"http://[\d.]+:\d+", log.read_text())):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("evaluator did not start:\n" + log.read_text())
        time.sleep(0.05)
    url = found.group(0)
    wait_for(url + "/health")
    return proc, url, log


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        print("  the evaluator did not stop within 30 s of SIGTERM: killed")
        proc.kill()
        proc.wait()


def server_pids(proc: subprocess.Popen[bytes]) -> list[int]:
    """The processes that serve: the workers under the supervisor with `--workers N`, else the process itself."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [int(c) for c in children] or [proc.pid]


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def open_fds(pids: list[int]) -> int:
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)


class ClientProcess:
    """One bench/stream_clients.py process and its line protocol."""

    def __init__(self, url: str, path: str, ndjson: int, sse: int):
        host, port = url.removeprefix("http://").split(":")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.stream_clients", host, port, path, str(ndjson),
                                      str(sse)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a stream client process ended")
        return orjson.loads(line)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, command: str) -> dict:
        self.send(command)
        return self.read()

    def stop(self) -> None:
        try:
            self.send("quit")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def open_clients(url: str, total: int, procs: int, path: str = STREAM_PATH) -> tuple[list[ClientProcess], int]:
    """`total` streams, half NDJSON and half SSE, over `procs` processes; returns them once all are ready, and how
    many failed."""
    share = [total // procs + (i < total % procs) for i in range(procs)]
    clients = [ClientProcess(url, path, n - n // 2, n // 2) for n in share]
    failed = sum(c.read()["failed"] for c in clients)
    return clients, failed


def fan_out(repo: Repository, clients: list[ClientProcess], marker: str, pids: list[int],
            timeout: float = 30) -> dict:
    """One commit; the latency of each stream's new snapshot from the commit's completion (ms), and the CPU
    seconds the server and the clients spent meanwhile."""
    for c in clients:
        c.ask(f"mark {marker}")
    client_pids = [c.proc.pid for c in clients]
    cpu = (sum(map(cpu_seconds, pids)), sum(map(cpu_seconds, client_pids)))
    committed = repo.commit(marker)
    for c in clients:
        c.send(f"collect {timeout}")
    answers = [c.read() for c in clients]
    latencies = sorted((t - committed) * 1000 for a in answers for t in a["times"])
    return {"latencies": latencies, "missing": sum(a["missing"] for a in answers),
            "errors": sum(a["errors"] for a in answers), "closed": sum(a["closed"] for a in answers),
            "server_cpu": sum(map(cpu_seconds, pids)) - cpu[0], "client_cpu": sum(map(cpu_seconds, client_pids)) - cpu[1]}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p))]


def settle(pids: list[int], seconds: float = 2.0) -> int:
    """RSS once it stops moving (connections idle, buffers released)."""
    time.sleep(seconds)
    return rss_kb(pids)


def run(config: Path, repo: Repository, workers: int, args: argparse.Namespace, round_: int,
        source: str | None = None) -> dict:
    proc, url, log = start_server(config, "--workers", str(workers), source=source)
    clients: list[ClientProcess] = []
    try:
        pids = server_pids(proc)
        warm, _ = open_clients(url, 20, 1)  # first-use allocations (imports, caches) before the baseline
        for c in warm:
            c.stop()
        before = settle(pids)
        fds_before = open_fds(pids)
        started = time.monotonic()
        clients, failed = open_clients(url, args.clients, args.procs)
        connect_s = time.monotonic() - started
        after = settle(pids, 3.0)
        fds_after = open_fds(pids)
        rounds = [fan_out(repo, clients, f"rev-{workers}-{round_}-{i}", pids) for i in range(args.commits)]
        return {"workers": workers, "before": before, "after": after, "failed": failed, "connect_s": connect_s,
                "fds": fds_after - fds_before, "rounds": rounds, "log": log.read_text().splitlines()}
    finally:
        for c in clients:
            c.stop()
        stop_server(proc)


def report(result: dict, clients: int, who: str = "") -> None:
    per_conn = (result["after"] - result["before"]) * 1024 / clients
    rounds = result["rounds"]

    def med(p: float) -> float:
        return statistics.median(percentile(r["latencies"], p) for r in rounds)

    missing = sum(r["missing"] for r in rounds)
    errors = sum(r["errors"] for r in rounds)
    print(f"{who}--workers {result['workers']}: {clients} streams connected in {result['connect_s']:.1f} s "
          f"({result['failed']} failed, +{result['fds']} server fds); RSS {result['before'] / 1024:.1f} -> "
          f"{result['after'] / 1024:.1f} MB: {per_conn / 1024:.1f} KB per idle connection "
          f"(target < 30 KB: {'ok' if per_conn < 30 * 1024 and not result['failed'] else 'MISSED'})")
    print(f"  commit -> every stream's new snapshot, median of {len(rounds)} commits: p50 {med(0.5):.0f} ms, "
          f"p90 {med(0.9):.0f} ms, p99 {med(0.99):.0f} ms, max {med(1.0):.0f} ms "
          f"(target p99 < 1 s: {'ok' if med(0.99) < 1000 and not missing and not errors else 'MISSED'}); "
          f"per commit p99/max: " + ", ".join(f"{percentile(r['latencies'], 0.99):.0f}/"
                                               f"{percentile(r['latencies'], 1.0):.0f}" for r in rounds)
          + f"; missing {missing}, wrong {errors}")
    server_cpu = statistics.median(r["server_cpu"] for r in rounds)
    client_cpu = statistics.median(r["client_cpu"] for r in rounds)
    print(f"  CPU per fan-out (median): server {server_cpu * 1000:.0f} ms ({server_cpu * 1e6 / clients:.1f} us "
          f"per stream), clients {client_cpu * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=int(os.environ.get("STREAM_CLIENTS", 10000)))
    parser.add_argument("--commits", type=int, default=5, help="commits timed per server (medians printed)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to run, in turn")
    parser.add_argument("--procs", type=int, default=2, help="client processes sharing the streams")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count")
    parser.add_argument("--log", action="store_true", help="print the server's log lines")
    parser.add_argument("--against", metavar="DIR", help="also run an evaluator from this source tree, alternating "
                        "(e.g. `git archive <rev> evaluator gitstore | tar -x -C DIR`)")
    args = parser.parse_args(argv if argv is not None else [])
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.clients} streams (half NDJSON, half SSE) from {args.procs} client processes, {args.commits} "
          f"commits per run; {os.cpu_count()} CPUs, load average {load}")
    with tempfile.TemporaryDirectory(prefix="flagdeck-streams-") as tmp:
        repo = Repository(Path(tmp))
        for round_ in range(args.repeat):
            for workers in (int(w) for w in args.workers.split(",")):
                for who, source in [("", None)] + ([("before: ", args.against)] if args.against else []):
                    result = run(repo.config, repo, workers, args, round_, source)
                    if args.log or round_ == 0:
                        for line in result["log"]:
                            if args.log or "limit" in line:
                                print(f"  log: {line}")
                    report(result, args.clients, who)


if __name__ == "__main__":
    main(sys.argv[1:])
