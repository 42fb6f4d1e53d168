"""The `authentication.jwt` section of flagdeck.yaml: what it reads, and errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gitstore.errors import ConfigError

from .jwt_tokens import parse_config, pem

BASE = """\
storage:
  local: {path: repo}
environments:
  production: {directory: prod, default: true}
  staging: {directory: staging}
authentication:
  required: true
  jwt:
"""


def test_config_jwt_section(tmp_path: Path, key_file: Path) -> None:
    config = parse_config(BASE + "    public_key_file: keys/jwt.pem\n    audiences: [a, b]\n"
                          "    environments: [staging]\n", tmp_path / "flagdeck.yaml")
    jwt_config = config.authentication.jwt
    assert jwt_config is not None and jwt_config.public_key_file == key_file.resolve()
    assert jwt_config.audiences == ["a", "b"] and jwt_config.environments == ["staging"]
    assert jwt_config.namespaces is None and jwt_config.refresh_interval == 300
    config = parse_config(BASE + "    jwks_url: https://idp.example/.well-known/jwks.json\n"
                          "    refresh_interval: 30s\n", tmp_path / "flagdeck.yaml")
    assert config.authentication.jwt is not None and config.authentication.jwt.refresh_interval == 30
    assert parse_config(BASE.removesuffix("  jwt:\n"), tmp_path / "flagdeck.yaml").authentication.jwt is None


@pytest.mark.parametrize("section, expected", [
    ("    issuer: x\n", r"flagdeck.yaml:8: authentication.jwt: exactly one of public_key_file or jwks_url"),
    ("    public_key_file: keys/jwt.pem\n    jwks_url: https://idp.example/jwks\n",
     r"flagdeck.yaml:8: authentication.jwt: exactly one of public_key_file or jwks_url"),
    ("    public_key_file: keys/missing.pem\n", r"flagdeck.yaml:9: authentication.jwt.public_key_file: cannot read"),
    ("    public_key_file: keys/junk.pem\n", r"flagdeck.yaml:9: authentication.jwt.public_key_file: .* no PEM"),
    ("    public_key_file: keys/p384.pem\n", r"flagdeck.yaml:9: authentication.jwt.public_key_file: .*unsupported"),
    ("    jwks_url: ftp://idp.example/jwks\n", r"flagdeck.yaml:9: authentication.jwt.jwks_url: .*not an http"),
    ("    jwks_url: https://idp.example/jwks\n    refresh_interval: soon\n",
     r"flagdeck.yaml:10: authentication.jwt.refresh_interval: 'soon' is not a duration"),
    ("    jwks_url: https://idp.example/jwks\n    audiences: [\"\"]\n",
     r"flagdeck.yaml:10: authentication.jwt.audiences.0"),
    ("    jwks_url: https://idp.example/jwks\n    validate_claims: {issuer: x}\n",
     r"flagdeck.yaml:10: authentication.jwt.validate_claims: unknown key"),
    ("    jwks_url: https://idp.example/jwks\n    environments: [qa]\n",
     r"flagdeck.yaml:10: authentication.jwt.environments: unknown environment 'qa'"),
])
def test_config_jwt_errors_name_file_line_and_key(tmp_path: Path, key_file: Path, section: str,
                                                  expected: str) -> None:
    (key_file.parent / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    (key_file.parent / "p384.pem").write_bytes(pem(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(ConfigError, match=expected):
        parse_config(BASE + section, tmp_path / "flagdeck.yaml").check_server_files()


def test_a_machine_without_the_key_file_still_reads_the_configuration(tmp_path: Path) -> None:
    """The console or an export on a laptop without the evaluator's key file loads the same flagdeck.yaml; only
    `flagdeck serve` (check_server_files) refuses it."""
    config = parse_config(BASE + "    public_key_file: /srv/keys/jwt.pem\n", tmp_path / "flagdeck.yaml")
    assert config.default_environment == "production"
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:9: authentication.jwt.public_key_file: cannot read"):
        config.check_server_files()
