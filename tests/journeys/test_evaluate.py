"""Journey 2: the flag of journey 1 evaluated for one entity three ways — in the console's evaluate screen, with
`flagdeck eval --explain` and with curl against `flagdeck serve` (Flipt's /evaluate/v1/variant, the environment in
Flipt's header): the same variant from all three, and the same bucket in the console and the command line."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.server.harness import ServerProcess

from .conftest import BIN, commit_banner
from .steps import fill, wait_line

BUCKET = re.compile(r"bucket: crc32\(\"new-banner\" \+ \"(?P<entity>[^\"]+)\"\) = \d+ -> (?P<bucket>\d+) of 1000")


def serve(project: Path) -> ServerProcess:
    """`flagdeck serve` with the project's flagdeck.yaml, once its /health answers."""
    return ServerProcess(project / ".flagdeck" / "flagdeck.yaml", command=("-m", "app.cli", "serve"))


def test_the_console_eval_and_curl_agree_on_variant_and_bucket(console, project) -> None:
    commit_banner(project)
    term = console((100, 30))
    term.keys("Down", "Down")
    wait_line(term, "> new-banner")
    term.keys("e")
    term.wait_for("Evaluate flag new-banner")
    fill(term, "Entity id", "user-7")
    fill(term, "Context", "region=eu", "Tab")
    term.keys("Enter")
    result = wait_line(term, "new-banner: match=yes", "variant=")
    screen = term.screen()
    console_variant = re.search(r"variant=(\w+)", result)[1]
    console_bucket = BUCKET.search(screen)
    assert console_variant in ("blue", "green") and "segments=eu-users" in result
    assert console_bucket and console_bucket["entity"] == "user-7", screen
    assert f"result: variant {console_variant}" in screen

    done = subprocess.run([str(BIN / "flagdeck"), "eval", "--env", "staging", "-n", "default", "new-banner",
                           "-e", "user-7", "-c", "region=eu", "--explain"], cwd=project, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"result: variant {console_variant}" in done.stdout
    cli_bucket = BUCKET.search(done.stdout)
    assert cli_bucket and cli_bucket["bucket"] == console_bucket["bucket"], done.stdout

    server = serve(project)
    try:
        body = {"namespaceKey": "default", "flagKey": "new-banner", "entityId": "user-7", "context": {"region": "eu"}}
        answer = subprocess.run(["curl", "-s", f"{server.url}/evaluate/v1/variant", "-H",
                                 "Content-Type: application/json", "-H", "X-Flipt-Environment: staging",
                                 "-d", json.dumps(body)], capture_output=True, text=True, timeout=30)
        served = json.loads(answer.stdout)
        assert served["match"] is True and served["variantKey"] == console_variant, served
        assert served["segmentKeys"] == ["eu-users"]
        other = subprocess.run(["curl", "-s", f"{server.url}/evaluate/v1/variant", "-H", "Content-Type: application/json",
                                "-d", json.dumps(body)], capture_output=True, text=True, timeout=30)
        assert "not found" in other.stdout, other.stdout  # without the header: production, which has no new-banner
    finally:
        server.stop()
