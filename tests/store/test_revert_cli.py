"""`flagdeck revert`: says what it committed, or why it made no commit (exit 1), with the roles of FLAGDECK_ROLES."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from gitstore.config import load_config
from gitstore.model.changes import Change, Kind
from gitstore.store import Store


def run(config: Path, *args: str, roles: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(main, ["revert", "--config", str(config), *args],
                                env={"FLAGDECK_ROLES": roles, "FLAGDECK_USER": "Cli User <cli@example.com>"})
    return result.exit_code, result.output


def test_revert_and_restore_from_the_command_line(demo_config: Path) -> None:
    with Store(load_config(demo_config)) as store:
        flag = store.snapshot("staging").document("default").flag("search-ranking")
        toggled = store.commit("staging", [Change("default", Kind.FLAG, flag.key, flag.model_copy(
            update={"enabled": not flag.enabled}))]).commit
    code, out = run(demo_config, toggled[:10], "--env", "staging", "--flag", "search-ranking",
                    roles='{"*": "viewer"}')
    assert code == 1 and "no commit made: Cli User is viewer in 'staging'; reverting needs editor" in out
    code, out = run(demo_config, toggled[:10], "--env", "staging", "--flag", "search-ranking")
    assert code == 0, out
    with Store(load_config(demo_config)) as store:
        head = store.head("staging")
        assert store.snapshot("staging").document("default").flag("search-ranking") == flag
    assert out == f"reverted {toggled[:10]} for flag default/search-ranking in staging: committed {head[:8]}\n"
    code, out = run(demo_config, toggled, "--env", "staging")
    assert code == 1
    assert out == (f"no commit made: namespace default is already as it was before {toggled[:8]}: nothing to "
                   "revert\n")
    code, out = run(demo_config, "HEAD~1", "--env", "staging", "--restore", "--flag", "search-ranking")
    assert code == 0 and out.startswith("restored flag default/search-ranking in staging to HEAD~1: committed ")
    code, out = run(demo_config, "nope", "--env", "staging")
    assert code == 1 and "commit nope not found" in out
