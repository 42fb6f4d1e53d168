"""PEM keys and certificates that flagdeck.yaml names: the public key a JWT is verified with (Flipt's JWT method,
`authentication.jwt`) and the evaluator's TLS certificate and private key (`server.tls`). Each problem is a
ValueError saying what is wrong with which file; the configuration turns it into `FILE:LINE: key: message`."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

# Flipt's JWT method accepts exactly these signing algorithms (internal/cmd/authn.go); the key decides which apply
JWT_ALGORITHMS = ("RS256", "RS512", "ES256", "ES512", "EdDSA")


def jwt_algorithms(key: Any) -> tuple[str, ...]:
    """The algorithms of `JWT_ALGORITHMS` a public key (a `cryptography` key object) verifies; () when none."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPublicKey):
        return ("RS256", "RS512")
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": ("ES256",), "secp521r1": ("ES512",)}.get(key.curve.name, ())
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("EdDSA",)
    return ()


def read_public_key(path: Path) -> Any:
    """The public key in a PEM file (`PUBLIC KEY`, `RSA PUBLIC KEY` or a `CERTIFICATE`) as a `cryptography` key
    usable with one of Flipt's JWT algorithms; ValueError saying what is wrong otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except ValueError:
        raise ValueError(f"{str(path)!r} holds no PEM public key") from None
    if not jwt_algorithms(key):
        raise ValueError(f"{str(path)!r}: unsupported key type (use RSA, EC P-256 or P-521, or Ed25519: "
                         f"Flipt's JWT algorithms are {', '.join(JWT_ALGORITHMS)})")
    return key


def server_ssl_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or later) on a PEM certificate (chain) and its unencrypted PEM key;
    ValueError naming the file at fault: `cert_file: ...` or `key_file: ...`."""
    from cryptography import x509

    try:
        data = cert_file.read_bytes()
    except OSError as exc:
        raise ValueError(f"cert_file: cannot read {str(cert_file)!r}: {exc.strerror or exc}") from None
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"cert_file: {str(cert_file)!r} holds no PEM certificate") from None
    try:
        key_file.read_bytes()
    except OSError as exc:
        raise ValueError(f"key_file: cannot read {str(key_file)!r}: {exc.strerror or exc}") from None

    def no_password() -> bytes:
        raise ValueError("encrypted")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file, password=no_password)
    except ValueError:
        raise ValueError(f"key_file: {str(key_file)!r} is an encrypted key (give an unencrypted one)") from None
    except ssl.SSLError as exc:
        reason = "is not the private key of cert_file" if "MISMATCH" in str(exc).upper() else (
            "holds no PEM private key")
        raise ValueError(f"key_file: {str(key_file)!r} {reason}") from None
    return context
