"""A parse cache on disk, keyed by Git blob id: what loading a namespace file found (its checked plain data, its
problems and claims) kept next to the file's bytes, so another process reading the same blob (`flagdeck validate`,
`eval`, `export`, a console, an evaluator starting) skips parsing and checking it (issue 18).

Why it can never serve stale data: an entry is named by the blob id (the SHA-1 of the file's content) and by a
fingerprint of the loader's source code, and holds the file's bytes, which are hashed again on every hit and must
give that blob id; other content or another version of the loader is another entry. An entry that is cut short,
corrupt, for another file, or not in this format is a miss (and is deleted), never an error or a wrong answer.

What it trusts: entries live in the repository's own directory (`<git dir>/flagdeck/parse-cache/`). Whoever can
write there can also move the branches; the cache adds no way in for anyone else. Entries are parsed with orjson
only (no pickle, no code), bounded in size, written to a temporary file and renamed into place (concurrent
processes see an entry whole or not at all), and the directory is kept under `MAX_BYTES` and `MAX_ENTRIES`,
least recently used first (`evict`, once after each snapshot's saves). `FLAGDECK_PARSE_CACHE=off` turns it off.

Beside an entry, a writer may keep plain data of its own for a blob (`save_index`/`load_index`: the text index of a
file it wrote, `gitstore.edit.stored`), named by the blob id, the file name and a fingerprint of the code that made
it, checked the same way (length and CRC; a miss, deleted, when anything is off) and evicted with the entries.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import orjson
import yaml_rs

from gitstore.atomic import write_whole
from gitstore.errors import Problem
from gitstore.format.limits import JSON_OPTIONS, MAX_FILE_BYTES
from gitstore.format.loader import LoadResult, load_document, result_from_data

MAGIC = b"flagdeck parse cache 1\n"
MAX_BYTES = 512 * 1024 * 1024  # the directory, all entries (an entry is ~2x its file: bytes + plain data)
MAX_ENTRIES = 16_384  # many small files (a 1,000-namespace environment, each branch's versions): bytes bound the rest
MAX_ENTRY = 4 * MAX_FILE_BYTES
STALE_TEMP = 3600.0  # seconds: a temporary file this old was left by a writer that died
ENV = "FLAGDECK_PARSE_CACHE"
_HEADER = struct.Struct(">I")
_fingerprint: str | None = None


def cache_dir(git_dir: str | Path) -> Path | None:
    """Where the entries of the repository at `git_dir` live; None when `FLAGDECK_PARSE_CACHE` is off."""
    if os.environ.get(ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return None
    return Path(git_dir) / "flagdeck" / "parse-cache"


def fingerprint() -> str:
    """A hash of the source of everything that decides what loading a file finds (parsing, limits, validation,
    line numbers, the models) and of the parsers' versions: a changed loader never reads entries an older one
    wrote."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha1(MAGIC)
        # and what parses and decodes: another YAML parser (or orjson, or Python) may read a file differently
        digest.update(f"yaml-rs {yaml_rs.__version__} orjson {orjson.__version__} {sys.version}\0".encode())
        for path in fingerprinted():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _fingerprint = digest.hexdigest()
    return _fingerprint


def fingerprinted() -> list[Path]:
    """The source files `fingerprint` hashes: every module of `gitstore.format`, and what they read from outside it
    (the documents, the words of the format, the lifecycle rules the validator applies, the problems).
    `tests/format/test_cache_fingerprint.py` checks that every gitstore module loading imports is among them."""
    here = Path(__file__).resolve().parent
    model = here.parent / "model"
    return sorted([*here.glob("*.py"), model / "documents.py", model / "vocabulary.py", model / "lifecycle.py",
                   here.parent / "errors.py", here.parent / "atomic.py"])


def blob_id(data: bytes) -> str:
    """Git's id of a blob holding `data`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def entry_path(directory: Path, blob: str, filename: str) -> Path:
    name = hashlib.sha1(f"{filename}\0{fingerprint()}".encode()).hexdigest()[:20]
    return directory / f"{blob}.{name}"


def load(directory: Path, blob: str, filename: str) -> tuple[bytes, LoadResult] | None:
    """The file's bytes and what loading it found, as `load_document(data, filename)` returns it; None on a
    miss (no entry, or one that does not prove itself whole and for this blob, file and loader)."""
    path = entry_path(directory, blob, filename)
    try:
        raw = _read(path)
    except OSError:
        return None
    found = _decode(raw, blob, filename)
    if found is None:
        _remove(path)
        return None
    _touch(path)
    return found


def save(directory: Path, blob: str, filename: str, data: bytes, result: LoadResult) -> bool:
    """Keep what loading `data` (the blob `blob`) found; whether it was written. Best effort: a cache that cannot
    be written is no cache. The directory is not kept in bounds here: `evict` once after a batch of saves (the
    store does after each snapshot), not after each (it lists the directory)."""
    docs = b""
    if result.namespaces is not None:
        try:  # only data JSON gives back exactly (no NaN, infinity, big integer, non-text key or date)
            # the loader's limit check made it (limits.checked_json), else: raises for a big integer, a key that
            # is not text, a date
            docs = result.namespaces.take_json() or orjson.dumps(result.data, option=JSON_OPTIONS)
            # NaN and infinities are written as null: without a null, nothing was (checking the way back costs
            # half a second of a 100,000-flag file, and the limits refused every other kind of value)
            if b"null" in docs and orjson.loads(docs) != result.data:
                return False
        except (TypeError, ValueError):
            return False
    header = orjson.dumps({
        "fingerprint": fingerprint(), "blob": blob, "file": filename, "size": len(data), "docs": len(docs),
        "crc": zlib.crc32(docs), "valid": result.valid, "claims": result.claims,
        "problems": [[p.file, p.line, p.path, p.message, p.severity] for p in result.problems],
    })
    return write_whole(entry_path(directory, blob, filename), MAGIC + _HEADER.pack(len(header)) + header, data,
                  docs)


# -- what a writer keeps beside a blob's entry (gitstore.edit.stored): plain JSON data, named by the blob id, the
# file name and a fingerprint of the code that made it (`code`), checked like an entry (a miss when anything is off)
INDEX_MAGIC = b"flagdeck text index 1\n"


def index_path(directory: Path, blob: str, filename: str, code: str) -> Path:
    name = hashlib.sha1(f"{filename}\0{code}".encode()).hexdigest()[:20]
    return directory / f"{blob}.{name}.index"


def save_index(directory: Path, blob: str, filename: str, code: str, payload: Any) -> bool:
    """Keep `payload` (JSON data) for the blob `blob` of `filename`, made by code whose fingerprint is `code`;
    whether it was written (best effort, as `save`)."""
    try:
        body = orjson.dumps(payload)
    except (TypeError, ValueError):
        return False
    header = orjson.dumps({"blob": blob, "file": filename, "code": code, "size": len(body), "crc": zlib.crc32(body)})
    return write_whole(index_path(directory, blob, filename, code),
                  INDEX_MAGIC + _HEADER.pack(len(header)) + header, body)


def load_index(directory: Path, blob: str, filename: str, code: str) -> Any:
    """What `save_index` kept for this blob, file and code; None on a miss (no entry, or one that is cut short,
    corrupt, for another blob, file or code, or not in this format: it is deleted)."""
    path = index_path(directory, blob, filename, code)
    try:
        raw = _read(path)
    except OSError:
        return None
    try:
        start = len(INDEX_MAGIC) + _HEADER.size
        (length,) = _HEADER.unpack_from(raw, len(INDEX_MAGIC))
        head = orjson.loads(raw[start:start + length])
        body = memoryview(raw)[start + length:]
        if not raw.startswith(INDEX_MAGIC) or not isinstance(head, dict) \
                or (head.get("blob"), head.get("file"), head.get("code")) != (blob, filename, code) \
                or head.get("size") != len(body) or head.get("crc") != zlib.crc32(body):
            raise ValueError("not this blob's entry")
        payload = orjson.loads(body)
    except Exception:  # noqa: BLE001 - whatever is wrong with an entry, it is a miss
        _remove(path)
        return None
    _touch(path)
    return payload


def evict(directory: Path, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> None:
    """Remove the least recently used entries beyond the bounds (the newest always stays), and temporary files
    left by writers that died."""
    entries: list[tuple[float, int, Path]] = []
    now = time.time()
    for path in directory.iterdir():
        try:
            info = path.stat()
        except OSError:
            continue
        if path.name.startswith(".entry-"):
            if now - info.st_mtime > STALE_TEMP:
                _remove(path)
            continue
        entries.append((info.st_mtime, info.st_size, path))
    entries.sort(reverse=True)
    total = 0
    for count, (_, size, path) in enumerate(entries):
        total += size
        if count and (count >= max_entries or total > max_bytes):
            _remove(path)


def _read(path: Path) -> bytes:
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_ENTRY:
            raise OSError("entry too big")
        return file.read()


def _decode(raw: bytes, blob: str, filename: str) -> tuple[bytes, LoadResult] | None:
    try:
        if not raw.startswith(MAGIC):
            return None
        start = len(MAGIC) + _HEADER.size
        (length,) = _HEADER.unpack_from(raw, len(MAGIC))
        head = orjson.loads(raw[start:start + length])
        if not isinstance(head, dict) or (head.get("fingerprint"), head.get("blob"), head.get("file")) != (
                fingerprint(), blob, filename):
            return None
        size, docs_len, crc, valid = head["size"], head["docs"], head["crc"], head["valid"]
        body = start + length
        if not (type(size) is int and type(docs_len) is int and size >= 0 and docs_len >= 0
                and body + size + docs_len == len(raw) and type(valid) is bool):
            return None
        data = raw[body:body + size]
        if blob_id(data) != blob:  # the bytes are the blob's: the text, digest and line numbers are right
            return None
        docs_raw = memoryview(raw)[body + size:]
        if zlib.crc32(docs_raw) != crc:
            return None
        problems = [_problem(item) for item in head["problems"]]
        claims = _claims(head["claims"])
        if not valid:
            if claims is not None and not problems:
                return None
            return data, LoadResult(problems, claims)
        if claims is None or any(p.severity == "error" for p in problems):
            return None
        return data, result_from_data(lambda: _documents(docs_raw, data, filename), filename, problems, claims)
    except Exception:  # noqa: BLE001 - whatever is wrong with an entry, it is a miss
        return None


def _documents(docs_raw: memoryview, data: bytes, filename: str) -> list[Any]:
    """The entry's plain documents, decoded when a document is first asked for (`flagdeck validate` never does).
    The bytes passed their CRC when the entry was read; should they still not be the JSON list the cache wrote,
    the file itself is parsed again: a cache never gives a wrong answer."""
    try:
        docs = orjson.loads(docs_raw)
    except orjson.JSONDecodeError:
        docs = None
    if not isinstance(docs, list):
        docs = load_document(data, filename).data or []
    return docs


def _problem(item: Any) -> Problem:
    file, line, path, message, severity = item
    if not (type(file) is str and type(line) is int and type(path) is str and type(message) is str
            and severity in ("error", "warning")):
        raise ValueError("not a problem")
    return Problem(file, line, path, message, severity)


def _claims(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(type(k) is str and type(v) is int for k, v in value.items()):
        raise ValueError("not claims")
    return value


def _touch(path: Path) -> None:
    """Mark an entry recently used: `evict` removes it last."""
    try:
        os.utime(path)
    except OSError:
        pass


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
