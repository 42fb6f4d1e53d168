"""The evaluator's environments API and branch environments in one repository shared with a writer (as `make run`
has it: no remote, the watcher sees the local refs): authentication of `/api/v2/environments...` as for the flag
list, Flipt's filtering of the listing by a scoped credential, and a stream of a branch that is deleted ending with
Flipt's not-found frame."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from server.conftest import initial_files
from server.harness import FlagRepo, ServerThread, wait_until, write_config
from server.test_server_auth import AUTH, bearer

from gitstore.config import load_config
from gitstore.store import Store

from .conftest import flag

OPS, WEB, BATCH = bearer("3v3rywh3r3"), bearer("s3cr3t"), bearer("0th3r")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerThread, Store]]:
    repo = FlagRepo(tmp_path / "flags")
    repo.commit(initial_files(), "initial flags")
    config = write_config(tmp_path, repo.path, AUTH.format(evaluation="true", ofrep="true"))
    server = ServerThread(config)
    writer = Store(load_config(config))
    try:
        yield server, writer
    finally:
        writer.close()
        server.stop()


def keys(url: str, headers: dict[str, str]) -> list[str]:
    answer = httpx.get(f"{url}/api/v2/environments", headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    return [e["key"] for e in answer.json()["environments"]]


def test_environments_api_is_authenticated_and_filtered(served: tuple[ServerThread, Store]) -> None:
    server, writer = served
    writer.branch("production", "exp")
    wait_until(lambda: "exp" in keys(server.url, OPS), timeout=10, what="the new branch to be served")
    assert keys(server.url, OPS) == ["production", "staging", "exp"]
    assert keys(server.url, WEB) == ["production", "staging"]  # scoped to those two: the branch is not listed
    for path in ("/api/v2/environments", "/api/v2/environments/production/branches"):
        refused = httpx.get(server.url + path, timeout=5)
        assert (refused.status_code, refused.json()["code"]) == (401, 16)
    assert httpx.get(f"{server.url}/api/v2/environments/staging/branches", headers=BATCH).status_code == 403
    listed = httpx.get(f"{server.url}/api/v2/environments/production/branches", headers=WEB).json()
    assert listed == {"branches": [{"environmentKey": "production", "key": "exp", "ref": "flipt/production/exp"}]}
    assert httpx.post(f"{server.url}/api/v2/environments/production/branches", json={"key": "x"}
                      ).status_code == 401  # the credential first, then the refusal to write
    assert httpx.post(f"{server.url}/api/v2/environments/production/branches", json={"key": "x"},
                      headers=OPS).status_code == 405


def test_a_deleted_branch_ends_its_streams(served: tuple[ServerThread, Store]) -> None:
    server, writer = served
    writer.branch("production", "exp")
    writer.commit("exp", [flag("on-the-branch", True, namespace="ns1")])
    wait_until(lambda: "exp" in keys(server.url, OPS), timeout=10, what="the new branch to be served")
    url = f"{server.url}/client/v2/environments/exp/namespaces/ns1/stream"
    with httpx.stream("GET", url, timeout=10) as stream:
        lines = stream.iter_lines()
        first = json.loads(next(lines))
        assert "on-the-branch" in json.dumps(first["result"])
        writer.delete_branch("production", "exp")
        last = json.loads(next(lines))
        assert last == {"error": {"code": 5, "message": last["error"]["message"], "details": []}}
        assert "ns1" in last["error"]["message"]
        assert list(lines) == []  # and the stream ends
    # the path's environment names none now: the default one answers (flipt-compatibility §4.1), not the branch
    after = httpx.get(f"{server.url}/client/v2/environments/exp/namespaces/ns1/snapshot", timeout=5)
    assert after.status_code == 200 and "on-the-branch" not in after.text
    gone = httpx.post(f"{server.url}/evaluate/v1/boolean", headers={"X-Flipt-Environment": "exp"}, timeout=5,
                      json={"namespaceKey": "ns1", "flagKey": "on-the-branch", "entityId": "u"})
    assert gone.status_code == 404
