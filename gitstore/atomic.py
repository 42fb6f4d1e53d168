"""Writing a file whole: to a temporary file in its directory, renamed into place, so a reader in another process
sees the old file or the new one, never a part (the parse cache's entries and kept indexes, the cache of validated
configurations)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_whole(path: Path, *parts: bytes) -> bool:
    """Write `parts` to `path` (its directory created if missing) through a temporary file renamed into place;
    whether it was written (an OSError only means it was not; the temporary file is removed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".entry-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    out.write(part)
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
    except OSError:
        return False
    return True
