"""Two real `flagdeck serve` processes on one repository race a due schedule: the change lands in exactly one
commit (the store's compare-and-swap is the lock), and both evaluators then serve it. Also the schedule commands
through a real `flagdeck` process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .conftest import ROOT, flagdeck, messages, trailer


def with_fast_scheduler(config: Path) -> Path:
    config.write_text(config.read_text() + "automation:\n  poll_interval: 50ms\n")
    return config


def serve(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--config", str(config), "--port", "0",
                             "--log-level", "info"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_two_replicas_racing_a_due_schedule_make_one_commit(config: Path) -> None:
    with_fast_scheduler(config)
    servers = [serve(config), serve(config)]
    try:
        for server in servers:
            assert server.stdout is not None and "listening on" in server.stdout.readline()
        at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        code, out, err = flagdeck(config, "schedule", "maintenance-mode", "--enabled", "true", "--at", at, "--json")
        assert code == 0, err
        assert json.loads(out)["id"] == "S-1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            code, out, _ = flagdeck(config, "schedules", "--json")
            (found,) = json.loads(out)
            if found["state"] != "pending":
                break
            time.sleep(0.2)
        assert found["state"] == "done" and found["note"].startswith("ran ")
        time.sleep(0.5)  # every replica has had rounds after the schedule ran: still one commit
    finally:
        for server in servers:
            server.terminate()
        logs = [server.communicate(timeout=20)[0] for server in servers]
    ran = [m for m in messages(config) if trailer(m, "Schedule") == "S-1"]
    assert len(ran) == 1, ran
    assert ran[0].startswith("update flag default/maintenance-mode\n")
    assert sum(log.count("schedule S-1 of production: ran") for log in logs) == 1, logs


def test_schedule_commands(config: Path) -> None:
    code, out, err = flagdeck(config, "schedule", "new-checkout", "--env", "staging", "--threshold", "50",
                              "--at", "2026-12-24T18:00:00Z", "--missed", "skip")
    assert code == 0, err
    assert out.startswith("scheduled S-1: default/new-checkout: threshold=50% at 2026-12-24T18:00:00+00:00 in "
                          "staging: committed ")
    code, out, _ = flagdeck(config, "schedules")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ID", "ENV", "AT", "STATE", "CHANGE", "BY", "/", "NOTE"]
    assert lines[1].split()[:4] == ["S-1", "staging", "2026-12-24", "18:00:00Z"] and "Alice Example" in lines[1]
    code, _, err = flagdeck(config, "schedule", "new-checkout", "--enabled", "false", "--at", "2026-12-24T18:00:00")
    assert code == 2 and "has no timezone" in err
    code, _, err = flagdeck(config, "schedule", "color-theme", "--threshold", "5", "--at", "+1h")
    assert (code, err) == (1, "refused: production default/color-theme is a variant flag: a threshold applies to "
                              "boolean flags (use a rollout)\n")
    code, _, err = flagdeck(config, "unschedule", "S-1", roles='{"*": "viewer"}')
    assert code == 1 and "committing needs editor" in err
    code, out, err = flagdeck(config, "unschedule", "S-1")
    assert code == 0 and out.startswith("cancelled S-1: default/new-checkout: threshold=50% in staging: committed ")
    code, _, err = flagdeck(config, "unschedule", "S-1")
    assert (code, err) == (1, "refused: S-1 is cancelled, not pending: nothing to cancel\n")
    assert flagdeck(config, "schedules")[1] == "no pending schedules\n"
    code, out, _ = flagdeck(config, "schedules", "--all")
    assert "cancelled" in out and "cancelled by Alice Example" in out
