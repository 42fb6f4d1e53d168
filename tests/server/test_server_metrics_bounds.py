"""/metrics stays bounded under hostile input (issue 12 #5): 10,000 distinct unknown flag keys, namespaces and
environments sent through every evaluation API add no series (unknown flag keys share one per namespace), with one
worker and with `--workers 2`; and a series lives only as long as what it names is served."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ns1
from .harness import FlagRepo, ServerProcess, ServerThread, wait_until, write_config

UNKNOWN = "(unknown)"
KEYS = 10_000


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called `name` in a Prometheus text, by their sorted labels."""
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def unknown_requests(text: str, namespace: str = "ns1") -> float:
    labels = (("flipt_environment", "production"), ("flipt_flag", UNKNOWN), ("flipt_namespace", namespace))
    return samples(text, "flipt_evaluations_requests_total").get(labels, 0.0)


def label_values(text: str) -> set[str]:
    return {value for family in text_string_to_metric_families(text) for s in family.samples
            for value in s.labels.values()}


def batch(keys: list[str]) -> dict:
    return {"requests": [{"namespaceKey": "ns1", "flagKey": key, "entityId": "u"} for key in keys]}


def send_unknown_keys(client: httpx.Client, url: str, prefix: str) -> int:
    """KEYS distinct unknown flag keys of ns1 through batch, variant, boolean and OFREP (single and bulk), on one
    keep-alive connection (the hot lane) and on connections closed after each request (aiohttp's path); returns
    how many evaluations failed, i.e. how many the unknown series must count."""
    keys = iter(f"{prefix}-{n}" for n in range(KEYS))
    for _ in range(8):
        r = client.post(url + "/evaluate/v1/batch", json=batch([next(keys) for _ in range(1000)]))
        assert r.status_code == 200 and len(r.json()["responses"]) == 1000
    sent = 8000
    close = {"Connection": "close"}
    for n in range(500):
        headers = close if n % 10 == 0 else {}
        r = client.post(url + "/evaluate/v1/variant", headers=headers,
                        json={"namespaceKey": "ns1", "flagKey": next(keys), "entityId": "u"})
        assert r.status_code == 404, r.text
        r = client.post(url + "/evaluate/v1/boolean", headers=headers,
                        json={"namespaceKey": "ns1", "flagKey": next(keys), "entityId": "u"})
        assert r.status_code == 404, r.text
        r = client.post(url + f"/ofrep/v1/evaluate/flags/{next(keys)}", headers={"X-Flipt-Namespace": "ns1", **headers},
                        json={"context": {"targetingKey": "u"}})
        assert r.status_code == 404, r.text
        sent += 3
    for _ in range(500):  # the bulk call fails at its first unknown key
        r = client.post(url + "/ofrep/v1/evaluate/flags", headers={"X-Flipt-Namespace": "ns1"},
                        json={"context": {"targetingKey": "u", "flags": f"bool-rollout,{next(keys)}"}})
        assert r.status_code == 404, r.text
        sent += 1
    assert sent == KEYS and next(keys, None) is None
    for n in range(200):  # unknown namespaces and environments: answered 404, never a label
        r = client.post(url + "/evaluate/v1/boolean",
                        json={"namespaceKey": f"{prefix}-ns-{n}", "flagKey": "bool-rollout", "entityId": "u"})
        assert r.status_code == 404
        r = client.post(url + "/evaluate/v1/boolean", headers={"X-Flipt-Environment": f"{prefix}-env-{n}"},
                        json={"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "u"})
        assert r.status_code == 404
        assert client.get(url + f"/internal/v1/evaluation/snapshot/namespace/{prefix}-ns-{n}").status_code == 404
    return sent


def test_ten_thousand_unknown_flag_keys_add_no_series(server: ServerThread) -> None:
    with httpx.Client(timeout=30) as client:
        client.post(server.url + "/evaluate/v1/boolean", json={"namespaceKey": "ns1", "flagKey": "warm-up"})
        client.post(server.url + "/ofrep/v1/evaluate/flags", headers={"X-Flipt-Namespace": "ns1"},
                    json={"context": {"targetingKey": "u", "flags": "bool-rollout,warm-up"}})
        before = client.get(server.url + "/metrics").text
        sent = send_unknown_keys(client, server.url, "hostile")
        after = client.get(server.url + "/metrics").text
    # the same series, only bigger numbers: a few bytes, where every key used to add a series (~110 bytes each)
    assert len(after) - len(before) < 400, (len(before), len(after))
    assert not any(value.startswith("hostile") for value in label_values(after))
    assert label_values(after) == label_values(before)
    assert (unknown_requests(before), unknown_requests(after)) == (2, 2 + sent)
    assert samples(after, "flipt_evaluations_errors_total")[()] == 2 + sent


def test_unknown_keys_are_bounded_across_two_workers(tmp_path: Path, flag_repo: FlagRepo) -> None:
    server = ServerProcess(write_config(tmp_path, flag_repo.path), "--workers", "2")
    try:
        with httpx.Client(timeout=30) as client:
            before = client.get(server.url + "/metrics").text
        sent = 0
        for part in range(10):  # a fresh connection per part: the kernel spreads them over both workers
            with httpx.Client(timeout=30) as client:
                keys = [f"hostile-{part}-{n}" for n in range(KEYS // 10)]
                assert client.post(server.url + "/evaluate/v1/batch", json=batch(keys)).status_code == 200
                sent += len(keys)

        def merged() -> str | None:
            with httpx.Client(timeout=10) as client:
                text = client.get(server.url + "/metrics").text
            return text if sum(samples(text, "flipt_evaluations_requests_total").values()) == sent else None

        after = wait_until(merged, timeout=15, what="both workers' counts in one scrape")
        assert len(after) - len(before) < 2000, (len(before), len(after))  # the unknown series, no more
        assert not any(value.startswith("hostile") for value in label_values(after))
        assert unknown_requests(after) == sent
    finally:
        assert server.stop() == 0


def test_series_of_what_is_no_longer_served_are_dropped(server: ServerThread, flag_repo: FlagRepo) -> None:
    """A flag, variant or namespace deleted from the repository takes its series with it at the next reload;
    asking for the deleted flag afterwards counts under the unknown series."""
    seg = {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "user-2", "context": {"plan": "pro"}}
    assert server.post("/evaluate/v1/variant", seg).status_code == 200
    assert server.post("/evaluate/v1/boolean", {"namespaceKey": "billing", "flagKey": "nope"}).status_code == 404
    assert server.get("/internal/v1/evaluation/snapshot/namespace/billing").status_code == 200
    text = server.get("/metrics").text
    assert "variant-seg" in label_values(text) and "billing" in label_values(text)

    without = ns1("production").replace("  - key: variant-seg\n", "  - key: renamed-seg\n", 1)
    last = flag_repo.commit({"prod/ns1/features.yaml": without, "prod/billing/features.yaml": None}, "delete")
    wait_until(lambda: server.get("/health").json()["environments"]["production"]["commit"] == last,
               what="the reload of the deletion")
    text = server.get("/metrics").text
    assert "variant-seg" not in label_values(text) and "billing" not in label_values(text)
    assert server.post("/evaluate/v1/variant", seg).status_code == 404
    assert unknown_requests(server.get("/metrics").text) == 1
