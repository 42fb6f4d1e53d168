"""The PTY session with the real OpenSSH client in tmux, against a small stand-in program (fake_console.py): window
size, resizes, identity handed to the child, raw keys, exit status, teardown, and the persistent host key."""

from __future__ import annotations

import os
import signal
import stat
import subprocess

from .helpers import events_of, ssh_command, wait_gone


def test_session_gets_size_identity_and_keys(team, start_server, tmux):
    server = start_server()
    client = tmux(ssh_command(team.keys["alice"], server.port, "-tt", user="whoever"), width=90, height=25)
    screen = client.wait_for("FAKE CONSOLE 90x25")
    assert "user=Alice Test <alice@example.com>" in screen  # from the key, not the SSH user name "whoever"
    assert 'roles={"*": "editor"}' in screen
    assert "term=tmux-256color colorterm=truecolor" in screen
    client.keys("x")
    client.wait_for("key=b'x'")
    client.keys("Up")
    client.wait_for("key=b'\\x1b[A'")  # raw bytes: no line editor in between
    login = server.wait_event(lambda e: e["event"] == "login")
    assert (login["user"], login["login_name"], login["roles"]) == ("alice", "whoever", {"*": "editor"})
    client.keys("q")
    status = client.wait_dead()
    end = server.wait_event(lambda e: e["event"] == "session_end")
    assert status == 3, (end, client.screen())  # the console's exit status reaches the client
    assert (end["rc"], end["reason"]) == (3, "exit")
    server.wait_event(lambda e: e["event"] == "logout" and e["user"] == "alice")


def test_resize_is_forwarded(team, start_server, tmux):
    server = start_server()
    client = tmux(ssh_command(team.keys["alice"], server.port, "-tt"), width=100, height=30)
    client.wait_for("FAKE CONSOLE 100x30")
    client.resize(60, 12)
    client.wait_for("FAKE CONSOLE 60x12")
    client.resize(132, 40)
    client.wait_for("FAKE CONSOLE 132x40")


def test_closing_the_client_ends_its_console(team, start_server, tmux):
    server = start_server()
    alice = tmux(ssh_command(team.keys["alice"], server.port, "-tt"))
    carol = tmux(ssh_command(team.keys["carol"], server.port, "-tt"))
    alice.wait_for("FAKE CONSOLE")
    carol.wait_for("FAKE CONSOLE")
    pids = {e["user"]: e["pid"] for e in events_of("session_start", server)}
    assert set(pids) == {"alice", "carol"} and pids["alice"] != pids["carol"]
    alice.kill()  # the terminal goes away: ssh gets SIGHUP and drops the connection
    wait_gone(pids["alice"])
    end = server.wait_event(lambda e: e["event"] == "session_end" and e["user"] == "alice")
    assert end["reason"] == "disconnect"
    assert os.path.exists(f"/proc/{pids['carol']}")  # the other session is untouched
    carol.keys("z")
    carol.wait_for("key=b'z'")


def test_users_file_changes_apply_to_new_connections(team, start_server, tmux):
    server = start_server()
    bob = tmux(ssh_command(team.keys["bob"], server.port, "-tt"))
    bob.wait_for('roles={"*": "viewer"}')
    bob.keys("q")
    team.write({"alice": {"*": "editor"}, "eve": {"staging": "editor", "production": "viewer"}})
    eve = tmux(ssh_command(team.keys["eve"], server.port, "-tt"))
    eve.wait_for('roles={"production": "viewer", "staging": "editor"}')
    refused = subprocess.run(
        ssh_command(team.keys["bob"], server.port, "-tt"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=15,
    )
    assert (
        "Permission denied (publickey)" in refused.stderr
    )  # removed from the file: refused without a restart
    (team.users_file).write_text(
        "users:\n  alice:\n    email: alice@example.com\n    keys: [nonsense]\n    roles: {'*': editor}\n"
    )
    again = tmux(ssh_command(team.keys["eve"], server.port, "-tt"))  # a broken edit keeps the last good file
    again.wait_for("FAKE CONSOLE")
    error = server.wait_event(lambda e: e["event"] == "error")
    assert "users.yaml:4: users.alice.keys[0]: not an OpenSSH public key" in error["message"]


def test_host_key_is_generated_once_with_mode_0600(team, start_server, tmp_path):
    first = start_server()
    key = tmp_path / "hostkey" / "ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    fingerprint = first.wait_event(lambda e: e["event"] == "server_start")["host_key"]
    known = tmp_path / "known_hosts"
    argv = ssh_command(team.keys["alice"], first.port, "-T")
    pin = [
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "HostKeyAlias=flagdeck-test",
    ]
    done = subprocess.run(
        argv[:1] + pin + argv[1:], capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL
    )
    assert "needs a terminal" in done.stderr and known.read_text().startswith("flagdeck-test ssh-ed25519 ")
    first.stop()
    second = start_server()
    assert second.wait_event(lambda e: e["event"] == "server_start")["host_key"] == fingerprint
    argv = ssh_command(team.keys["alice"], second.port, "-T")
    strict = [
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "HostKeyAlias=flagdeck-test",
    ]
    done = subprocess.run(
        argv[:1] + strict + argv[1:], capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL
    )
    assert "needs a terminal" in done.stderr, done.stderr  # host key accepted: same key as the first run


def test_server_stop_ends_every_console(team, start_server, tmux):
    server = start_server()
    for who in ("alice", "carol"):
        tmux(ssh_command(team.keys[who], server.port, "-tt")).wait_for("FAKE CONSOLE")
    server.wait_event(lambda e: len(events_of("session_start", server)) == 2)
    pids = [e["pid"] for e in events_of("session_start", server)]
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    for pid in pids:
        wait_gone(pid, timeout=1)
    assert server.wait_event(lambda e: e["event"] == "server_stop")["sessions_left"] == 0
    assert sorted(e["reason"] for e in events_of("session_end", server)) == ["disconnect", "disconnect"]
