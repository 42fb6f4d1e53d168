"""Where flag keys appear in a source tree, so a cleanup can remove the code with the flag.

Files are those Git would consider: in a Git work tree, the tracked files plus the untracked ones `.gitignore` does
not exclude (`git ls-files --cached --others --exclude-standard`); outside one, the same listing against a
temporary empty repository, so every `.gitignore` below PATH (and `.git/info/exclude`, the global excludes file)
applies exactly as Git applies it. Binary files (a NUL byte in their first 8 KiB) are skipped.

A key matches as a whole word: `checkout` is not found inside `new-checkout` or `checkout_v2`."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

SNIFF = 8192
MAX_FILE = 16 * 1024 * 1024  # bigger files are generated or data: skipped (said in the result)
_WORD = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Ref:
    path: str  # relative to the root searched, with `/`
    line: int
    key: str
    text: str  # the line, stripped, at most 200 characters


@dataclass(frozen=True)
class Search:
    refs: list[Ref]
    files: int  # text files searched
    skipped: list[str]  # binary or too big


class RefsError(Exception):
    pass


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=300, check=False)
    except FileNotFoundError:
        raise RefsError("git is not installed: it is needed to list the files .gitignore keeps") from None
    if done.returncode != 0:
        raise RefsError(f"git {' '.join(args[:2])} failed in {cwd}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _in_work_tree(root: Path) -> bool:
    done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root, capture_output=True,
                          check=False)
    return done.returncode == 0 and done.stdout.strip() == b"true"


def list_files(root: Path) -> list[str]:
    """The files below `root` that Git would not ignore, relative to `root` (sorted)."""
    if not root.is_dir():
        raise RefsError(f"{root}: not a directory")
    listing = ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."]
    if _in_work_tree(root):
        out = _git(listing, root)
    else:
        with tempfile.TemporaryDirectory(prefix="flagdeck-refs-") as empty:
            _git(["init", "-q", "--bare", empty], root)
            out = _git([f"--git-dir={empty}", f"--work-tree={root}", *listing], root)
    names = {name for name in out.decode("utf-8", errors="surrogateescape").split("\0") if name}
    return sorted(name for name in names if (root / name).is_file())  # a tracked file deleted: gone


def _lines(data: bytes) -> Iterator[tuple[int, str]]:
    return enumerate(data.decode("utf-8", errors="replace").splitlines(), 1)


def find_refs(root: Path, keys: Collection[str]) -> Search:
    """Every line of every file below `root` naming one of `keys` (keys with a comma are matched as text)."""
    plain = {k for k in keys if "," not in k}
    odd = [k for k in keys if "," in k]
    refs: list[Ref] = []
    skipped: list[str] = []
    searched = 0
    for name in list_files(root):
        path = root / name
        try:
            if path.stat().st_size > MAX_FILE:
                skipped.append(name)
                continue
            data = path.read_bytes()
        except OSError:
            skipped.append(name)
            continue
        if b"\0" in data[:SNIFF]:
            skipped.append(name)
            continue
        searched += 1
        for number, line in _lines(data):
            found = {w for w in _WORD.findall(line) if w in plain}
            found.update(k for k in odd if k in line)
            for key in sorted(found):
                refs.append(Ref(name, number, key, line.strip()[:200]))
    return Search(refs, searched, skipped)
