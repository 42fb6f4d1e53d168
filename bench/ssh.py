"""bench/ssh.py: the console over SSH.

1. Time from starting `ssh` to the first rendered flag list (the demo's flag keys on screen), measured side by side
   with the same console started directly on a local pseudo-terminal: the ratio is what SSH adds.
2. Memory per connected session with 10 sessions open at once: RSS and PSS of each session's console process, and
   how much the server itself grew.

Run: `.venv/bin/python bench/ssh.py [--runs N] [--sessions N]`. Needs OpenSSH's `ssh` and `ssh-keygen`.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

MARKER = "new-checkout"  # a flag key of the demo namespace: on screen once the flag list has rendered
ANSI = re.compile(rb"\x1b\[[0-9;?<>=!$]*[ -/]*[@-~]|\x1b[P\]X^_].*?(?:\x07|\x1b\\)|\x1b[@-Z\\-_]", re.S)
COLS, ROWS = 120, 40


def spawn_on_pty(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    return proc, master


def wait_for_marker(master: int, started: float, timeout: float = 30) -> float:
    """Seconds from `started` until MARKER appears in the PTY's output with escape sequences removed."""
    seen = b""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready:
            continue
        try:
            seen += os.read(master, 65536)
        except OSError:
            break
        if MARKER.encode() in ANSI.sub(b"", seen):
            return time.perf_counter() - started
    tail = ANSI.sub(b"", seen)[-400:].decode(errors="replace")
    raise RuntimeError(f"no flag list within {timeout} s; last output: {tail!r}")


def stop(proc: subprocess.Popen[bytes], master: int) -> None:
    try:
        os.killpg(proc.pid, signal.SIGHUP)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    os.close(master)


class Server:
    def __init__(self, argv: list[str], cwd: Path):
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.wait("server_start")["port"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def wait(self, event: str, count: int = 1, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [e for e in self.events if e["event"] == event]
            if len(found) >= count:
                return found[count - 1]
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read() if self.proc.stderr else ''}")
            time.sleep(0.02)
        raise RuntimeError(f"no {event!r} log line; got {self.events}")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def setup(work: Path) -> tuple[Path, Path, Path]:
    from gitstore.demo import init_demo

    config = init_demo(work / "flags")
    key = work / "id_bench"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    users = work / "users.yaml"
    public = key.with_suffix(".pub").read_text().strip()
    users.write_text(
        f"users:\n  bench:\n    name: Bench Mark\n    email: bench@example.com\n"
        f"    keys: [\"{public}\"]\n    roles: {{'*': editor}}\n"
    )
    return config, key, users


def ssh_argv(key: Path, port: int) -> list[str]:
    return [
        "ssh",
        "-tt",
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-i",
        str(key),
        "-p",
        str(port),
        "bench@127.0.0.1",
    ]


def time_to_first_screen(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc, master = spawn_on_pty(argv, env)
    try:
        return wait_for_marker(master, started)
    finally:
        stop(proc, master)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args(argv if argv is not None else [])
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "COLORTERM": "truecolor",
    }
    with tempfile.TemporaryDirectory(prefix="flagdeck-bench-ssh-") as tmp:
        work = Path(tmp)
        config, key, users = setup(work)
        server = Server(
            [
                sys.executable,
                "-m",
                "app.cli",
                "ssh-server",
                "--port",
                "0",
                "--config",
                str(config),
                "--host-key",
                str(work / "host_ed25519"),
                "--users",
                str(users),
                "--state-dir",
                str(work / "state"),
                "--max-connections",
                str(args.sessions + 2),
                "--max-connections-per-address",  # every session comes from 127.0.0.1, as one person
                str(args.sessions + 2),
                "--max-consoles-per-user",
                str(args.sessions),
                "--max-consoles",
                str(args.sessions),
            ],
            cwd=work,
        )
        try:
            local_cmd = [
                sys.executable,
                "-m",
                "app.cli",
                "console",
                "--config",
                str(config),
                "--user",
                "Bench Mark <bench@example.com>",
            ]
            time_to_first_screen(ssh_argv(key, server.port), env)  # warm the page cache once
            local, remote = [], []
            for _ in range(args.runs):  # interleaved, so drift affects both alike
                local.append(time_to_first_screen(local_cmd, env))
                remote.append(time_to_first_screen(ssh_argv(key, server.port), env))
            med_local, med_remote = statistics.median(local), statistics.median(remote)
            print(f"first flag list, {args.runs} runs each, {COLS}x{ROWS}:")
            print(
                f"  local console on a PTY : median {med_local * 1000:7.0f} ms  (min {min(local) * 1000:.0f})"
            )
            print(
                f"  over ssh               : median {med_remote * 1000:7.0f} ms  (min {min(remote) * 1000:.0f})"
                f"  target < 1500 ms: {'met' if med_remote < 1.5 else 'MISSED'}"
            )
            print(
                f"  ratio ssh / local      : {med_remote / med_local:.2f}x"
                f"  (ssh adds {(med_remote - med_local) * 1000:.0f} ms)"
            )
            measure_memory(server, key, env, args.sessions)
        finally:
            server.close()


def measure_memory(server: Server, key: Path, env: dict[str, str], sessions: int) -> None:
    server_before = memory_kib(server.proc.pid)[0]
    already = len([e for e in server.events if e["event"] == "session_start"])
    clients = []
    try:
        for _ in range(sessions):
            started = time.perf_counter()
            proc, master = spawn_on_pty(ssh_argv(key, server.port), env)
            clients.append((proc, master))
            wait_for_marker(master, started)
        time.sleep(1.0)  # let the consoles settle after the first paint
        pids = [server.wait("session_start", already + i + 1)["pid"] for i in range(sessions)]
        usage = [memory_kib(pid) for pid in pids]
        server_after = memory_kib(server.proc.pid)[0]
    finally:
        for proc, master in clients:
            stop(proc, master)
    rss = [u[0] / 1024 for u in usage]
    pss = [u[1] / 1024 for u in usage]
    grown = (server_after - server_before) / 1024 / sessions
    print(f"memory with {sessions} concurrent sessions (per session):")
    print(f"  console process RSS    : median {statistics.median(rss):6.1f} MiB (max {max(rss):.1f})")
    print(f"  console process PSS    : median {statistics.median(pss):6.1f} MiB (shared pages split)")
    print(
        f"  server growth          : {grown:6.2f} MiB per session (server RSS {server_after / 1024:.1f} MiB)"
    )
    print(
        f"  total per session      : {statistics.median(pss) + max(grown, 0):6.1f} MiB (PSS + server share)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
