"""The parse cache's code fingerprint covers every gitstore module that decides what loading a file finds: an entry
written by one version of the loader is never read by another. Moving code out of the fingerprinted files (as the
words of the format moved to `gitstore.model.vocabulary`, issue 18) must move the fingerprint with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gitstore.format import cache

ROOT = Path(__file__).resolve().parents[2]
# gitstore modules loading imports that cannot change what it finds: package markers and the collector pause
NO_BEARING = {"gitstore/__init__.py", "gitstore/format/__init__.py", "gitstore/model/__init__.py",
              "gitstore/gcpause.py"}
PROBE = """
import json, sys
import gitstore.format.loader, gitstore.format.models, gitstore.format.cache
print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items())
                        if n.split(".")[0] == "gitstore" and getattr(m, "__file__", None))))
"""


def test_every_module_loading_imports_is_fingerprinted() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    loaded = {Path(f).resolve().relative_to(ROOT).as_posix() for f in json.loads(done.stdout)}
    covered = {path.resolve().relative_to(ROOT).as_posix() for path in cache.fingerprinted()}
    assert loaded - NO_BEARING <= covered, sorted(loaded - NO_BEARING - covered)
    assert "gitstore/model/vocabulary.py" in covered


def test_a_change_to_a_fingerprinted_file_changes_the_fingerprint(tmp_path: Path, monkeypatch) -> None:
    """The fingerprint is made of the files' bytes: one more byte in the vocabulary is another fingerprint."""
    before = cache.fingerprint()
    files = cache.fingerprinted()
    copies = []
    for path in files:
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes() + (b"\n# changed\n" if path.name == "vocabulary.py" else b""))
        copies.append(copy)
    monkeypatch.setattr(cache, "fingerprinted", lambda: copies)
    monkeypatch.setattr(cache, "_fingerprint", None)
    assert cache.fingerprint() != before
