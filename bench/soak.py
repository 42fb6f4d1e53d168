"""Soak: minutes of mixed evaluation load, 1,000 open streams and one commit per second on one evaluator.

The evaluator (`python -m evaluator`, i.e. `flagdeck serve`) serves a Git repository built in a temporary directory.
Debian's `wrk` keeps it busy with a rotating mix of requests (variant, boolean, batch, OFREP single and bulk, client
snapshot, /health) for the whole run; a separate client process (bench/stream_clients.py) holds `--streams`
streams, half NDJSON and half SSE; this process commits (git CLI) once a second and checks that every stream gets
each commit's snapshot. RSS and open file descriptors of the server are sampled every `--sample` seconds.

Printed: errors (wrk socket errors and non-2xx/3xx answers, wrong or missing stream messages), dropped streams (a
stream that closed, or missed a commit's snapshot for 10 s), commit-to-stream p99, and the least-squares slopes of
RSS (KB/min) and fds (per min), over the whole run and over its second half (after warm-up).

    python bench/soak.py [--minutes 10] [--streams 1000] [--connections 16]

`make bench` runs it for $SOAK_MINUTES minutes (1 when unset).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.streams import (  # noqa: E402
    NAMESPACE,
    Repository,
    fan_out,
    open_clients,
    open_fds,
    percentile,
    rss_kb,
    server_pids,
    start_server,
    stop_server,
)

MISSED_AFTER = 10.0  # seconds a stream may take to get a commit's snapshot before it counts as dropped


def mixed_script(directory: Path) -> Path:
    """A wrk script cycling through the evaluation requests (built in `init`, one per call of `request`)."""
    ctx = '{"plan":"pro"}'
    variant = f'{{"namespaceKey":"{NAMESPACE}","flagKey":"flag-0","entityId":"user-1","context":{ctx}}}'
    boolean = f'{{"namespaceKey":"{NAMESPACE}","flagKey":"flag-1","entityId":"user-2","context":{ctx}}}'
    batch = ('{"requests":[' + ",".join(
        f'{{"namespaceKey":"{NAMESPACE}","flagKey":"flag-{i}","entityId":"user-3","context":{ctx}}}'
        for i in range(10)) + "]}")
    ofrep = '{"context":{"targetingKey":"user-4","plan":"pro"}}'
    json_headers = '{["Content-Type"] = "application/json"}'
    ofrep_headers = f'{{["Content-Type"] = "application/json", ["X-Flipt-Namespace"] = "{NAMESPACE}"}}'
    calls = [
        ("POST", "/evaluate/v1/variant", json_headers, variant),
        ("POST", "/evaluate/v1/boolean", json_headers, boolean),
        ("POST", "/evaluate/v1/batch", json_headers, batch),
        ("POST", "/ofrep/v1/evaluate/flags/flag-1", ofrep_headers, ofrep),
        ("POST", "/ofrep/v1/evaluate/flags", ofrep_headers, ofrep),
        ("GET", f"/internal/v1/evaluation/snapshot/namespace/{NAMESPACE}", "{}", None),
        ("GET", "/health", "{}", None),
    ]
    lines = ["local requests = {}", "local i = 0", "init = function(args)"]
    for n, (method, path, headers, body) in enumerate(calls, 1):
        lua_body = "nil" if body is None else "[[" + body + "]]"
        lines.append(f'  requests[{n}] = wrk.format("{method}", "{path}", {headers}, {lua_body})')
    lines += ["end", "request = function()", "  i = i % #requests + 1", "  return requests[i]", "end"]
    path = directory / "mixed.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk_errors(out: str) -> tuple[int, int, str]:
    """(requests, errors, summary) from wrk's report: socket errors plus non-2xx/3xx answers."""
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    latency = re.search(r"\s99%\s+([\d.]+\w+)", out)
    summary = (f"{requests} requests ({float(rps.group(1)) if rps else 0:.0f}/s, p99 "
               f"{latency.group(1) if latency else '?'})")
    return requests, errors, summary


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points."""
    if len(points) < 2:
        return float("nan")
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")


def soak(args: argparse.Namespace) -> int:
    """Run the soak and print its figures; returns the number of problems (errors + dropped streams)."""
    seconds = args.minutes * 60
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"soak: {args.minutes:g} min, {args.streams} streams (half NDJSON, half SSE), one commit per second, "
          f"wrk -c{args.connections} mixed evaluation load; {os.cpu_count()} CPUs, load average {load}")
    with tempfile.TemporaryDirectory(prefix="flagdeck-soak-") as tmp:
        directory = Path(tmp)
        repo = Repository(directory)
        proc, url, log = start_server(repo.config)
        clients = []
        wrk = None
        try:
            pids = server_pids(proc)
            clients, failed = open_clients(url, args.streams, 1)
            script = mixed_script(directory)
            wrk = subprocess.Popen(["wrk", "-t1", f"-c{args.connections}", f"-d{int(seconds)}s", "--timeout", "10s",
                                    "--latency", "-s", str(script), url], stdout=subprocess.PIPE, text=True)
            started = time.monotonic()
            samples: list[tuple[float, int, int]] = []
            next_sample = started + 2  # once wrk has connected
            commits = missing = wrong = 0
            p99s: list[float] = []
            while (now := time.monotonic()) - started < seconds:
                if now >= next_sample:
                    samples.append(((now - started) / 60, rss_kb(pids), sum(open_fds([p]) for p in pids)))
                    next_sample += args.sample
                result = fan_out(repo, clients, f"soak-{commits}", pids, MISSED_AFTER)
                commits += 1
                missing += result["missing"]
                wrong += result["errors"]
                p99s.append(percentile(result["latencies"], 0.99))
                time.sleep(max(0.0, started + commits - time.monotonic()))
            samples.append(((time.monotonic() - started) / 60, rss_kb(pids), open_fds(pids)))
            out, _ = wrk.communicate(timeout=seconds + 60)
            requests, wrk_failed, summary = wrk_errors(out)
            stats = clients[0].ask("stats")
        finally:
            if wrk is not None and wrk.poll() is None:
                wrk.kill()
            for c in clients:
                c.stop()
            stop_server(proc)
        closed = stats["closed"]
        dropped = closed + missing
        errors = wrk_failed + wrong + stats["errors"] + failed
        half = [s for s in samples if s[0] >= samples[-1][0] / 2]
        print(f"  evaluation load: {summary}, {wrk_failed} errors")
        print(f"  streams: {stats['open']} open at the end, {closed} closed, {missing} missed updates, {wrong} wrong "
              f"messages; {commits} commits, commit-to-stream p99 median {statistics.median(p99s):.0f} ms, "
              f"max {max(p99s):.0f} ms")
        print(f"  RSS {samples[0][1] / 1024:.1f} -> {samples[-1][1] / 1024:.1f} MB, slope "
              f"{slope([(t, r) for t, r, _ in samples]):+.1f} KB/min (second half "
              f"{slope([(t, r) for t, r, _ in half]):+.1f} KB/min); fds {samples[0][2]} -> {samples[-1][2]}, slope "
              f"{slope([(t, f) for t, _, f in samples]):+.2f}/min (second half "
              f"{slope([(t, f) for t, _, f in half]):+.2f}/min); {len(samples)} samples")
        print(f"  errors {errors}, dropped streams {dropped}: {'ok' if not errors and not dropped else 'FAILED'}")
        return errors + dropped


def main(argv: list[str] | None = None) -> None:
    """From the command line (`argv` given) a soak lasts 10 minutes; from `make bench` (bench/run_all.py, no argv)
    $SOAK_MINUTES, else 1."""
    default = float(os.environ.get("SOAK_MINUTES", 10 if argv is not None else 1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=default)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16, help="wrk connections for the evaluation load")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS/fd samples")
    args = parser.parse_args(argv if argv is not None else [])
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk")
        return
    if soak(args):
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
