"""What one client can take is bounded: session channels per connection, consoles per person and in total,
connections per address, failed keys per connection, connections that open no session. Each refusal is logged once
per connection (repeats are counted in the logout line) and refusals in general are rate limited. Clients here
speak the real SSH protocol (asyncssh as a client, and OpenSSH's ssh)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from pathlib import Path

import asyncssh

from app.ssh.audit import AuditLog

from .helpers import ServerProcess, events_of, ssh_command


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def connect(port: int, key: Path, **options: object) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect("127.0.0.1", port, username="someone", client_keys=[str(key)], known_hosts=None,
                                  agent_path=None, config=None, **options)


async def open_console(conn: asyncssh.SSHClientConnection) -> asyncssh.SSHClientProcess:
    """A session with a terminal and a shell, as `ssh -tt` asks; returns once the console has drawn."""
    process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
    await asyncio.wait_for(process.stdout.readuntil(b"FAKE CONSOLE"), 10)
    return process


async def refused_console(conn: asyncssh.SSHClientConnection) -> tuple[int | None, str]:
    process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
    done = await asyncio.wait_for(process.wait(), 10)
    return done.exit_status, (done.stderr or b"").decode()


def test_one_connection_gets_a_bounded_number_of_sessions(team, start_server):
    """The reported attack: 24 session channels on one connection made 24 consoles (1.6 GiB)."""
    server = start_server()

    async def attack() -> tuple[list[object], list[int]]:
        conn = await connect(server.port, team.keys["alice"])
        async with conn:
            tries = [open_console(conn) for _ in range(24)]
            outcome = await asyncio.gather(*tries, return_exceptions=True)
            running = children(server.proc.pid)
            for item in outcome:
                if isinstance(item, asyncssh.SSHClientProcess):
                    item.stdin.write(b"q")
                    await item.wait()
        return outcome, running

    outcome, running = asyncio.run(attack())
    consoles = [o for o in outcome if isinstance(o, asyncssh.SSHClientProcess)]
    refused = [o for o in outcome if isinstance(o, asyncssh.ChannelOpenError)]
    assert (len(consoles), len(refused)) == (2, 22), outcome
    assert len(running) == 2  # two console processes, not 24
    assert "at most 2 sessions per connection" in str(refused[0])
    logout = server.wait_event(lambda e: e["event"] == "logout")
    assert logout["refused"] == {"too many sessions on connection": 22}
    lines = [e for e in events_of("refusal", server) if e["reason"] == "too many sessions on connection"]
    assert len(lines) == 1 and lines[0]["limit"] == 2 and lines[0]["user"] == "alice"  # logged once, not 22 times
    assert len(events_of("session_start", server)) == 2


def test_consoles_per_person_and_in_total(team, start_server):
    server = start_server("--max-consoles-per-user", "2", "--max-consoles", "3")

    async def scenario() -> dict[str, object]:
        port = server.port
        alice = [await connect(port, team.keys["alice"]) for _ in range(3)]
        carol = [await connect(port, team.keys["carol"]) for _ in range(2)]
        out: dict[str, object] = {}
        first = [await open_console(alice[0]), await open_console(alice[1])]
        out["alice third"] = await refused_console(alice[2])
        carols = await open_console(carol[0])
        out["carol second"] = await refused_console(carol[1])
        first[0].stdin.write(b"q")  # one of alice's consoles ends: she may open another
        await first[0].wait()
        out["alice again"] = await open_console(alice[2])
        for conn in alice + carol:
            conn.close()
        del carols
        return out

    out = asyncio.run(scenario())
    assert out["alice third"] == (1, "flagdeck: you have 2 consoles open, the most allowed; close one and try again\r\n")
    assert out["carol second"] == (1, "flagdeck: the server is at its limit of consoles; try again later\r\n")
    assert isinstance(out["alice again"], asyncssh.SSHClientProcess)
    reasons = {(e["reason"], e.get("user"), e.get("limit")) for e in events_of("refusal", server)}
    assert reasons == {("too many consoles for user", "alice", 2), ("too many consoles", "carol", 3)}


def test_connections_per_address_and_failed_keys(team, start_server):
    server = start_server("--max-connections-per-address", "2", "--max-auth-tries", "2")

    async def scenario() -> tuple[object, object]:
        held = [await connect(server.port, team.keys["alice"]) for _ in range(2)]
        try:
            await connect(server.port, team.keys["carol"])
        except asyncssh.DisconnectError as exc:
            third: object = exc
        else:
            third = None
        for conn in held:
            conn.close()
            await conn.wait_closed()
        # three keys nobody has, offered one after the other: disconnected after the second
        strangers = [team.keys["eve"], *(team.dir / f"id_{n}" for n in ("x1", "x2"))]
        for path in strangers[1:]:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
        try:
            await asyncssh.connect("127.0.0.1", server.port, username="someone", known_hosts=None, agent_path=None,
                                   config=None, client_keys=[str(p) for p in strangers])
        except (asyncssh.DisconnectError, asyncssh.PermissionDenied) as exc:
            many: object = exc
        else:
            many = None
        return third, many

    third, many = asyncio.run(scenario())
    assert isinstance(third, asyncssh.DisconnectError) and "too many connections" in str(third)
    assert isinstance(many, asyncssh.DisconnectError) and "too many authentication failures" in str(many)
    over = server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "too many connections from address")
    assert over["limit"] == 2
    keys = server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "unknown key")
    assert keys["attempts"] == 2 and len(keys["fingerprints"]) == 2


def test_a_connection_without_a_console_is_closed(team, start_server):
    server = start_server("--login-timeout", "1")
    done = subprocess.run(ssh_command(team.keys["alice"], server.port, "-N"), capture_output=True, text=True,
                          timeout=15, stdin=subprocess.DEVNULL)
    assert done.returncode == 255
    refusal = server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "no console")
    assert refusal["user"] == "alice"

    async def refused_then_idle() -> bool:  # a session that got no console does not keep the connection either
        conn = await connect(server.port, team.keys["carol"])
        await conn.create_session(asyncssh.SSHClientSession)  # a shell without a terminal: refused
        await asyncio.wait_for(conn.wait_closed(), 8)
        return True

    assert asyncio.run(refused_then_idle())
    server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "no console" and e["user"] == "carol")


def test_refusal_lines_are_rate_limited():
    out = io.StringIO()
    log = AuditLog(out, rate=0.0001, burst=3)
    for n in range(1000):
        log.limited("refusal", reason="unknown key", address=f"10.0.0.{n % 250}:1")
    log.event("login", user="alice")
    log.flush()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["refusal"] * 3 + ["login", "suppressed"]
    assert lines[-1]["counts"] == {"refusal: unknown key": 997} and lines[-1]["total"] == 997


def test_server_stderr_has_no_warnings(team, start_server):
    """asyncssh's import of DSA names made cryptography print five deprecation warnings at every start."""
    server: ServerProcess = start_server()
    done = subprocess.run(ssh_command(team.keys["alice"], server.port, "-T"), capture_output=True, text=True,
                          timeout=15, stdin=subprocess.DEVNULL)
    assert "needs a terminal" in done.stderr
    assert server.finish() == ""
