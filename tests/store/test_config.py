"""flagdeck.yaml: shapes that load, and errors that name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitstore.config import load_config, parse_config, parse_duration
from gitstore.errors import ConfigError

from .conftest import write_config

MONO = """\
storage:
  local:
    path: repo
    branch: main
    poll_interval: 500ms
environments:
  production: {storage: local, directory: production, default: true}
  staging: {storage: local, directory: /staging/}
authentication:
  required: true
  exclude: {evaluation: true}
  tokens:
    web-app: {credential: "s3cr3t", environments: [staging, production]}
    batch-job: {credential: "0th3r", environments: [production], namespaces: [billing]}
identity: {name: Flag Bot, email: bot@example.com}
"""


def test_mono_repo_config_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "conf", MONO))
    assert config.storage["local"].path == (tmp_path / "conf" / "repo").resolve()
    assert config.storage["local"].poll_interval == 0.5
    assert config.default_environment == "production"
    assert config.environments["staging"].directory == "staging"
    assert config.environments["staging"].name == "staging"
    assert config.authentication.required and config.authentication.exclude.evaluation
    assert not config.authentication.exclude.ofrep
    assert config.authentication.tokens["batch-job"].namespaces == ["billing"]
    assert config.authentication.tokens["web-app"].namespaces is None
    assert config.identity is not None and config.identity.email == "bot@example.com"
    assert config.path == (tmp_path / "conf" / "flagdeck.yaml").resolve()


def test_multi_repo_config_and_a_single_environment_becomes_the_default(tmp_path: Path) -> None:
    text = ("storage:\n  prod: {path: /srv/prod.git, remote: ../remote.git}\n  stage: {path: stage}\n"
            "environments:\n  production: {storage: prod}\n  staging: {storage: stage, default: true}\n")
    config = load_config(write_config(tmp_path, text))
    assert config.storage["prod"].path == Path("/srv/prod.git")
    assert config.storage["prod"].remote == str((tmp_path.parent / "remote.git").resolve())
    assert config.storage["prod"].poll_interval == 30.0 and config.storage["prod"].branch == "main"
    assert config.default_environment == "staging"
    only = load_config(write_config(tmp_path / "one", "storage: {s: {path: r}}\nenvironments: {live: {}}\n"))
    assert only.default_environment == "live" and only.environments["live"].storage == "s"


def test_search_order_explicit_then_environment_variable_then_cwd(tmp_path: Path, monkeypatch) -> None:
    a = write_config(tmp_path / "a", MONO)
    b = write_config(tmp_path / "b", MONO.replace("500ms", "2s"))
    c = write_config(tmp_path / "c", MONO.replace("500ms", "3s"))
    monkeypatch.chdir(tmp_path / "c")
    assert load_config().path == c.resolve()
    monkeypatch.setenv("FLAGDECK_CONFIG", str(b))
    assert load_config().storage["local"].poll_interval == 2.0
    assert load_config(a).storage["local"].poll_interval == 0.5
    assert load_config(tmp_path / "a").path == a.resolve()  # a directory means its flagdeck.yaml
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("text", "expected"), [
    (MONO.replace("500ms", "soon"), r"flagdeck.yaml:5: storage.local.poll_interval: 'soon' is not a duration"),
    (MONO.replace("    branch: main\n", "    branch: main\n    colour: blue\n"),
     r"flagdeck.yaml:5: storage.local.colour: unknown key"),
    (MONO.replace("directory: /staging/", "directory: production"),
     r"flagdeck.yaml:8: environments.staging.directory: environments 'production' and 'staging' share storage"),
    (MONO.replace("directory: /staging/}", "directory: staging, default: true}"),
     r"flagdeck.yaml:6: environments: exactly one environment must have `default: true` "
     r"\(found: production, staging\)"),
    (MONO.replace("{storage: local, directory: /staging/}", "{storage: remote, directory: staging}"),
     r"flagdeck.yaml:8: environments.staging.storage: names no configured storage \('remote'"),
    (MONO.replace("environments: [staging, production]", "environments: [qa]"),
     r"flagdeck.yaml:13: authentication.tokens.web-app.environments: unknown environment 'qa'"),
    (MONO.replace('credential: "s3cr3t", ', ""),
     r"flagdeck.yaml:13: authentication.tokens.web-app.credential: is required"),
    (MONO.replace("directory: /staging/", "directory: ../elsewhere"),
     r"flagdeck.yaml:8: environments.staging.directory: '../elsewhere' must be a plain path"),
    (MONO.replace("    path: repo\n", ""), r"flagdeck.yaml:2: storage.local.path: is required"),
    ("storage: [\n", r"flagdeck.yaml:2: not valid YAML"),
    ("environments: {a: {}}\n", r"flagdeck.yaml: storage: at least one storage"),
])
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(write_config(tmp_path, text))


def test_durations() -> None:
    assert parse_duration("1s") == 1.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("30s") == 30.0
    assert parse_duration("2m") == 120.0
    assert parse_duration(5) == 5.0
    for bad in ("0s", "-1s", "1 fortnight", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_parse_config_without_a_file_uses_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config(MONO)
    assert config.storage["local"].path == (tmp_path / "repo").resolve()


def test_remote_credentials_resolve_the_key_path_and_keep_secrets_out(tmp_path: Path) -> None:
    text = ("storage:\n  s:\n    path: repo\n    remote: https://git.example.com/flags.git\n"
            "    credentials: {username: deploy, ssh_key: keys/id, token_env: FLAGS_TOKEN}\n"
            "environments: {live: {}}\n")
    creds = load_config(write_config(tmp_path, text)).storage["s"].credentials
    assert creds.ssh_key == (tmp_path / "keys" / "id").resolve() and creds.token_env == "FLAGS_TOKEN"
    assert creds.username == "deploy" and creds.insecure_ignore_host_key is False
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:5: storage.s.credentials.token: unknown key"):
        load_config(write_config(tmp_path, text.replace("token_env", "token")))
