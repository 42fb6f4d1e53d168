"""`flagdeck refs`: a real process on a small source tree with ignored, binary and untracked files, inside a Git
work tree and in a plain directory; the flags come from a real environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.insight.refs import find_refs

FLAGDECK = str(Path(sys.executable).parent / "flagdeck")


def tree(root: Path) -> Path:
    files = {
        ".gitignore": "build/\n*.log\n",
        "src/app.py": 'if client.boolean("new-checkout", ctx):\n    theme = client.variant("color-theme")\n',
        "src/web/page.ts": "// new-checkout-v2 and checkout_v2 are other flags\nconst x = flag('search-ranking');\n",
        "src/web/.gitignore": "generated.ts\n",
        "src/web/generated.ts": "new-checkout\n",
        "build/out.js": "new-checkout\n",
        "debug.log": "new-checkout\n",
        "docs/notes.md": "Remove `new-checkout` after the launch.\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "src" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0new-checkout")
    return root


EXPECTED = [("docs/notes.md", 1, "new-checkout"), ("src/app.py", 1, "new-checkout"), ("src/app.py", 2, "color-theme"),
            ("src/web/page.ts", 2, "search-ranking")]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                   capture_output=True)


@pytest.mark.parametrize("in_git", [False, True])
def test_ignored_and_binary_files_are_skipped(tmp_path: Path, in_git: bool) -> None:
    root = tree(tmp_path / "code")
    if in_git:
        git(root, "init", "-q")
        git(root, "add", "src/app.py", ".gitignore")
        git(root, "commit", "-qm", "x")
        (root / "src" / "app.py").write_text((root / "src" / "app.py").read_text() + "# new-checkout\n")  # unstaged
    found = find_refs(root, {"new-checkout", "color-theme", "search-ranking", "unused-flag", "checkout"})
    expected = EXPECTED + ([("src/app.py", 3, "new-checkout")] if in_git else [])
    assert sorted((r.path, r.line, r.key) for r in found.refs) == sorted(expected)
    assert found.skipped == ["src/logo.png"]


def test_a_subdirectory_of_a_work_tree(tmp_path: Path) -> None:
    root = tree(tmp_path / "code")
    git(root, "init", "-q")
    found = find_refs(root / "src", {"new-checkout"})
    assert [(r.path, r.line) for r in found.refs] == [("app.py", 1)]


def test_cli_lists_references_and_unreferenced_flags(tmp_path: Path) -> None:
    from gitstore.demo import CONFIG, demo_features  # the demo: production and staging with the same flags
    from tests.console.helpers import ADA, T0, commit_files

    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "flagdeck.yaml").write_text(CONFIG)
    commit_files(tmp_path / "flags" / "repo", {"production/default/features.yaml": demo_features("production").encode()},
                 ADA, "seed", T0)
    root = tree(tmp_path / "code")
    config = str(tmp_path / "flags" / "flagdeck.yaml")
    done = subprocess.run([FLAGDECK, "refs", str(root), "--config", config, "--env", "production"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "docs/notes.md:1: new-checkout: Remove `new-checkout` after the launch.",
        'src/app.py:1: new-checkout: if client.boolean("new-checkout", ctx):',
        'src/app.py:2: color-theme: theme = client.variant("color-theme")',
        "src/web/page.ts:2: search-ranking: const x = flag('search-ranking');",
    ]
    assert "4 reference(s) to 3 of" in done.stderr and "not referenced: " in done.stderr
    as_json = subprocess.run([FLAGDECK, "refs", str(root), "--config", config, "--json"], capture_output=True,
                             text=True, timeout=60)
    items = {item["flag"]: item for item in json.loads(as_json.stdout)["flags"]}
    assert items["color-theme"] == {"flag": "color-theme", "namespaces": ["default"], "references": [
        {"path": "src/app.py", "line": 2, "text": 'theme = client.variant("color-theme")'}]}
    bad = subprocess.run([FLAGDECK, "refs", str(root / "nope"), "--config", config], capture_output=True, text=True)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
