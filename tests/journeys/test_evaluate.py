"""Journey 2: the flag of journey 1 evaluated for one entity three ways — in the console's evaluate screen, with
`flagdeck eval --explain` and with curl against `flagdeck serve` (Flipt's /evaluate/v1/variant, the environment in
Flipt's header): the same variant from all three, and the same bucket in the console and the command line."""

from __future__ import annotations

import json
import re
import subprocess
import time

from .conftest import BIN, commit_banner
from .steps import fill, wait_line

BUCKET = re.compile(r"bucket: crc32\(\"new-banner\" \+ \"(?P<entity>[^\"]+)\"\) = \d+ -> (?P<bucket>\d+) of 1000")


def serve(project) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen([str(BIN / "flagdeck"), "serve", "--port", "0"], cwd=project, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert server.stdout is not None
    deadline, line = time.monotonic() + 30, ""
    while "listening" not in line:
        line = server.stdout.readline()
        assert (line or server.poll() is None) and time.monotonic() < deadline, f"the evaluator did not start: {line}"
    url = re.search(r"http://127\.0\.0\.1:\d+", line)
    assert url, line
    return server, url.group(0)


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

    server, url = serve(project)
    try:
        body = {"namespaceKey": "default", "flagKey": "new-banner", "entityId": "user-7", "context": {"region": "eu"}}
        for _ in range(100):  # the evaluator answers once it has loaded the environments
            answer = subprocess.run(["curl", "-s", f"{url}/evaluate/v1/variant", "-H", "Content-Type: application/json",
                                     "-H", "X-Flipt-Environment: staging", "-d", json.dumps(body)],
                                    capture_output=True, text=True, timeout=30)
            if answer.stdout.startswith("{") and "variantKey" in answer.stdout:
                break
            time.sleep(0.1)
        served = json.loads(answer.stdout)
        assert served["match"] is True and served["variantKey"] == console_variant, served
        assert served["segmentKeys"] == ["eu-users"]
        other = subprocess.run(["curl", "-s", f"{url}/evaluate/v1/variant", "-H", "Content-Type: application/json",
                                "-d", json.dumps(body)], capture_output=True, text=True, timeout=30)
        assert "not found" in other.stdout, other.stdout  # without the header: production, which has no new-banner
    finally:
        server.terminate()
        server.wait(timeout=10)
