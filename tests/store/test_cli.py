"""`flagdeck init` and `flagdeck export`, run through the real CLI group."""

from __future__ import annotations

from pathlib import Path

import orjson
import pygit2
from click.testing import CliRunner

from app.cli import main
from evaluator.server.state import build_namespace
from gitstore.config import load_config
from gitstore.format.loader import load_document
from gitstore.store import Store

from .conftest import git


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def without_times(doc: dict) -> dict:
    for flag in doc["flags"]:
        flag.pop("createdAt"), flag.pop("updatedAt")
    return doc


def test_init_writes_a_working_two_environment_setup(tmp_path: Path) -> None:
    code, out, _ = run("init", str(tmp_path / "fd"))
    assert code == 0 and "production" in out
    config = load_config(tmp_path / "fd" / "flagdeck.yaml")
    assert set(config.environments) == {"production", "staging"} and config.default_environment == "production"
    with Store(config) as store:
        for env in ("production", "staging"):
            snap = store.snapshot(env)
            assert snap.problems == () and set(snap.namespaces) == {"default"}
            doc = snap.document("default")
            types = {f.type.value for f in doc.flags}
            assert types == {"BOOLEAN_FLAG_TYPE", "VARIANT_FLAG_TYPE"}
            assert any(f.rollouts for f in doc.flags) and any(f.rules for f in doc.flags)
            assert len({c.type for s in doc.segments for c in s.constraints}) >= 4
            text = snap.namespaces["default"].text
            assert text.count("    enabled: ") == len(doc.flags)  # every flag carries its enabled line
            assert doc.flag("color-theme").variants[2].key == "on"  # YAML 1.2: stays a string
    git(tmp_path / "fd" / "repo", "fsck", "--strict")
    assert pygit2.Repository(str(tmp_path / "fd" / "repo")).is_bare
    code, _, err = run("init", str(tmp_path / "fd"))
    assert code != 0 and "already exists" in err


def test_export_yaml_and_json_match_what_is_stored_and_served(tmp_path: Path) -> None:
    run("init", str(tmp_path / "fd"))
    cfg = str(tmp_path / "fd" / "flagdeck.yaml")
    code, out, _ = run("export", "--config", cfg, "--env", "staging")
    assert code == 0
    exported = load_document(out.encode(), "export.yaml").document
    with Store(load_config(cfg)) as store:
        snap = store.snapshot("staging")
    assert exported == snap.document("default")
    target = tmp_path / "out.json"
    code, _, err = run("export", "--config", cfg, "--env", "staging", "--namespace", "default", "--format", "json",
                       "-o", str(target))
    assert code == 0 and "wrote" in err
    served = build_namespace("default", snap.commit, snap.document("default"), snap.namespaces["default"].digest)
    assert without_times(orjson.loads(target.read_bytes())) == without_times(orjson.loads(served.snapshot_body))
    code, out, _ = run("export", "--config", cfg, "--format", "json")
    assert code == 0 and set(orjson.loads(out)) == {"default"}
    code, _, err = run("export", "--config", cfg, "--namespace", "nope")
    assert code != 0 and "namespace 'nope' not found" in err
    code, _, err = run("export", "--config", cfg, "--env", "qa")
    assert code != 0 and "unknown environment 'qa'" in err


def test_export_refuses_an_invalid_namespace_with_its_errors(tmp_path: Path) -> None:
    run("init", str(tmp_path / "fd"))
    from .test_snapshot import raw_commit

    raw_commit(tmp_path / "fd" / "repo", {"production/broken/features.yaml": b"namespace: broken\nflags: 3\n"})
    code, _, err = run("export", "--config", str(tmp_path / "fd" / "flagdeck.yaml"))
    assert code != 0 and "production/broken/features.yaml" in err
    code, out, _ = run("export", "--config", str(tmp_path / "fd" / "flagdeck.yaml"), "--namespace", "default")
    assert code == 0 and "maintenance-mode" in out
