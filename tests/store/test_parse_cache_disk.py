"""The parse cache on disk (gitstore.format.cache, issue 18): another process reading the same blob skips parsing,
and whatever is wrong with an entry (cut short, corrupt, for another file or loader, hostile, not a file) is a miss
and the answer is the parse's, never an error or a wrong answer. Real repositories, real Stores, real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import Problem
from gitstore.format import cache as disk_cache
from gitstore.format.loader import load_document
from gitstore.git.snapshot import Snapshot
from gitstore.store import Store

from .conftest import single_env_config
from .test_snapshot import raw_commit

ROOT = Path(__file__).resolve().parents[2]
FILE = "default/features.yaml"
GOOD = b"""version: "1.6"
namespace: default
flags:
  - key: checkout
    name: Checkout
    enabled: true
    metadata: {owner: team-1, ratio: 0.25, big: 18446744073709551615}
    variants:
      - {key: a, default: true, attachment: {n: 1, list: [1.5, "x", null, true]}}
      - {key: b}
    rules:
      - segment: pro
        distributions: [{variant: a, rollout: 50}, {variant: b, rollout: 50}]
  - key: other
    name: other
    type: BOOLEAN_FLAG_TYPE
    description: on
    enabled: false
segments:
  - key: pro
    name: Pro
    match_type: ALL_MATCH_TYPE
    constraints:
      - {type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: pro}
"""
BAD = GOOD.replace(b"rollout: 50}]", b"rollout: 150}]")


def repo_with(tmp_path: Path, data: bytes) -> Path:
    config = single_env_config(tmp_path)
    Store(load_config(config)).close()  # creates the repository
    raw_commit(tmp_path / "repo", {FILE: data})
    return config


def entries(tmp_path: Path) -> list[Path]:
    found = Path(pygit2.Repository(str(tmp_path / "repo")).path) / "flagdeck" / "parse-cache"
    return sorted(p for p in found.iterdir() if not p.name.startswith(".")) if found.exists() else []


def read(config: Path) -> tuple[Snapshot, int, int]:
    """A fresh Store's snapshot (as a new process would read it): (snapshot, files parsed, files from disk)."""
    with Store(load_config(config)) as store:
        snap = store.snapshot("production")
        return snap, store.cache.parses, store.cache.loaded


def same(a: Snapshot, b: Snapshot) -> None:
    assert a.problems == b.problems
    for key, ns in a.namespaces.items():
        other = b.namespaces[key]
        assert (ns.document, ns.problems, ns.digest, ns.text, ns.path) == (
            other.document, other.problems, other.digest, other.text, other.path)


@pytest.mark.parametrize("data", [GOOD, BAD, b"flags: [\n", b"version: \"1.6\"\nnamespace: x\n"],
                         ids=["valid", "invalid", "unparseable", "other-namespace"])
def test_a_second_process_reads_the_blob_from_disk(tmp_path: Path, data: bytes) -> None:
    config = repo_with(tmp_path, data)
    first, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0) and len(entries(tmp_path)) == 1
    second, parsed, loaded = read(config)
    assert (parsed, loaded) == (0, 1)
    same(first, second)
    if data is GOOD:  # YAML 1.2: `on` is the string "on"
        assert second.document("default").flag("other").description == "on"
    if data is BAD:
        [problem] = [p for p in second.problems if p.severity == "error"]
        assert problem.file == FILE and problem.line == 13 and "rollout" in problem.path


CORRUPTIONS = {
    "empty": lambda raw: b"",
    "cut short": lambda raw: raw[: len(raw) // 2],
    "one byte more": lambda raw: raw + b" ",
    "magic": lambda raw: b"X" + raw[1:],
    "a flipped byte in the file": lambda raw: flip(raw, raw.index(b"Checkout")),
    "a flipped byte in the data": lambda raw: flip(raw, raw.rindex(b"Checkout")),
    "garbage": lambda raw: os.urandom(len(raw)),
    "header length": lambda raw: raw[: len(disk_cache.MAGIC)] + b"\xff\xff\xff\xff" + raw[len(disk_cache.MAGIC) + 4:],
}


def flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x20]) + raw[at + 1:]


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_a_miss_and_the_answer_the_parse(tmp_path: Path, how: str) -> None:
    config = repo_with(tmp_path, GOOD)
    fresh, _, _ = read(config)
    [entry] = entries(tmp_path)
    entry.write_bytes(CORRUPTIONS[how](entry.read_bytes()))
    again, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0)
    same(fresh, again)
    third, parsed, loaded = read(config)  # the bad entry was replaced by a good one
    assert (parsed, loaded) == (0, 1)
    same(fresh, third)


def test_a_hostile_entry_for_another_blob_or_file_is_a_miss(tmp_path: Path) -> None:
    """An entry copied from another file, or whose header names this blob but holds other bytes, is refused:
    the bytes must hash to the blob id the entry is looked up by."""
    config = repo_with(tmp_path, GOOD)
    fresh, _, _ = read(config)
    [entry] = entries(tmp_path)
    directory = entry.parent
    blob = entry.name.split(".")[0]
    other = disk_cache.blob_id(BAD)
    disk_cache.save(directory, other, FILE, BAD, load_document(BAD, FILE))
    forged = (directory / disk_cache.entry_path(directory, other, FILE).name).read_bytes()
    entry.write_bytes(forged.replace(other.encode(), blob.encode()))  # claims to be GOOD's blob, holds BAD
    again, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0)
    same(fresh, again)
    assert not any(p.severity == "error" for p in again.problems)


def test_an_entry_that_is_not_a_file_is_a_miss(tmp_path: Path) -> None:
    config = repo_with(tmp_path, GOOD)
    fresh, _, _ = read(config)
    [entry] = entries(tmp_path)
    entry.unlink()
    entry.mkdir()
    again, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0)
    same(fresh, again)


def test_another_loader_version_does_not_read_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = repo_with(tmp_path, GOOD)
    read(config)
    monkeypatch.setattr(disk_cache, "_fingerprint", "a-changed-loader")
    _, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0) and len(entries(tmp_path)) == 2


def test_data_json_cannot_give_back_is_not_cached(tmp_path: Path) -> None:
    result = load_document(GOOD, FILE)
    assert result.data is not None
    result.data[0]["flags"][0]["metadata"]["when"] = float("nan")
    disk_cache.save(tmp_path, "0" * 40, FILE, GOOD, result)
    result.data[0]["flags"][0]["metadata"]["when"] = 2**70
    disk_cache.save(tmp_path, "0" * 40, FILE, GOOD, result)
    assert list(tmp_path.iterdir()) == []
    plain = GOOD.replace(b"null", b"0")  # no null in its JSON: the way back is not checked, the types are
    result = load_document(plain, FILE)
    assert result.data is not None
    result.data[0]["flags"][0]["metadata"]["when"] = datetime(2026, 1, 2, tzinfo=UTC)  # JSON would give a string
    disk_cache.save(tmp_path, "0" * 40, FILE, plain, result)
    assert list(tmp_path.iterdir()) == []
    result.data[0]["flags"][0]["metadata"]["when"] = 1.5  # and the same data, JSON-exact, is kept
    disk_cache.save(tmp_path, "0" * 40, FILE, plain, result)
    assert len(list(tmp_path.iterdir())) == 1


def test_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(disk_cache.ENV, "off")
    config = repo_with(tmp_path, GOOD)
    read(config)
    _, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0) and entries(tmp_path) == []


def test_bounded_least_recently_used_first(tmp_path: Path) -> None:
    result = load_document(GOOD, FILE)
    blobs = [f"{n:040x}" for n in range(6)]
    for n, blob in enumerate(blobs):
        disk_cache.save(tmp_path, blob, FILE, GOOD, result)
        os.utime(disk_cache.entry_path(tmp_path, blob, FILE), (1000 + n, 1000 + n))
    os.utime(disk_cache.entry_path(tmp_path, blobs[0], FILE))  # just used
    (tmp_path / ".entry-dead.tmp").write_bytes(b"x")
    os.utime(tmp_path / ".entry-dead.tmp", (1, 1))
    disk_cache.evict(tmp_path, max_entries=3)
    kept = {p.name.split(".")[0] for p in tmp_path.iterdir()}
    assert kept == {blobs[0], blobs[5], blobs[4]}
    size = disk_cache.entry_path(tmp_path, blobs[0], FILE).stat().st_size
    disk_cache.evict(tmp_path, max_bytes=size + 1)
    assert [p.name.split(".")[0] for p in tmp_path.iterdir()] == [blobs[0]]
    disk_cache.evict(tmp_path, max_bytes=1)  # the newest stays, however big
    assert len(list(tmp_path.iterdir())) == 1


CHILD = """
import sys
from gitstore.config import load_config
from gitstore.store import Store
parsed = loaded = 0
for _ in range(int(sys.argv[2])):
    with Store(load_config(sys.argv[1])) as store:
        doc = store.snapshot("production").document("default")
        assert doc is not None and [f.key for f in doc.flags] == ["checkout", "other"], doc
        parsed, loaded = parsed + store.cache.parses, loaded + store.cache.loaded
print(parsed, loaded)
"""


def test_concurrent_processes_read_and_write_one_entry(tmp_path: Path) -> None:
    """Four processes, each reading the namespace 20 times with a new Store (so each read goes to disk, and the
    first ones race to write the entry): every read is right, the entry ends whole."""
    config = repo_with(tmp_path, GOOD)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(config), "20"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    counts = [tuple(map(int, out.split())) for out, _ in outs]
    assert all(parsed + loaded == 20 and loaded >= 19 - 3 for parsed, loaded in counts), counts
    assert len(entries(tmp_path)) == 1
    _, parsed, loaded = read(config)
    assert (parsed, loaded) == (0, 1)


def test_problems_keep_file_line_path(tmp_path: Path) -> None:
    config = repo_with(tmp_path, BAD)
    first, _, _ = read(config)
    second, _, loaded = read(config)
    assert loaded == 1
    assert [p for p in second.problems if isinstance(p, Problem) and p.severity == "error"] == [
        p for p in first.problems if p.severity == "error"]


def test_an_environment_of_many_namespaces_is_read_from_disk_whole_and_evicted_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 namespaces (more than the old 256-entry bound, which evicted entries a cold start was about to need):
    a second process reads every file from disk; the directory is kept in bounds once per snapshot, not per file."""
    config = single_env_config(tmp_path)
    Store(load_config(config)).close()
    raw_commit(tmp_path / "repo", {f"ns{n}/features.yaml": GOOD.replace(b"namespace: default", b"namespace: ns%d" % n)
                                   for n in range(300)})
    evictions: list[Path] = []
    evict = disk_cache.evict
    monkeypatch.setattr(disk_cache, "evict", lambda directory, *a: (evictions.append(directory), evict(directory, *a)))
    snap, parsed, loaded = read(config)
    assert (len(snap.namespaces), parsed, loaded) == (300, 300, 0) and len(evictions) == 1
    again, parsed, loaded = read(config)
    assert (parsed, loaded) == (0, 300) and len(evictions) == 1  # nothing saved: nothing to evict
    same(snap, again)


def test_replaying_a_commit_reads_its_files_from_disk(tmp_path: Path) -> None:
    """Replaying local commits onto a fetched tip reads each version of the file (base, ours, theirs) through the
    repository's parse cache on disk, as a snapshot does (it parsed them again in every process)."""
    from gitstore.git.replay import _namespaces
    from gitstore.git.snapshot import ParseCache

    config = repo_with(tmp_path, GOOD)
    old = raw_commit(tmp_path / "repo", {FILE: GOOD.replace(b"name: other", b"name: Other")})
    with Store(load_config(config)) as store:
        store.snapshot("production", old)  # this version parsed (and saved) once, in another process
    repo = pygit2.Repository(str(tmp_path / "repo"))
    blob = repo.revparse_single(f"{old}:{FILE}").id
    cache = ParseCache()
    found = _namespaces(repo, blob, FILE, cache)
    assert found is not None and found["default"].flag("other").name == "Other"  # type: ignore[union-attr]
    assert (cache.parses, cache.loaded) == (0, 1)


def test_another_yaml_parser_does_not_read_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml_rs

    config = repo_with(tmp_path, GOOD)
    read(config)
    monkeypatch.setattr(disk_cache, "_fingerprint", None)
    monkeypatch.setattr(yaml_rs, "__version__", "0.0.0-another")
    _, parsed, loaded = read(config)
    assert (parsed, loaded) == (1, 0)
