"""`flagdeck ssh-server` refuses to start, with a clear message, when what it needs is missing or broken."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from gitstore.config import load_config
from gitstore.demo import init_demo


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "ssh-server", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_start_up_errors_are_clear(tmp_path, team):
    base = ["--users", str(team.users_file), "--host-key", str(tmp_path / "hk")]
    missing = run_cli(*base, cwd=tmp_path)
    assert missing.returncode == 1 and "no configuration: pass --config" in missing.stderr
    (tmp_path / "bad.yaml").write_text("storage: [\n")
    bad = run_cli(*base, "--config", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert bad.returncode == 1 and f"{tmp_path / 'bad.yaml'}:2: not valid YAML" in bad.stderr
    config = init_demo(tmp_path / "flags")
    no_users = run_cli(
        "--config",
        str(config),
        "--users",
        str(tmp_path / "none.yaml"),
        "--host-key",
        str(tmp_path / "hk"),
        cwd=tmp_path,
    )
    assert no_users.returncode == 1 and "none.yaml: cannot read users file" in no_users.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = run_cli(*base, "--config", str(config), "--port", str(busy.getsockname()[1]), cwd=tmp_path)
    assert taken.returncode == 1 and "cannot listen on 127.0.0.1:" in taken.stderr


def test_finds_the_configuration_like_the_other_commands(tmp_path, start_server):
    """No --config: ./.flagdeck/flagdeck.yaml (what `make run` writes) is found, as `flagdeck console` finds it."""
    config = init_demo(tmp_path / ".flagdeck")
    server = start_server()  # cwd is tmp_path; the fake console would let it start without any configuration
    started = server.wait_event(lambda e: e["event"] == "server_start")
    assert started["config"] == str(config.resolve())  # what every console is started with (--config)
    assert load_config(Path(started["config"])).environments


def test_the_ssh_section_gives_defaults_and_the_command_line_wins(tmp_path, start_server):
    """flagdeck.yaml's `ssh:` section (owned by the app) sets what the command line leaves out; a mistake in it is
    a FILE:LINE error before anything listens."""
    config = init_demo(tmp_path / "flags")
    text = config.read_text()
    config.write_text(text + "ssh:\n  max_consoles: 5\n  max_auth_tries: 2\n")
    server = start_server("--max-auth-tries", "4", config=config)
    limits = server.wait_event(lambda e: e["event"] == "server_start")["limits"]
    assert limits["consoles"] == 5 and limits["auth_tries"] == 4
    config.write_text(text + "ssh:\n  max_consoles: 0\n")
    bad = run_cli("--config", str(config), "--users", str(tmp_path / "u.yaml"), cwd=tmp_path)
    line = len(text.splitlines()) + 2
    assert bad.returncode == 1 and f"{config}:{line}: ssh.max_consoles: Input should be greater" in bad.stderr
