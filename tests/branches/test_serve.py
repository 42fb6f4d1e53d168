"""A real `flagdeck serve` (a mirror of a real bare remote) serving branch environments to Flipt's real SDKs: PyPI
`flipt` (server-side evaluation with `X-Flipt-Environment: NAME`) and `flipt-client` (Flipt's Rust engine on the
client snapshot of environment NAME), and OFREP under `/environments/NAME/`. A branch another clone creates,
changes and deletes appears, follows and disappears within the poll interval; `/api/v2/environments...` answer
in Flipt v2's shape."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
from flipt import FliptClient as RestClient
from flipt.evaluation import EvaluationRequest
from flipt.exceptions import FliptApiError
from flipt_client import FliptClient
from flipt_client.models import ClientOptions
from server.harness import ServerProcess, wait_until

from .conftest import ALICE, bare, flag, open_store, write_config


def rest_enabled(url: str, env: str, key: str = "checkout") -> bool:
    client = RestClient(url=url, headers={"X-Flipt-Environment": env}, timeout=10)
    try:
        return client.evaluation.boolean(EvaluationRequest(namespace_key="default", flag_key=key, entity_id="u1",
                                                           context={})).enabled
    finally:
        client.close()


def not_served(url: str, env: str) -> bool:
    try:
        rest_enabled(url, env)
    except FliptApiError as exc:
        assert exc.status_code == 404 and f'environment: "{env}" not found' in str(exc)
        return True
    return False


def environments(url: str) -> list[tuple[str, str | None]]:
    found = httpx.get(f"{url}/api/v2/environments", timeout=5).json()["environments"]
    return [(e["key"], e["configuration"].get("base")) for e in found]


def test_serve_follows_branches_and_sdks_evaluate_them(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    with open_store(tmp_path / "a", origin.as_uri()) as writer:
        writer.commit("production", [flag("checkout", False)], ALICE)
        served = ServerProcess(write_config(tmp_path / "m", origin.as_uri(), poll="300ms"),
                               command=("-m", "app.cli", "serve"))
        try:
            url = served.url
            assert environments(url) == [("production", None), ("staging", None)]
            writer.branch("production", "trial", ALICE)
            writer.commit("trial", [flag("checkout", True)], ALICE)
            wait_until(lambda: ("trial", "production") in environments(url), timeout=10,
                       what="the mirror to serve the new branch")
            wait_until(lambda: rest_enabled(url, "trial"), timeout=10, what="the branch's commit")
            assert rest_enabled(url, "production") is False  # the base is served as it was
            [trial] = [e for e in httpx.get(f"{url}/api/v2/environments").json()["environments"]
                       if e["key"] == "trial"]
            assert trial == {"key": "trial", "name": "trial", "default": False,
                             "configuration": {"ref": "flipt/production/trial", "remote": origin.as_uri(),
                                               "base": "production"}}
            client = FliptClient(ClientOptions(url=url, namespace="default", environment="trial",
                                               update_interval=60))
            try:
                assert client.evaluate_boolean("checkout", "u1", {}).enabled is True
            finally:
                client.close()
            snapshot = httpx.get(f"{url}/client/v2/environments/trial/namespaces/default/snapshot")
            assert snapshot.status_code == 200 and "checkout" in snapshot.text
            ofrep = httpx.post(f"{url}/environments/trial/ofrep/v1/evaluate/flags/checkout",
                               json={"context": {"targetingKey": "u1"}}).json()
            assert ofrep["value"] is True
            health = httpx.get(f"{url}/health").json()["environments"]
            assert health["trial"]["commit"] == writer.head("trial") and health["trial"]["default"] is False
            wait_until(lambda: (httpx.get(f"{url}/health").json()["environments"]["trial"]["remote"] or {}).get(
                "reachable"), timeout=10, what="the branch's remote state in /health")
            branches = httpx.get(f"{url}/api/v2/environments/production/branches").json()

            assert branches == {"branches": [{"environmentKey": "production", "key": "trial",
                                              "ref": "flipt/production/trial"}]}
            assert httpx.get(f"{url}/api/v2/environments/staging/branches").json() == {"branches": []}
            missing = httpx.get(f"{url}/api/v2/environments/nowhere/branches")
            assert missing.status_code == 404 and missing.json()["message"] == 'environment "nowhere" not found'
            for refused in (httpx.post(f"{url}/api/v2/environments/production/branches", json={"key": "x"}),
                            httpx.delete(f"{url}/api/v2/environments/production/branches/trial")):
                assert refused.status_code == 405, refused.text
                body = refused.json()
                assert body["code"] == 12 and "read-only mirror" in body["message"]
            writer.delete_branch("production", "trial")
            wait_until(lambda: ("trial", "production") not in environments(url), timeout=10,
                       what="the mirror to drop the deleted branch")
            wait_until(lambda: not_served(url, "trial"), timeout=10, what="the deleted branch to be a 404")
            assert httpx.get(f"{url}/health").json()["status"] == "SERVING"
        finally:
            served.stop()
