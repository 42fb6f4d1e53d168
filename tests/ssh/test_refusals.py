"""What the SSH server refuses, checked with the real OpenSSH client: unknown keys, passwords, commands, sftp,
forwarding, sessions without a terminal, connections beyond the cap, slow logins and idle sessions."""

from __future__ import annotations

import socket
import subprocess
import time

from .helpers import events_of, ssh_command


def run_ssh(argv: list[str], timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_unknown_key_is_refused_and_logged(team, start_server):
    server = start_server()
    done = run_ssh(ssh_command(team.keys["eve"], server.port, "-tt"))
    assert done.returncode == 255
    assert "Permission denied (publickey)" in done.stderr
    refusal = server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "unknown key")
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(team.keys["eve"]) + ".pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert refusal["fingerprints"] == [fingerprint]
    assert refusal["address"].startswith("127.0.0.1:")
    assert not events_of("login", server)


def test_password_attempt_is_refused(team, start_server):
    server = start_server()
    argv = ssh_command(
        team.keys["alice"],
        server.port,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
    )
    done = run_ssh(argv)
    assert done.returncode == 255
    assert "Permission denied (publickey)" in done.stderr  # the only method offered
    server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "not authenticated")
    assert not events_of("login", server)
    log = "\n".join(map(str, server.events))
    assert "PRIVATE" not in log and team.public["alice"].split()[1] not in log  # no key material in the log


def test_exec_and_no_terminal_and_sftp_are_refused(team, start_server, tmp_path):
    server = start_server()
    key = team.keys["alice"]
    exec_ = run_ssh(ssh_command(key, server.port) + ["ls"])
    assert exec_.returncode == 1
    assert "commands are not accepted" in exec_.stderr
    assert exec_.stdout == ""
    no_tty = run_ssh(ssh_command(key, server.port, "-T"))
    assert no_tty.returncode == 1
    assert "needs a terminal" in no_tty.stderr
    sftp = subprocess.run(
        [
            "sftp",
            "-F",
            "/dev/null",
            "-b",
            "-",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-i",
            str(key),
            "-P",
            str(server.port),
            "alice@127.0.0.1",
        ],
        input="ls\n",
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert sftp.returncode != 0
    reasons = [e["reason"] for e in events_of("refusal", server)]
    assert reasons.count("exec") == 1 and reasons.count("no terminal") == 1
    assert not events_of("session_start", server)  # no console was started for any of them


def test_forwarding_is_refused(team, start_server):
    server = start_server()
    remote = run_ssh(
        ssh_command(
            team.keys["alice"],
            server.port,
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "127.0.0.1:0:127.0.0.1:9",
        )
    )
    assert remote.returncode == 255
    assert "forwarding failed" in remote.stderr.lower()
    server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "port forwarding (remote)")
    local = run_ssh(ssh_command(team.keys["alice"], server.port, "-W", "127.0.0.1:9"))  # a direct-tcpip channel
    assert local.returncode == 255
    assert "forwarding failed" in local.stderr
    server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "port forwarding (local)")


def test_agent_forwarding_gives_the_console_no_agent(team, start_server, tmux):
    server = start_server()
    screen = tmux(ssh_command(team.keys["alice"], server.port, "-tt", "-A"), width=200).wait_for("FAKE CONSOLE")
    env = next(line for line in screen.splitlines() if line.startswith("env="))
    assert "SSH_AUTH_SOCK" not in screen
    assert env.strip().removeprefix("env=").split(",") == [
        "COLORTERM", "FLAGDECK_CONFIG_CACHE", "FLAGDECK_REMOTE", "FLAGDECK_REPORT_FD", "FLAGDECK_ROLES",
        "FLAGDECK_STATE_DIR", "FLAGDECK_USER", "HOME", "LANG", "PATH", "TERM",
    ]


def test_connection_cap(team, start_server, tmux):
    server = start_server("--max-connections", "1")
    first = tmux(ssh_command(team.keys["alice"], server.port, "-tt"))
    first.wait_for("FAKE CONSOLE")
    second = run_ssh(ssh_command(team.keys["carol"], server.port, "-tt"))
    assert second.returncode == 255
    assert "too many connections" in second.stderr
    server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "too many connections")
    first.keys("q")
    first.wait_dead()
    server.wait_event(lambda e: e["event"] == "logout")
    third = tmux(ssh_command(team.keys["carol"], server.port, "-tt"))  # a freed slot is usable again
    third.wait_for("user=Carol Test <carol@example.com>")


def test_login_timeout_drops_a_silent_client(start_server):
    server = start_server("--login-timeout", "1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        assert sock.recv(64).startswith(b"SSH-2.0-")
        started = time.monotonic()
        while sock.recv(4096):  # the server closes the connection
            pass
        assert time.monotonic() - started < 4
    server.wait_event(lambda e: e["event"] == "refusal" and e["reason"] == "not authenticated")


def test_idle_session_is_closed(team, start_server, tmux):
    server = start_server("--idle-timeout", "1")
    client = tmux(ssh_command(team.keys["alice"], server.port, "-tt"))
    client.wait_for("FAKE CONSOLE")
    end = server.wait_event(lambda e: e["event"] == "session_end", timeout=8)
    assert end["reason"] == "idle"
    client.wait_dead()
    assert "closed after being idle" in client.screen()
