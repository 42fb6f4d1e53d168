"""Hostile and broken requests over raw sockets, with the hot lane on and off: a body that is not in its
`Content-Encoding`, header lines aiohttp cannot parse, credentials in every place a client may put them. Each gets a
4xx in Flipt's JSON error shape, no traceback, and no token, cookie or JWT reaches any log at any level."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import zlib
from pathlib import Path
from typing import Any

import pytest
from aiohttp import compression_utils

from .harness import FlagRepo, ServerProcess, ServerThread, write_config
from .test_server_auth import AUTH
from .test_server_hotlane import VARIANT, read_answers, request

BODY = json.dumps(VARIANT).encode()


def closed_after(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()[:200]}" for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "no-lane"])
def test_a_body_not_in_its_content_encoding_is_a_json_4xx(make_server: Any, lane: bool,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    server: ServerThread = make_server(hot_lane=lane)
    caplog.set_level(logging.DEBUG)
    unsupported = {"code": 3, "message": "unsupported Content-Encoding (send the body as is, or gzip or deflate it)",
                   "details": []}
    cases = [
        ("gzip", b"this is not gzip", 400, "request body is not valid gzip (Content-Encoding: gzip)"),
        ("deflate", b"nor deflate", 400, "request body is not valid deflate (Content-Encoding: deflate)"),
        ("gzip", gzip.compress(BODY)[:12] + b"garbage" * 5, 400,
         "request body is not valid gzip (Content-Encoding: gzip)"),
        ("br", b"\x8b\x02\x80garbage", *((400, "request body is not valid br (Content-Encoding: br)")
                                         if compression_utils.HAS_BROTLI else (415, unsupported["message"]))),
        ("zstd", b"garbage", *((400, "request body is not valid zstd (Content-Encoding: zstd)")
                              if compression_utils.HAS_ZSTD else (415, unsupported["message"]))),
    ]
    for encoding, body, status, message in cases:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(request("POST", "/evaluate/v1/variant", body, {"Content-Encoding": encoding})
                         + request("POST", "/evaluate/v1/variant", VARIANT))  # a pipelined request behind it
            answer = read_answers(sock, 1)[0]
            assert (answer.status, answer.headers["content-type"]) == (status, "application/json"), encoding
            assert json.loads(answer.body) == {"code": 3, "message": message, "details": []}, encoding
            assert answer.headers["access-control-allow-origin"] == "*"
            assert closed_after(sock), encoding  # the parser cannot go on after such a body: closed, not hung
    for encoding, body in (("gzip", gzip.compress(BODY)), ("deflate", zlib.compress(BODY))):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(request("POST", "/evaluate/v1/variant", body, {"Content-Encoding": encoding}))
            answer = read_answers(sock, 1)[0]
            assert answer.status == 200 and json.loads(answer.body)["flagKey"] == "variant-seg", encoding
    assert not problems(caplog)
    assert "Traceback" not in caplog.text


MALFORMED = [  # header lines aiohttp's parser refuses, each carrying a credential
    b"Authorization: Bearer %(token)s\x01",
    b"Authorization: JWT %(jwt)s\x7f",
    b"Cookie: theme=dark; flipt_client_token=%(token)s\x00",
    b"Authorization : Bearer %(token)s",
    b"X-Api-Key %(token)s",
    b"Authorization: Bearer %(token)s\r\n folded-%(token)s",
    b"Authorization: Bearer " + b"%(token)s" * 1500,
    b"Cookie: flipt_client_token=%(token)s\r\nCookie: %(jwt)s\r\nHost: twice",
]


def secrets_config(tmp_path: Path, flag_repo: FlagRepo) -> Path:
    return write_config(tmp_path, flag_repo.path, AUTH.format(evaluation="false", ofrep="false"))


def exchange_raw(url: str, data: bytes) -> list[Any]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(data)
        return read_answers(sock, 1)


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "no-lane"])
def test_no_credential_reaches_any_log(tmp_path: Path, flag_repo: FlagRepo, lane: bool) -> None:
    """`flagdeck serve --access-log --log-level debug`: every logger of the process writes to its output, at every
    level. Malformed header lines carrying a token, a cookie or a JWT get a 400 in Flipt's shape that does not
    echo them; valid requests carry them in Authorization, Cookie, the query string and the Referer. None of them
    appears anywhere in what the process wrote."""
    token, jwt = "s3cr3t", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzM2NyM3QifQ.c2lnbmF0dXJl"
    secrets = {"token": token, "jwt": jwt}
    server = ServerProcess(secrets_config(tmp_path, flag_repo), "--access-log", "--log-level", "debug",
                           *(() if lane else ("--no-hot-lane",)), command=("-m", "app.cli", "serve"))
    try:
        for line in MALFORMED:
            head = b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: t\r\n" + (line % {k.encode(): v.encode() for k, v in
                                                                                secrets.items()})
            answer = exchange_raw(server.url, head + b"\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)[0]
            assert answer.status in (400, 431), line
            assert json.loads(answer.body)["code"] == 3 and answer.headers["content-type"] == "application/json"
            assert token.encode() not in answer.body and jwt.encode() not in answer.body, line
        valid = [
            ({"Authorization": f"Bearer {token}"}, ""),
            ({"Authorization": f"Bearer {token}x"}, ""),
            ({"Authorization": f"JWT {jwt}"}, ""),
            ({"Cookie": f"flipt_client_token={token}"}, ""),
            ({"Authorization": f"Bearer {token}", "Referer": f"https://u:{token}@app.example/p?token={token}#{jwt}"},
             f"?token={token}&{jwt}"),
        ]
        statuses = []
        for headers, query in valid:
            statuses.append(exchange_raw(server.url, request("POST", "/evaluate/v1/variant" + query, VARIANT,
                                                             headers))[0].status)
        assert statuses == [200, 401, 401, 200, 200]
    finally:
        assert server.stop() == 0
    assert server.proc.stdout is not None
    output = server.proc.stdout.read()
    assert "malformed request from" in output  # the DEBUG lines were written ...
    assert '"POST /evaluate/v1/variant?token=***&*** HTTP/1.1" 200' in output  # ... and the access log
    assert '"https://app.example/p"' in output
    for name, secret in secrets.items():
        assert secret not in output, f"the {name} reached the log:\n" + "\n".join(
            x for x in output.splitlines() if secret in x)[:3000]
