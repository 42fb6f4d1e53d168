"""What the JWT tests share (`test_server_jwt.py`: a PEM key file, `test_server_jwks.py`: a JWKS URL,
`test_server_jwt_config.py`: the configuration): keys made with `cryptography`, tokens signed with PyJWT, the
`authentication.jwt` section, and the requests they send. Its fixtures (`rsa_key`, `other_key`, `key_file`) reach
the tests through conftest.py."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from evaluator.config import EvaluatorConfig
from gitstore.config import parse_config as parse_any_config

BOOL = {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "user-2"}
BILLING = {"namespaceKey": "billing", "flagKey": "invoices-v2", "entityId": "user-2"}
UNAUTHENTICATED = {"code": 16, "message": "request was not authenticated", "details": []}
ISSUER, AUDIENCE = "https://issuer.example", "flagdeck"


def parse_config(text: str, path: Path) -> EvaluatorConfig:
    return parse_any_config(text, path, EvaluatorConfig)


def pem(private: Any) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(private: Any, alg: str = "RS256", kid: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "svc-1", "iat": now, "exp": now + 600, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, private, algorithm=alg, headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_header(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def jwt_section(key_line: str, extra: str = "") -> str:
    return ("authentication:\n  required: true\n  tokens:\n    ops: {credential: \"s3cr3t\"}\n  jwt:\n"
            f"    {key_line}\n    issuer: {ISSUER}\n    audiences: [{AUDIENCE}, other]\n{extra}")


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "keys" / "jwt.pem"
    path.parent.mkdir()
    path.write_bytes(pem(rsa_key))
    return path

