"""A big namespace served before it is prepared (issue 18): at start-up the evaluator answers once the file is loaded
and checked, each flag compiled when an evaluation first asks for it, and the rest (client snapshot, stream line,
bulk keys, warnings) built in the background. Every answer must equal the whole build's: the same compiled flags,
evaluations and traces, the same snapshot document. Real repositories, a real store, a real server process."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx2 as httpx
import orjson
import pytest

from evaluator.client_snapshot import build_client_snapshot
from evaluator.engine import Trace, compile_namespace, evaluate
from evaluator.engine.compiler import LazyFlags
from evaluator.server import prepared
from evaluator.server.state import build_env_state
from gitstore.config import load_config
from gitstore.store import Store
from tests.documents.test_lazy_documents import FILE, KEYS, TEXT, whole_document
from tests.server.harness import FlagRepo, ServerProcess, wait_until, write_config
from tests.store.conftest import single_env_config
from tests.store.test_cli import without_times
from tests.store.test_snapshot import raw_commit

CONTEXTS = ({"plan": "pro"}, {"plan": "free", "seats": "3"})


def shape(compiled: object) -> str:
    """A compiled flag's every field (its constraints' matchers are closures, equal only by their code)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(compiled))


def test_the_first_state_serves_flags_compiled_one_by_one_equal_to_the_whole_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepared, "LATER_BYTES", 0)  # every namespace counts as big
    config = single_env_config(tmp_path)
    Store(load_config(config)).close()
    raw_commit(tmp_path / "repo", {FILE: TEXT.encode()})
    with Store(load_config(config)) as store:
        snap = store.snapshot("production")
        state = build_env_state(snap, None)
        ns = state.namespaces["default"]
        whole = compile_namespace(whole_document(), FILE)
        assert state.unprepared and not ns.ready and ns.warnings == ()
        lazy = ns.compiled
        assert isinstance(lazy.flags, LazyFlags) and lazy.document is None
        assert snap.namespaces["default"].source.built == ()  # type: ignore[union-attr]  # no model of every flag
        assert list(lazy.flags) == KEYS and len(lazy.flags) == 4 and "nope" not in lazy.flags
        assert lazy.flags.get("nope") is None
        for key in reversed(KEYS):  # in any order: each flag knows its place (its warnings name flags[N])
            assert shape(lazy.flags[key]) == shape(whole.flags[key])
            for entity in ("u1", "u2", "u3"):
                for context in CONTEXTS:
                    mine, theirs = Trace(), Trace()
                    assert evaluate(lazy, key, entity, context, trace=mine) == evaluate(
                        whole, key, entity, context, trace=theirs)
                    assert mine.render() == theirs.render()
        state.prepare()
        assert ns.ready and not state.unprepared and ns.compiled.document == whole_document()
        assert ns.warnings == tuple(str(w) for w in whole.warnings) and len(ns.warnings) == 3
        expected = build_client_snapshot(whole, ns.digest)
        assert without_times(orjson.loads(ns.snapshot_body)) == without_times(expected)
        assert ns.stream_line == b'{"result":' + ns.snapshot_body + b"}\n"
        assert ns.bulk_keys == ("first", "second", "third")
        # a later state (a reload) is built whole before it is swapped in
        raw_commit(tmp_path / "repo", {FILE: TEXT.replace("name: Fourth", "name: Fourth!").encode()})
        again = build_env_state(store.snapshot("production"), state)
        assert not again.unprepared and again.namespaces["default"].ready


def big_namespace(flags: int) -> str:
    """A namespace file over `prepared.LATER_BYTES`: variant flags with a 30/70 rule on a segment, one rule naming a
    segment whose constraint is malformed (a warning)."""
    lines = ['version: "1.6"', "flags:"]
    for i in range(flags):
        lines += [f"  - key: flag-{i:05d}", f"    name: Flag number {i} with a longer name to fill the file",
                  f"    description: The flag number {i}, described at some length so that the file is big",
                  f"    enabled: {'true' if i % 3 else 'false'}", "    variants:",
                  "      - {key: a, default: true, attachment: {colour: blue}}", "      - {key: b}", "    rules:",
                  f"      - segment: {'broken' if i == 7 else 'pro'}", "        distributions:",
                  "          - {variant: a, rollout: 30}", "          - {variant: b, rollout: 70}"]
    lines += ["segments:", "  - key: pro", "    name: Pro", "    match_type: ALL_MATCH_TYPE", "    constraints:",
              "      - {type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: pro}",
              "  - key: broken", "    name: Broken", "    match_type: ALL_MATCH_TYPE", "    constraints:",
              "      - {type: NUMBER_COMPARISON_TYPE, property: seats, operator: gt, value: many}"]
    return "\n".join(lines) + "\n"


def test_a_big_namespace_answers_at_start_as_the_whole_build(tmp_path: Path) -> None:
    text = big_namespace(3000)
    assert len(text) > prepared.LATER_BYTES
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({"prod/default/features.yaml": text})
    config = write_config(tmp_path, repo.path, environments="  production: {storage: flags, directory: prod}\n")
    server = ServerProcess(config)
    try:
        # asked at once, in the order a client would: an evaluation, the client snapshot, the flag list
        answer = httpx.post(server.url + "/evaluate/v1/variant", timeout=30, json={
            "namespaceKey": "default", "flagKey": "flag-00011", "entityId": "u1", "context": {"plan": "pro"}})
        body = httpx.get(server.url + "/internal/v1/evaluation/snapshot/namespace/default", timeout=30)
        listed = httpx.get(server.url + "/api/v1/namespaces/default/flags?limit=2", timeout=30)
        document = whole_document_of(text)
        whole = compile_namespace(document, "prod/default/features.yaml")
        expected = evaluate(whole, "flag-00011", "u1", {"plan": "pro"})
        assert answer.status_code == 200 and answer.json()["variantKey"] == expected.variant_key
        assert answer.json()["segmentKeys"] == ["pro"]
        assert body.status_code == 200 and body.headers["ETag"] == body.json()["digest"]
        assert without_times(body.json()) == without_times(build_client_snapshot(whole, body.json()["digest"]))
        assert listed.status_code == 200 and [f["key"] for f in listed.json()["flags"]] == ["flag-00000",
                                                                                           "flag-00001"]
        health = wait_until(lambda: _prepared(server.url), timeout=30, what="the namespace prepared")
        assert health["warnings"] == [str(w) for w in whole.warnings] and len(health["warnings"]) == 1
        assert httpx.get(server.url + "/internal/v1/evaluation/snapshot/namespace/default", timeout=10,
                         headers={"If-None-Match": body.headers["ETag"]}).status_code == 304
    finally:
        assert server.stop() == 0


def whole_document_of(text: str) -> object:
    from gitstore.format.loader import load_document

    result = load_document(text, "prod/default/features.yaml")
    assert result.document is not None
    return result.document


def _prepared(url: str) -> dict[str, object] | None:
    found = httpx.get(url + "/health", timeout=5).json()["environments"]["production"]["namespaces"]["default"]
    return found if found["prepared"] else None


@pytest.mark.parametrize("hot_lane", [True, False], ids=["hot lane", "ordinary path"])
def test_a_snapshot_asked_while_preparing_waits_and_the_server_answers_others_meanwhile(
        tmp_path: Path, held_preparation: threading.Event, hot_lane: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.server.harness import ServerThread

    release = held_preparation
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({"prod/default/features.yaml": TEXT})
    config = write_config(tmp_path, repo.path, environments="  production: {storage: flags, directory: prod}\n")
    server = ServerThread(config, hot_lane=hot_lane)
    try:
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(server.get, "/internal/v1/evaluation/snapshot/namespace/default")
            for key in KEYS:  # answered while the snapshot waits: the event loop is not held up
                answer = server.post("/evaluate/v1/boolean" if key == "first" else "/evaluate/v1/variant", {
                    "namespaceKey": "default", "flagKey": key, "entityId": "u1", "context": {"plan": "pro"}})
                assert answer.status_code == 200, answer.text
            health = server.get("/health").json()
            assert health["status"] == "SERVING"
            assert health["environments"]["production"]["namespaces"]["default"]["prepared"] is False
            assert not waiting.done()
            release.set()
            snapshot = waiting.result(20)
        whole = compile_namespace(whole_document(), "prod/default/features.yaml")
        assert snapshot.status_code == 200
        assert without_times(snapshot.json()) == without_times(build_client_snapshot(whole, snapshot.json()["digest"]))
        found = wait_until(lambda: _prepared(server.url), timeout=10, what="the namespace prepared")
        assert found["warnings"] == [str(w) for w in whole.warnings]
    finally:
        release.set()
        server.stop()


def test_a_snapshot_is_answered_from_the_plain_data_before_the_rest_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up writes the client snapshot first, from the plain data: a client gets it (the whole build's document)
    while the compiled namespace, bulk keys and warnings are still being built (/health: prepared false)."""
    from tests.server.harness import ServerThread

    release = threading.Event()
    build = prepared.build

    def held(*args: object) -> prepared.Built:
        assert release.wait(20)
        return build(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(prepared, "LATER_BYTES", 0)
    monkeypatch.setattr(prepared, "build", held)
    repo = FlagRepo(tmp_path / "repo")
    repo.commit({"prod/default/features.yaml": TEXT})
    config = write_config(tmp_path, repo.path, environments="  production: {storage: flags, directory: prod}\n")
    server = ServerThread(config)
    try:
        snapshot = server.get("/internal/v1/evaluation/snapshot/namespace/default")
        assert snapshot.status_code == 200
        whole = compile_namespace(whole_document(), "prod/default/features.yaml")
        assert without_times(snapshot.json()) == without_times(build_client_snapshot(whole, snapshot.json()["digest"]))
        assert snapshot.headers["ETag"] == snapshot.json()["digest"]
        assert server.get("/internal/v1/evaluation/snapshot/namespace/default", headers={
            "If-None-Match": snapshot.json()["digest"]}).status_code == 304
        assert _prepared(server.url) is None  # the rest is still held
        release.set()
        found = wait_until(lambda: _prepared(server.url), timeout=10, what="the namespace prepared")
        assert found["warnings"] == [str(w) for w in whole.warnings]
        again = server.get("/internal/v1/evaluation/snapshot/namespace/default")
        assert again.content == snapshot.content  # the body written first is the one kept
    finally:
        release.set()
        server.stop()
