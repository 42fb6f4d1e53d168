"""The real npm `@flipt-io/flipt-client-js` 0.5.1 (Flipt's Rust engine as WASM) on node, evaluating snapshots
served by our evaluator: oracle outcomes, agreement with server-side evaluation, 304 with ETag, polling a commit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from . import oracle
from .conftest import ns1
from .harness import ROOT, FlagRepo, ServerThread, run_node
from .test_server_auth import AUTH
from .test_server_clients_py import PRO, server_side

SCRIPT = Path(__file__).resolve().parent / "js" / "client.mjs"
PACKAGE = ROOT / "node_modules" / "@flipt-io" / "flipt-client-js"

if not shutil.which("node") or not PACKAGE.is_dir():
    pytest.fail("node and node_modules/@flipt-io/flipt-client-js are required (`make node` installs them)",
                pytrace=False)


def test_js_client_oracle_and_agreement(server: ServerThread) -> None:
    out = run_node(SCRIPT, server.url, "ns1", "default", "-", "oracle")
    for user, (bool_off, bool_on, seg, seg_dflt) in oracle.USERS.items():
        b_off, b_on, v_seg, v_dflt = out["results"][user]
        assert (b_off["enabled"], b_off["reason"]) == bool_off, user
        assert (b_on["enabled"], b_on["reason"]) == bool_on, user
        assert (v_seg["variantKey"], v_dflt["variantKey"]) == (seg, seg_dflt), user
        remote = server_side(server, "variant-seg", user, PRO)
        assert v_seg["reason"] == remote["reason"] and v_seg["segmentKeys"] == remote["segmentKeys"]
        if seg == "blue":
            assert json.loads(v_seg["variantAttachment"]) == {"color": "#00f"}
    assert "ns1/nope" in out["missing"]
    assert out["changed"] is False  # refresh() got a 304 carrying the ETag
    assert out["marker"] == "production"
    assert out["flags"] == sorted(["bool-rollout", "bool-rollout-on", "variant-seg", "variant-seg-dflt", "env-marker"])
    polls = server.requests_to("/internal/v1/evaluation/snapshot/namespace/ns1", count=2)
    assert [s.status for s in polls[:2]] == [200, 304]
    etag = server.get("/internal/v1/evaluation/snapshot/namespace/ns1").headers["etag"]
    assert "if-none-match" not in polls[0].headers and polls[1].headers["if-none-match"] == etag


def test_js_client_environment_token_and_commit(make_server, flag_repo: FlagRepo) -> None:  # noqa: ANN001
    server = make_server(AUTH.format(evaluation="false", ofrep="false"))
    proc = subprocess.Popen(["node", str(SCRIPT), server.url, "ns1", "staging", "s3cr3t", "watch", "polled"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"ready": "staging"}
        flag_repo.commit({"staging/ns1/features.yaml": ns1("polled")}, "change staging")
        assert json.loads(proc.stdout.readline()) == {"seen": "polled"}
    finally:
        proc.kill()
        proc.wait(5)
    first = server.requests_to("/internal/v1/evaluation/snapshot")[0]
    assert first.headers["authorization"] == "Bearer s3cr3t" and first.headers["x-flipt-environment"] == "staging"
