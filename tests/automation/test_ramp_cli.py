"""`flagdeck ramp start|pause|resume|abort|status` through a real `flagdeck` process; the scheduler's round in
process with the test's clock (a variant's share ramped, the others sharing the rest)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation.ramps import RampState
from gitstore.automation.records import utcnow

from .conftest import flagdeck, messages, open_store, trailer
from .test_schedules import Clock


def shares(config: Path, env: str = "staging") -> dict[str, float]:
    with open_store(config) as store:
        rule = store.snapshot(env).document("default").flag("search-ranking").rules[0]
        return {d.variant: d.rollout for d in rule.distributions}


def test_a_ramp_from_the_command_line(config: Path) -> None:
    code, out, err = flagdeck(config, "ramp", "start", "search-ranking", "--env", "staging", "--variant",
                              "semantic", "--steps", "50,100", "--every", "2h", "--http-check",
                              "http://127.0.0.1:9/health", "--json")
    assert code == 0, err
    started = json.loads(out)
    assert started["id"] == "R-1" and started["state"] == "running" and len(started["steps"]) == 2
    assert started["steps"][0]["distribution"] == {"semantic": 50.0, "classic": 50.0}
    assert started["guards"] == [{"kind": "http", "url": "http://127.0.0.1:9/health", "query": "", "op": "<",
                                  "threshold": 0.0}]
    code, _, err = flagdeck(config, "ramp", "start", "search-ranking", "--env", "staging", "--variant", "semantic",
                            "--steps", "10", "--every", "1h")
    assert (code, err) == (1, "refused: default/search-ranking already has ramp R-1 in 'staging' (abort it first)\n")
    code, out, _ = flagdeck(config, "ramp", "status")
    assert code == 0 and out.splitlines()[0].startswith("R-1  staging  running  before the ramp, next step at ")
    assert "semantic of default/search-ranking: 50 → 100% every 2h" in out
    assert "    guard: GET http://127.0.0.1:9/health answers 2xx" in out
    code, out, err = flagdeck(config, "ramp", "pause", "R-1")
    assert code == 0 and out.startswith("R-1 paused: paused by Alice Example in staging: committed "), err
    code, _, err = flagdeck(config, "ramp", "pause", "R-1")
    assert (code, err) == (1, "refused: R-1 is paused: cannot pause it\n")
    assert flagdeck(config, "ramp", "resume", "R-1")[0] == 0
    code, _, err = flagdeck(config, "ramp", "abort", "R-1", roles='{"*": "viewer"}')
    assert code == 1 and "committing needs editor" in err
    code, out, _ = flagdeck(config, "ramp", "abort", "R-1", "--json")
    assert code == 0 and json.loads(out)["state"] == "aborted"
    code, out, _ = flagdeck(config, "ramp", "status", "R-1")
    assert [line.strip().split("  ", 1)[1] for line in out.splitlines()[2:]] == [
        "started", "paused by Alice Example", "resumed by Alice Example",
        "aborted by Alice Example; flag put back as before the ramp"]
    code, _, err = flagdeck(config, "ramp", "start", "new-checkout", "--steps", "5,500", "--every", "1h")
    assert code == 2 and "5,500" in err
    code, _, err = flagdeck(config, "ramp", "start", "new-checkout", "--steps", "5", "--every", "1h",
                            "--query", "up < 1")
    assert code == 2 and "--query needs --prometheus" in err


def test_a_variant_ramp_completes_and_abort_puts_the_flag_back(config: Path) -> None:
    assert shares(config) == {"semantic": 25, "classic": 75}
    assert flagdeck(config, "ramp", "start", "search-ranking", "--env", "staging", "--variant", "semantic",
                    "--steps", "50,100", "--every", "1h")[0] == 0
    now = utcnow()
    clock = Clock(now)
    automation = AutomationRunner(load_evaluator_config(config), now=clock)
    try:
        (moved,) = automation.tick().ramps
        assert shares(config) == {"semantic": 50, "classic": 50} and moved.step == 1
        clock.now = now + timedelta(hours=1)
        (moved,) = automation.tick().ramps
        assert shares(config) == {"semantic": 100} and moved.state is RampState.COMPLETED
        assert automation.tick().ramps == []
    finally:
        automation.store.close()
    assert trailer(messages(config, 1)[0], "Ramp") == "R-1"
    code, _, err = flagdeck(config, "ramp", "abort", "R-1")
    assert (code, err) == (1, "refused: R-1 is completed: cannot abort it\n")
    # a second ramp, aborted after one step: the distribution goes back to what it was before that ramp
    assert flagdeck(config, "ramp", "start", "search-ranking", "--env", "staging", "--variant", "classic",
                    "--steps", "30,60", "--every", "1h")[0] == 0
    automation = AutomationRunner(load_evaluator_config(config), now=Clock(now + timedelta(hours=2)))
    try:
        automation.tick()
    finally:
        automation.store.close()
    assert shares(config) == {"classic": 30, "semantic": 70}
    code, out, err = flagdeck(config, "ramp", "abort", "R-2")
    assert code == 0, err
    assert shares(config) == {"semantic": 100}
    aborted = messages(config, 1)[0]
    assert aborted.startswith("update flag default/search-ranking\n") and trailer(aborted, "Ramp") == "R-2"
