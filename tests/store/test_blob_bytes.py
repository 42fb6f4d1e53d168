"""`blob_bytes` reads a blob from the object database (half the time of `repo[oid].data` on a big file, issue 18):
the same bytes as the object lookup, loose or packed, and the same failures for an id that is not a blob or does
not exist."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pygit2
import pytest

from gitstore.git.objects import blob_bytes


def test_blob_bytes_are_the_objects_bytes_loose_and_packed_and_anything_else_fails_as_a_lookup(
        tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "repo"), bare=True)
    rng = random.Random(7)
    contents = [b"", b"a: 1\n", bytes(rng.randrange(256) for _ in range(70_000)), b"x" * 3_000_000]
    blobs = [repo.create_blob(data) for data in contents]
    builder = repo.TreeBuilder()
    for n, oid in enumerate(blobs):
        builder.insert(f"f{n}", oid, pygit2.enums.FileMode.BLOB)
    tree = builder.write()
    who = pygit2.Signature("Test", "test@localhost")
    repo.create_commit("refs/heads/main", who, who, "blobs", tree, [])  # reachable: a repack packs them
    for packed in (False, True):
        if packed:
            subprocess.run(["git", "--git-dir", repo.path, "repack", "-adq"], check=True)
            repo = pygit2.Repository(repo.path)
            assert not list((Path(repo.path) / "objects").glob("??/*"))  # every object is in a pack now
        for oid, data in zip(blobs, contents, strict=True):
            assert blob_bytes(repo, oid) == repo[oid].data == data
        with pytest.raises(AttributeError):  # a tree is no blob: as `repo[tree].data`
            blob_bytes(repo, tree)
        with pytest.raises(KeyError):
            blob_bytes(repo, pygit2.Oid(hex="1" * 40))
