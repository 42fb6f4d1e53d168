"""The cache of validated configurations (gitstore/config_cache.py): a hit gives exactly what validating gives, and a
changed file, a moved link, a corrupt entry or a configuration with server problems is validated again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.settings import FlagdeckConfig, load_flagdeck_config
from evaluator.config import load_evaluator_config
from gitstore import config_cache
from gitstore.config import parse_config
from gitstore.errors import ConfigError

from .conftest import write_config

ROOT = Path(__file__).resolve().parents[2]

EVERY_SECTION = """\
storage:
  local:
    path: repo
    remote: ../link/origin.git
    poll_interval: 500ms
    timeout: 5
    credentials: {username: bot, ssh_key: keys/id_ed25519, insecure_ignore_host_key: true}
  other: {path: ~/other-repo, branch: release}
environments:
  production: {storage: local, directory: production, default: true, protect: true}
  staging: {storage: local, directory: staging, protect: {proposals: optional, approvals: 2, approvers: editor}}
  qa: {storage: other}
identity: {name: Flag Bot, email: bot@example.com}
authentication:
  required: true
  exclude: {evaluation: true, health: true}
  tokens:
    web-app: {credential: s3cr3t, environments: [staging, production]}
    batch: {credential: 0th3r, environments: ["*"], namespaces: [billing]}
  jwt: {jwks_url: "https://idp.example/jwks.json", audiences: [web], environments: [production], refresh_interval: 1m}
server:
  port: 9090
  workers: 2
  heartbeat: 0
  cors: {allowed_origins: ["https://app.example.com"]}
  header_timeout: 2s
analytics:
  state_dir: state
  retention: 7d
  buffer: {flush_period: 1s}
  prometheus: {url: "http://127.0.0.1:9090", headers: {X-Scope: team}, timeout: 3s}
automation:
  poll_interval: 2s
  missed: skip
  roles: {"ops@example.com": {production: editor, "*": viewer}}
events: {state_dir: events, poll_interval: 250ms}
webhooks:
  - {name: audit, url: "https://hooks.example.com/x", secret: abc, environments: [production], format: slack,
     retry: {initial: 2s, attempts: 3}}
ssh: {port: 2300, state_dir: ssh-state, idle_timeout: 0, max_consoles: 4}
lifecycle: {stale_days: 30, max_uncovered: 2h}
"""
PEOPLE = """\
users:
  ops:
    email: ops@example.com
    keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops"]
    roles: {"*": editor}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config-cache"
    monkeypatch.setenv(config_cache.ENV, str(directory))
    return directory


def every_section(root: Path) -> Path:
    (root / "target").mkdir(parents=True)
    (root / "link").symlink_to(root / "target")
    return write_config(root / "conf", EVERY_SECTION)


def cached(path: Path) -> FlagdeckConfig | None:
    return config_cache.load(path.resolve(), path.read_bytes(), FlagdeckConfig)


def test_a_hit_is_what_validating_gives_value_for_value_and_type_for_type(tmp_path: Path, cache: Path) -> None:
    path = every_section(tmp_path)
    assert cached(path) is None
    first = load_flagdeck_config(path)
    hit = cached(path)
    assert hit is not None and len(list(cache.iterdir())) == 1
    validated = parse_config(path.read_text(), path.resolve(), FlagdeckConfig)
    for config in (first, hit, load_flagdeck_config(path)):
        assert config == validated
        assert repr(config) == repr(validated)  # a path is not its text, 1 is not 1.0
        assert config.model_dump() == validated.model_dump()
    assert hit.storage["local"].remote == str(tmp_path / "target" / "origin.git")
    assert hit.environments["staging"].model_fields_set == validated.environments["staging"].model_fields_set
    assert hit.server.cors.origins == ("https://app.example.com",)  # methods and properties work on a hit
    assert hit.environment("qa").storage == "other" and hit.default_environment == "production"


def test_a_hit_in_a_new_process_does_not_parse_the_file(tmp_path: Path, cache: Path) -> None:
    path = every_section(tmp_path)
    script = textwrap.dedent(f"""
        import sys
        from app.settings import load_flagdeck_config
        config = load_flagdeck_config({str(path)!r})
        print(config.ssh.port, "ruamel.yaml" in sys.modules)
    """)
    runs = [subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, config_cache.ENV: str(cache)}).stdout.split() for _ in range(2)]
    assert runs == [["2300", "True"], ["2300", "False"]]


def test_an_edited_file_is_validated_again(tmp_path: Path, cache: Path) -> None:
    path = every_section(tmp_path)
    load_flagdeck_config(path)
    path.write_text(EVERY_SECTION.replace("port: 9090", "port: 9191"))
    assert load_flagdeck_config(path).server.port == 9191
    path.write_text(EVERY_SECTION.replace("port: 9090", "port: ninety"))
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:22: server.port: "):
        load_flagdeck_config(path)
    path.write_text(EVERY_SECTION)  # back to a version cached before: still right
    assert load_flagdeck_config(path).server.port == 9090


def test_a_moved_link_is_resolved_again(tmp_path: Path, cache: Path) -> None:
    path = every_section(tmp_path)
    assert load_flagdeck_config(path).storage["local"].remote == str(tmp_path / "target" / "origin.git")
    (tmp_path / "moved").mkdir()
    (tmp_path / "link").unlink()
    (tmp_path / "link").symlink_to(tmp_path / "moved")
    assert cached(path) is None
    assert load_flagdeck_config(path).storage["local"].remote == str(tmp_path / "moved" / "origin.git")


def test_a_link_loop_is_a_clear_error_cached_or_not(tmp_path: Path, cache: Path) -> None:
    path = every_section(tmp_path)
    load_flagdeck_config(path)
    (tmp_path / "link").unlink()
    (tmp_path / "link").symlink_to(tmp_path / "link")  # a loop: it was a traceback (RuntimeError) before
    assert cached(path) is None
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:4: storage.local.remote: cannot resolve .*origin.git"):
        load_flagdeck_config(path)


def test_the_home_directory_is_part_of_the_key(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = every_section(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "alice"))
    assert load_flagdeck_config(path).storage["other"].path == tmp_path / "alice" / "other-repo"
    monkeypatch.setenv("HOME", str(tmp_path / "bob"))
    assert cached(path) is None
    assert load_flagdeck_config(path).storage["other"].path == tmp_path / "bob" / "other-repo"
    assert len(list(cache.iterdir())) == 2


@pytest.mark.parametrize("damage", ["cut short", "not json", "a field of another type", "a field too many",
                                    "another shape"])
def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path: Path, cache: Path, damage: str) -> None:
    path = every_section(tmp_path)
    good = load_flagdeck_config(path)
    (entry,) = cache.iterdir()
    text = entry.read_text()
    entry.write_text({"cut short": text[: len(text) // 2],
                      "not json": "\x00\x01garbage",
                      "a field of another type": text.replace('"port":9090', '"port":"9090"'),
                      "a field too many": text.replace('"port":9090', '"port":9090,"admin":true'),
                      "another shape": "[1, 2, 3]"}[damage])
    assert entry.read_text() != text
    assert cached(path) is None
    assert not entry.exists()  # deleted on the miss
    assert load_flagdeck_config(path) == good
    assert entry.read_text() == text


def test_problems_with_the_server_s_files_are_never_cached(tmp_path: Path, cache: Path) -> None:
    """A configuration whose server files are missing loads (the console and exports work) but is not kept; and the
    evaluator's own loading never reads the cache, so a file removed after a cached load is still reported."""
    path = every_section(tmp_path)
    path.write_text(EVERY_SECTION.split("automation:")[0] + "automation: {users: people.yaml}\n")
    config = load_flagdeck_config(path)
    assert config.automation.users == path.parent / "people.yaml"
    assert cached(path) is None and not cache.exists()
    (path.parent / "people.yaml").write_text(PEOPLE)
    load_flagdeck_config(path)
    assert cached(path) is not None
    load_evaluator_config(path).check_server_files()
    (path.parent / "people.yaml").unlink()
    assert load_flagdeck_config(path).automation.users == path.parent / "people.yaml"  # from the cache
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:\d+: automation.users: "):
        load_evaluator_config(path).check_server_files()


def test_off_and_untrusted_directories_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = every_section(tmp_path)
    monkeypatch.setenv(config_cache.ENV, "off")
    load_flagdeck_config(path)
    assert config_cache.cache_dir() is None
    shared_dir = tmp_path / "open"
    shared_dir.mkdir()
    shared_dir.chmod(0o777)
    monkeypatch.setenv(config_cache.ENV, str(shared_dir))
    load_flagdeck_config(path)
    assert not list(shared_dir.iterdir())  # others may write here: not used
    shared_dir.chmod(0o700)
    load_flagdeck_config(path)
    assert cached(path) is not None


def test_old_entries_are_evicted(tmp_path: Path, cache: Path) -> None:
    cache.mkdir(mode=0o700)
    for number in range(config_cache.MAX_ENTRIES + 10):
        old = cache / f"{number:064x}"
        old.write_text("{}")
        os.utime(old, (1_000_000 + number, 1_000_000 + number))
    path = every_section(tmp_path)
    load_flagdeck_config(path)
    left = {entry.name for entry in cache.iterdir()}
    assert len(left) == config_cache.MAX_ENTRIES * 3 // 4
    assert cached(path) is not None and f"{config_cache.MAX_ENTRIES + 9:064x}" in left and f"{0:064x}" not in left


def test_the_fingerprint_covers_every_module_that_validates(tmp_path: Path) -> None:
    """Every module of ours that loading the configuration imports is hashed into the key, except those that only
    word errors: a changed validator never reads entries an older one wrote."""
    path = every_section(tmp_path)
    script = textwrap.dedent(f"""
        import sys
        from app.settings import FlagdeckConfig, load_flagdeck_config
        from gitstore import config_cache
        load_flagdeck_config({str(path)!r})
        ours = {{name for name, module in sys.modules.items() if name.split(".")[0] in ("app", "evaluator", "gitstore")
                and getattr(module, "__file__", None) and not module.__file__.endswith("__init__.py")}}
        print(" ".join(sorted(ours - config_cache.fingerprinted(FlagdeckConfig))))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, config_cache.ENV: "off"}).stdout.split()
    assert out == []
