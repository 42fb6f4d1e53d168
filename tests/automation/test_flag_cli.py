"""`flagdeck flag set|create|delete` through a real `flagdeck` process on a real repository: one commit each, the
store's validation, roles and protection; exit 1 with one line when refused, 2 on bad usage."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import flagdeck, open_store, protect


def flag(config: Path, env: str, key: str, namespace: str = "default"):  # noqa: ANN201
    with open_store(config) as store:
        return store.snapshot(env).document(namespace).flag(key)


def head(config: Path, env: str) -> str:
    with open_store(config) as store:
        return store.head(env)


def test_set_enabled_threshold_and_rollout_one_commit_each(config: Path) -> None:
    before = head(config, "production")
    code, out, err = flagdeck(config, "flag", "set", "maintenance-mode", "--enabled", "true")
    assert (code, err) == (0, "") and out.startswith("set default/maintenance-mode enabled=true in production: "
                                                     "committed ")
    assert flag(config, "production", "maintenance-mode").enabled is True
    with open_store(config) as store:
        entry = store.history("production", "default", limit=1)[0]
        assert entry.author_name == "Alice Example" and entry.message.startswith("update flag default/maintenance-mode")
        assert store.history("production", "default", limit=2)[1].commit == before
    code, out, _ = flagdeck(config, "flag", "set", "new-checkout", "--threshold", "35", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["created"] is True and shown["set"] == {"threshold": 35.0}
    assert shown["commit"] == head(config, "production")
    rollouts = flag(config, "production", "new-checkout").rollouts
    assert rollouts[1].threshold.percentage == 35 and rollouts[0].segment is not None  # the segment rollout kept
    code, out, err = flagdeck(config, "flag", "set", "search-ranking", "--rollout", "semantic=60",
                              "--rollout", "classic=40", "--env", "staging")
    assert code == 0, err
    dist = flag(config, "staging", "search-ranking").rules[0].distributions
    assert {(d.variant, d.rollout) for d in dist} == {("semantic", 60), ("classic", 40)}
    tip = head(config, "production")
    code, out, _ = flagdeck(config, "flag", "set", "new-checkout", "--threshold", "35")
    assert code == 0 and out.endswith("already so, no commit made\n") and head(config, "production") == tip


def test_create_and_delete(config: Path) -> None:
    code, out, err = flagdeck(config, "flag", "create", "dark-mode", "--name", "Dark mode", "--enabled", "true")
    assert code == 0, err
    created = flag(config, "production", "dark-mode")
    assert created.name == "Dark mode" and created.enabled and created.type.value == "BOOLEAN_FLAG_TYPE"
    with open_store(config) as store:
        assert store.history("production", "default", limit=1)[0].message.startswith("create flag default/dark-mode")
    code, out, err = flagdeck(config, "flag", "create", "theme", "--variant", "--variants", "a,b")
    assert code == 0 and [v.key for v in flag(config, "production", "theme").variants] == ["a", "b"]
    code, _, err = flagdeck(config, "flag", "create", "dark-mode")
    assert code == 1 and err == "refused: flag default/dark-mode already exists in 'production'\n"
    code, out, err = flagdeck(config, "flag", "delete", "dark-mode", "--json")
    assert code == 0 and json.loads(out)["created"] is True and flag(config, "production", "dark-mode") is None
    code, _, err = flagdeck(config, "flag", "delete", "dark-mode")
    assert code == 1 and err == "refused: flag default/dark-mode does not exist in 'production'\n"


def test_refusals_are_one_line_and_commit_nothing(config: Path) -> None:
    tip = head(config, "production")
    cases = [
        (("flag", "set", "color-theme", "--threshold", "5"), "refused: production default/color-theme is a variant "
         "flag: a threshold applies to boolean flags (use a rollout)\n"),
        (("flag", "set", "search-ranking", "--rollout", "semantic=80", "--rollout", "classic=40"),
         "refused: rollout percentages add up to 120%: at most 100%\n"),
        (("flag", "set", "search-ranking", "--rollout", "nope=10"),
         "refused: production default/search-ranking has no variant 'nope' (variants: classic, semantic)\n"),
        (("flag", "set", "color-theme", "--rollout", "dark=10"),
         "refused: production default/color-theme has 2 rules: say which one with --rule N\n"),
        (("flag", "set", "missing", "--enabled", "false"), "refused: flag default/missing does not exist in "
         "'production'\n"),
    ]
    for args, expected in cases:
        assert flagdeck(config, *args)[::2] == (1, expected), args
    code, _, err = flagdeck(config, "flag", "set", "new-checkout", "--enabled", "false", roles='{"*": "viewer"}')
    assert (code, err) == (1, "refused: Alice Example is viewer in 'production'; committing needs editor\n")
    code, _, err = flagdeck(config, "flag", "set", "new-checkout")
    assert code == 2 and "nothing to set" in err
    code, _, err = flagdeck(config, "flag", "set", "new-checkout", "--threshold", "150")
    assert code == 2 and "150" in err
    assert head(config, "production") == tip


def test_protected_environment_refuses_unless_an_admin_breaks_glass(config: Path) -> None:
    protect(config)
    tip = head(config, "production")
    code, _, err = flagdeck(config, "flag", "set", "maintenance-mode", "--enabled", "true")
    assert code == 1 and err.startswith("refused: committing refused: production is protected") and err.count("\n") == 1
    code, _, err = flagdeck(config, "flag", "delete", "maintenance-mode", "--break-glass", "incident",
                            roles='{"*": "editor"}')
    assert code == 1 and "breaking glass needs admin" in err
    assert head(config, "production") == tip
    code, out, err = flagdeck(config, "flag", "set", "maintenance-mode", "--enabled", "true", "--break-glass",
                              "INC-42 checkout down")
    assert code == 0, err
    with open_store(config) as store:
        assert "Break-glass: INC-42 checkout down" in store.history("production", "default", limit=1)[0].message
