"""Revocation: the users file is read again every second and by content. A key removed, a role lowered or the file
deleted ends the open sessions it no longer allows (the person is told why); a raised role leaves them open."""

from __future__ import annotations

import os
import subprocess

import asyncssh

from app.ssh.users import User, UserDirectory, still_allowed

from .helpers import events_of, make_key, ssh_command, write_users


def refused(team, server, who: str) -> str:
    done = subprocess.run(ssh_command(team.keys[who], server.port, "-tt"), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=15)
    return done.stderr


def test_an_edit_keeping_size_and_mtime_lowers_a_role_and_ends_the_session(team, start_server, tmux):
    server = start_server()
    alice = tmux(ssh_command(team.keys["alice"], server.port, "-tt"))
    carol = tmux(ssh_command(team.keys["carol"], server.port, "-tt"))
    alice.wait_for('roles={"*": "editor"}')
    carol.wait_for('roles={"*": "editor"}')
    before = team.users_file.stat()
    text = team.users_file.read_text()
    team.write({"alice": {"*": "viewer"}, "bob": {"*": "viewer"}, "carol": {"*": "editor"}})
    assert len(team.users_file.read_text()) == len(text)  # "editor" -> "viewer": same size
    os.utime(team.users_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same modification time
    revoked = server.wait_event(lambda e: e["event"] == "revoked", timeout=10)
    assert (revoked["user"], revoked["reason"]) == ("alice", "role lowered in every other environment")
    alice.wait_dead()
    assert "your access was changed (role lowered in every other environment)" in alice.screen()
    end = server.wait_event(lambda e: e["event"] == "session_end" and e["user"] == "alice")
    assert end["reason"] == "revoked"
    carol.keys("z")
    carol.wait_for("key=b'z'")  # carol's session is untouched
    again = tmux(ssh_command(team.keys["alice"], server.port, "-tt"))
    again.wait_for('roles={"*": "viewer"}')  # she may come back, as a viewer


def test_deleting_the_users_file_lets_nobody_in_and_ends_every_session(team, start_server, tmux):
    server = start_server()
    alice = tmux(ssh_command(team.keys["alice"], server.port, "-tt"))
    bob = tmux(ssh_command(team.keys["bob"], server.port, "-tt"))
    alice.wait_for("FAKE CONSOLE")
    bob.wait_for("FAKE CONSOLE")
    saved = team.users_file.read_text()
    team.users_file.unlink()
    error = server.wait_event(lambda e: e["event"] == "error" and "users file" in e["reason"], timeout=10)
    assert "cannot read users file" in error["message"] and "every login is refused" in error["message"]
    for client in (alice, bob):
        client.wait_dead()
        assert "access was changed (access revoked)" in client.screen()
    assert sorted(e["user"] for e in events_of("revoked", server)) == ["alice", "bob"]
    assert "Permission denied (publickey)" in refused(team, server, "alice")
    team.users_file.write_text(saved)  # back: logins work again
    tmux(ssh_command(team.keys["alice"], server.port, "-tt")).wait_for('roles={"*": "editor"}')


def test_a_raised_role_leaves_the_session_open(team, start_server, tmux):
    server = start_server()
    bob = tmux(ssh_command(team.keys["bob"], server.port, "-tt"))
    bob.wait_for('roles={"*": "viewer"}')
    team.write({"alice": {"*": "editor"}, "bob": {"*": "editor"}, "carol": {"*": "editor"}})
    tmux(ssh_command(team.keys["bob"], server.port, "-tt")).wait_for('roles={"*": "editor"}')  # taken
    bob.keys("y")
    bob.wait_for("key=b'y'")
    assert not events_of("revoked", server)


def test_directory_reads_content_not_stamps(tmp_path):
    _, alice = make_key(tmp_path, "alice")
    key = asyncssh.import_public_key(alice)
    path = tmp_path / "users.yaml"
    entry = {"email": "alice@example.com", "keys": [alice]}
    write_users(path, {"alice": {**entry, "roles": {"*": "editor"}}})
    directory = UserDirectory(path)
    stamp = path.stat()
    write_users(path, {"alice": {**entry, "roles": {"*": "viewer"}}})
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert directory.refresh() is None
    assert directory.lookup(key).roles == {"*": "viewer"}
    path.unlink()
    problem = directory.refresh()
    assert problem is not None and "cannot read users file" in problem and "every login is refused" in problem
    assert directory.lookup(key) is None and directory.refresh() is None  # reported once
    path.write_text("users: [")
    assert "every login is refused" in (directory.refresh() or "")  # broken, and nothing good to keep
    assert directory.lookup(key) is None


def test_still_allowed():
    editor = User("alice", "Alice", "alice@example.com", {"*": "editor"})
    assert still_allowed(editor, None) == "access revoked"
    assert still_allowed(editor, User("alice", "Alice", "alice@example.com", {"*": "admin"})) is None
    assert still_allowed(editor, User("alice", "Alice", "alice@example.com", {"*": "editor", "dev": "admin"})) is None
    lowered = User("alice", "Alice", "alice@example.com", {"*": "editor", "production": "viewer"})
    assert still_allowed(editor, lowered) == "role lowered in production"
    assert still_allowed(lowered, editor) is None
    assert still_allowed(editor, User("alice", "Alice", "alice@elsewhere.com", {"*": "editor"})) == "identity changed"
    only_staging = User("alice", "Alice", "alice@example.com", {"staging": "editor"})
    assert still_allowed(editor, only_staging) == "role lowered in every other environment"
