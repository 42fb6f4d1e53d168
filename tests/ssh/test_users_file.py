"""The users file and the host key: clear errors naming file, line and field; reloads that keep the last good
version; the host key generated once with mode 0600 and refused when others can read it."""

from __future__ import annotations

import os
import stat

import asyncssh
import pytest

from app.ssh.hostkey import HostKeyError, load_or_create_host_key
from app.ssh.pty_session import clamp_size
from app.ssh.users import UserDirectory, UsersFileError, parse_users

from .helpers import make_key


@pytest.fixture
def public(tmp_path):
    return {name: make_key(tmp_path, name)[1] for name in ("alice", "bob")}


def users_text(alice: str, bob: str, bob_role: str = "viewer") -> str:
    return f"""users:
  alice:
    name: Alice Liddell
    email: alice@example.com
    keys: ["{alice}"]
    roles: {{"*": editor}}
  bob:
    email: bob@example.com
    keys:
      - "{bob}"
    roles: {{staging: editor, production: {bob_role}}}
"""


def test_keys_map_to_people_and_roles(public):
    users = parse_users(users_text(public["alice"], public["bob"]), "users.yaml")
    alice = users[asyncssh.import_public_key(public["alice"]).public_data]
    bob = users[asyncssh.import_public_key(public["bob"]).public_data]
    assert (alice.author, alice.roles_json()) == ("Alice Liddell <alice@example.com>", '{"*": "editor"}')
    assert (bob.author, bob.roles) == ("bob <bob@example.com>", {"staging": "editor", "production": "viewer"})
    # the comment of a key does not matter, the key does
    other_comment = public["alice"].rsplit(" ", 1)[0] + " alice@elsewhere"
    assert users[asyncssh.import_public_key(other_comment).public_data] is alice


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda t: t.replace("production: viewer", "production: owner"),
            "users.yaml:11: users.bob.roles.production: Input should be 'viewer', 'editor' or 'admin'",
        ),
        (
            lambda t: t.replace("    email: bob@example.com\n", "    email: bob\n"),
            "users.yaml:8: users.bob.email:",
        ),
        (
            lambda t: t.replace("    email: bob@example.com\n", ""),
            "users.yaml:7: users.bob.email: Field required",
        ),
        (
            lambda t: t.replace("    name: Alice Liddell\n", "    nmae: Alice\n"),
            "users.yaml:3: users.alice.nmae:",
        ),
        (
            lambda t: t.replace('keys: ["ssh-ed25519 ', 'keys: ["ssh-ed25519 AAAA'),
            "users.yaml:5: users.alice.keys[0]: not an OpenSSH public key",
        ),
        (lambda t: t.replace("roles: {", "roles: [", 1), "users.yaml:6: not valid YAML"),
    ],
)
def test_errors_name_file_line_and_field(public, mutate, expected):
    with pytest.raises(UsersFileError) as caught:
        parse_users(mutate(users_text(public["alice"], public["bob"])), "users.yaml")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_a_key_belongs_to_one_person(public):
    text = users_text(public["alice"], public["alice"])
    with pytest.raises(
        UsersFileError, match=r"users.yaml:10: users.bob.keys\[0\]: .*already given to user 'alice'"
    ):
        parse_users(text, "users.yaml")


def test_directory_reloads_on_change_and_keeps_the_last_good_version(tmp_path, public):
    path = tmp_path / "users.yaml"
    path.write_text(users_text(public["alice"], public["bob"]))
    directory = UserDirectory(path)
    bob_key = asyncssh.import_public_key(public["bob"])
    assert directory.lookup(bob_key).roles["production"] == "viewer"
    path.write_text(users_text(public["alice"], public["bob"], bob_role="admin"))
    assert directory.refresh() is None
    assert directory.lookup(bob_key).roles["production"] == "admin"
    path.write_text("users: [")
    problem = directory.refresh()
    assert problem is not None and problem.startswith(f"{path}:1: not valid YAML")
    assert directory.refresh() is None  # reported once
    assert directory.lookup(bob_key).roles["production"] == "admin"  # last good version still in force
    with pytest.raises(UsersFileError):
        UserDirectory(path)  # at start-up a broken file is an error


def test_host_key_created_once_then_reused(tmp_path):
    path = tmp_path / "state" / "host_ed25519"
    key = load_or_create_host_key(path)
    assert key.algorithm == b"ssh-ed25519"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_or_create_host_key(path)
    assert again.get_fingerprint() == key.get_fingerprint()
    os.chmod(path, 0o644)
    with pytest.raises(HostKeyError, match="readable by others"):
        load_or_create_host_key(path)
    os.chmod(path, 0o600)
    path.write_text("not a key")
    with pytest.raises(HostKeyError, match="not a usable private key"):
        load_or_create_host_key(path)


def test_window_sizes_are_clamped():
    assert clamp_size(0, 0) == (80, 24)
    assert clamp_size(120, 0) == (80, 24)
    assert clamp_size(100, 30) == (100, 30)
    assert clamp_size(100000, 100000) == (1000, 500)
