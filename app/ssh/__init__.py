"""Serving the Flagdeck console over SSH: server, users file, host key, session PTYs and the JSON log.

asyncssh still names cryptography's DSA classes when it is imported, and cryptography (≥ 48) answers every such
name with a `CryptographyDeprecationWarning` on standard error. The server never offers or accepts DSA keys (the
host key is ed25519, the users file's keys are whatever OpenSSH makes), so exactly those warnings, raised from
asyncssh's modules, are silenced here, before any module of this package imports asyncssh."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

warnings.filterwarnings(
    "ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning, module=r"asyncssh(\.|$)"
)
