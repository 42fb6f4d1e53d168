"""flagdeck.yaml: shapes that load, and errors that name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import FlagdeckConfig, load_flagdeck_config
from evaluator.config import EvaluatorConfig
from gitstore.config import Config, load_config, parse_config, parse_duration
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
    config = load_flagdeck_config(write_config(tmp_path / "conf", MONO))
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
        load_flagdeck_config(write_config(tmp_path, text))


SECTIONS = """\
server: {port: 9000, tls: {cert_file: certs/c.pem, key_file: certs/k.pem}}
ssh: {port: 2200, state_dir: ssh-state, idle_timeout: 0}
"""


def test_each_package_validates_the_sections_it_owns(tmp_path: Path) -> None:
    """One file; gitstore's model passes over the evaluator's and the app's sections, the evaluator's over the
    app's, and the app's reads them all (paths relative to the file in every section)."""
    path = write_config(tmp_path, MONO + SECTIONS)
    plain = load_config(path)
    assert type(plain) is Config and not hasattr(plain, "server") and plain.identity is not None
    evaluator = load_config(path, EvaluatorConfig)
    assert evaluator.server.port == 9000 and evaluator.authentication.required and not hasattr(evaluator, "ssh")
    assert evaluator.server.tls is not None and evaluator.server.tls.cert_file == tmp_path.resolve() / "certs/c.pem"
    full = load_flagdeck_config(path)
    assert full.server.port == 9000 and full.ssh.port == 2200 and full.ssh.idle_timeout == 0
    assert full.ssh.state_dir == tmp_path.resolve() / "ssh-state" and full.ssh.max_consoles == 16
    assert full.storage == plain.storage and full.environments == plain.environments


@pytest.mark.parametrize(("extra", "owners", "expected"), [
    ("servr: {port: 1}\n", (Config, EvaluatorConfig, FlagdeckConfig), r"flagdeck.yaml:16: servr: unknown key"),
    ("server: {port: 99999}\n", (EvaluatorConfig, FlagdeckConfig),
     r"flagdeck.yaml:16: server.port: Input should be less than or equal to 65535"),
    ("server: {cors: {allowed_origins: [\"*\", x]}}\n", (EvaluatorConfig, FlagdeckConfig),
     r"flagdeck.yaml:16: server.cors.allowed_origins: \"\*\" allows any origin"),
    ("ssh:\n  port: 2200\n  max_consoles: 0\n", (FlagdeckConfig,),
     r"flagdeck.yaml:18: ssh.max_consoles: Input should be greater than or equal to 1"),
    ("ssh: {login_timeout: soon}\n", (FlagdeckConfig,), r"flagdeck.yaml:16: ssh.login_timeout: 'soon' is not a"),
    ("ssh: {colour: blue}\n", (FlagdeckConfig,), r"flagdeck.yaml:16: ssh.colour: unknown key"),
])
def test_a_section_is_checked_by_its_owner_with_file_and_line(tmp_path: Path, extra: str,
                                                              owners: tuple[type[Config], ...],
                                                              expected: str) -> None:
    path = write_config(tmp_path, MONO + extra)
    for model in (Config, EvaluatorConfig, FlagdeckConfig):
        if model in owners:
            with pytest.raises(ConfigError, match=expected):
                load_config(path, model)
        else:
            load_config(path, model)  # a section another package owns is passed over


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
