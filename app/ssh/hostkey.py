"""The server's persistent host key: an ed25519 key generated on first start, stored with mode 0600, reused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh


class HostKeyError(Exception):
    pass


def load_or_create_host_key(path: str | os.PathLike[str]) -> asyncssh.SSHKey:
    """Load the host key at `path`; create it (ed25519, 0600, parent directories 0700) if it does not exist.

    Refuses a key file that others can read, as OpenSSH does."""
    path = Path(path)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise HostKeyError(
                f"{path}: host key is readable by others (mode {mode:04o}); run chmod 600 {path}"
            )
        try:
            return asyncssh.read_private_key(str(path))
        except (asyncssh.KeyImportError, ValueError, OSError) as exc:
            raise HostKeyError(f"{path}: not a usable private key: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="flagdeck ssh-server")
    data = key.export_private_key("openssh")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    key.write_public_key(str(path) + ".pub")
    return key
