"""`GET /api/v1/namespaces/{ns}/flags` pages as Flipt's does (its fs snapshot's `paginate` behind grpc-gateway):
key order, `limit`, `pageToken` = the decimal offset of the next page, `totalCount` of the whole namespace, and
Flipt's 400s, byte for byte. Raw HTTP, and the `flipt` SDK's `flag.list_flags`."""

from __future__ import annotations

import pytest
from flipt import FliptClient as RestClient
from flipt.models import ListParameters

from .harness import FlagRepo, ServerThread, wait_until

NS1 = ["bool-rollout", "bool-rollout-on", "env-marker", "variant-seg", "variant-seg-dflt"]  # in key order
URL = "/api/v1/namespaces/ns1/flags"


def listed(server: ServerThread, query: str = "", namespace: str = "ns1") -> tuple[list[str], str, int]:
    r = server.get(f"/api/v1/namespaces/{namespace}/flags{query}")
    assert r.status_code == 200, r.text
    body = r.json()
    return [f["key"] for f in body["flags"]], body["nextPageToken"], body["totalCount"]


def test_pages_in_key_order(server: ServerThread) -> None:
    assert listed(server) == (NS1, "", 5)  # the file's order is not key order: Flipt sorts
    assert listed(server, "?limit=2") == (NS1[:2], "2", 5)
    assert listed(server, "?limit=2&pageToken=2") == (NS1[2:4], "4", 5)
    assert listed(server, "?limit=2&pageToken=4") == (NS1[4:], "", 5)
    assert listed(server, "?limit=2&page_token=2") == (NS1[2:4], "4", 5)  # grpc-gateway takes the proto name too
    assert listed(server, "?pageToken=3") == (NS1[3:], "", 5)  # no limit: everything from the offset
    assert listed(server, "?limit=0&pageToken=1") == (NS1[1:], "", 5)
    assert listed(server, "?limit=5") == (NS1, "", 5) and listed(server, "?limit=2147483647") == (NS1, "", 5)
    assert listed(server, "?limit=%2B3") == (NS1[:3], "3", 5)  # Go's ParseInt takes a sign
    assert listed(server, "?limit=&pageToken=&offset=") == (NS1, "", 5)  # empty = absent
    assert listed(server, "?offset=3&limit=1") == (NS1[:1], "1", 5)  # deprecated, ignored by Flipt's fs store
    assert listed(server, "?pageToken=-1") == (NS1, "", 5)  # tokens outside 0..2^31-1 read as 0 in Flipt
    assert listed(server, "?pageToken=2147483648") == (NS1, "", 5)
    seen, token = [], None
    while token != "":
        keys, token, total = listed(server, "?limit=2" + (f"&pageToken={token}" if token else ""))
        seen += keys
    assert seen == NS1 and total == 5


@pytest.mark.parametrize(("query", "message"), [
    ("?pageToken=abc", 'pageToken is not valid: "abc"'),
    ("?pageToken=1.5", 'pageToken is not valid: "1.5"'),
    ("?pageToken=%20%31", 'pageToken is not valid: " 1"'),
    ("?pageToken=a%22b%0A", 'pageToken is not valid: "a\\"b\\n"'),  # quoted as Go's %q
    ("?pageToken=99999999999999999999", 'pageToken is not valid: "99999999999999999999"'),
    ("?pageToken=5", "invalid offset: 5"),
    ("?pageToken=7&limit=1", "invalid offset: 7"),
    ("?limit=abc", 'parsing field "limit": strconv.ParseInt: parsing "abc": invalid syntax'),
    ("?limit=2147483648", 'parsing field "limit": strconv.ParseInt: parsing "2147483648": value out of range'),
    ("?limit=1_0", 'parsing field "limit": strconv.ParseInt: parsing "1_0": invalid syntax'),
    ("?offset=x", 'parsing field "offset": strconv.ParseInt: parsing "x": invalid syntax'),
    ("?limit=1&limit=2", 'too many values for field "limit": 1, 2'),
    ("?pageToken=1&pageToken=2", 'too many values for field "page_token": 1, 2'),
    ("?limit=-1", "invalid limit: -1"),  # Flipt panics (500); a clear 400 here
])
def test_invalid_pages_are_400_in_flipts_words(server: ServerThread, query: str, message: str) -> None:
    r = server.get(URL + query)
    assert r.status_code == 400 and r.json() == {"code": 3, "message": message, "details": []}


def test_a_query_is_checked_before_the_namespace(server: ServerThread, flag_repo: FlagRepo) -> None:
    """grpc-gateway rejects a malformed field before Flipt looks for the namespace; a namespace without flags
    answers an empty page whatever the token (Flipt's `paginate` returns before reading it)."""
    assert server.get("/api/v1/namespaces/ghost/flags?limit=x").status_code == 400
    assert server.get("/api/v1/namespaces/ghost/flags?pageToken=x").status_code == 404
    last = flag_repo.commit({"prod/empty/features.yaml": "namespace: empty\nflags: []\n"}, "an empty namespace")
    wait_until(lambda: server.get("/health").json()["environments"]["production"]["commit"] == last,
               what="the empty namespace")
    assert listed(server, "?pageToken=abc&limit=3", "empty") == ([], "", 0)


def test_flipt_sdk_lists_flags(server: ServerThread) -> None:
    """flipt 2.0.0's `list_flags` parses the paged answer. Its ListParameters never reach a server: the SDK hands
    httpx their JSON text as the query string (one unknown, empty field), which Flipt and Flagdeck both ignore, so
    every flag comes back."""
    client = RestClient(url=server.url)
    answer = client.flag.list_flags("ns1")
    assert [f.key for f in answer.flags] == NS1 and answer.total_count == 5 and answer.next_page_token == ""
    paged = client.flag.list_flags("ns1", ListParameters(limit=2, page_token="2"))
    assert [f.key for f in paged.flags] == NS1
    sent = server.requests_to(URL, 2)[-1]
    assert sent.query == '{"limit":2,"pageToken":"2"}='  # the JSON text as a field name


def test_the_list_is_built_by_its_first_request_not_by_a_load() -> None:
    """A start-up or a reload does not serialise every flag for a v1 call most clients never make (about a second
    at 100,000 flags); the first request does, once, and every later one gets the same items."""
    from evaluator.server.flag_list import flag_items
    from evaluator.server.state import build_namespace
    from gitstore.format.loader import load_document

    text = "namespace: ns1\nflags:\n  - key: b\n    name: B\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n" \
           "  - key: a\n    name: A\n    type: VARIANT_FLAG_TYPE\n    variants:\n      - key: on\n"
    document = load_document(text, "ns1/features.yaml").document
    assert document is not None
    served = build_namespace("ns1", "c0ffee", document, "digest")
    assert served.flag_items.ready is None
    items = served.flag_items.get()
    assert items == flag_items("ns1", document) and [b'"key":"a"' in i for i in items] == [True, False]
    assert served.flag_items.ready is items and served.flag_items.get() is items
