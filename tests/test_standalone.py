"""The project stands alone: every `flipt-compatibility §X`, `flipt-clients §X` and `storage-notes §X` cited in the
code, tests and docs is a heading of the document of that name under docs/, nothing reads reference material from
outside the repository, every data file the tests use is committed, and the data the docs carry (oracle tables,
worked-example hashes) agrees with the tests' copy and with crc32."""

from __future__ import annotations

import re
import subprocess
import zlib
from pathlib import Path

import pytest
from server.oracle import BOOL_1000, USERS, VARIANT_1000

ROOT = Path(__file__).resolve().parent.parent
DOCS = {name: ROOT / "docs" / f"{name}.md" for name in ("flipt-compatibility", "flipt-clients", "storage-notes")}
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache",
             ".import_linter_cache"}
SECTION = r"\d+(?:\.\d+)*"
# `name §X`, or a link `name.md](…name.md) §X`, followed by more sections: `, §Y`, `-§Z`, ` and §W`.
CITATION = re.compile(
    rf"\b(?P<doc>{'|'.join(DOCS)})(?:\.md\]\([\w./-]*\.md\))?\s+§(?P<first>{SECTION})"
    rf"(?P<more>(?:\s*(?:,|-|–|and|or)\s*§{SECTION})*)"
)
BARE = re.compile(rf"§({SECTION})")
HEADING = re.compile(rf"^#{{2,6}} ({SECTION})\.?\s", re.MULTILINE)


def project_files(*suffixes: str) -> list[Path]:
    """Files of the project: git's list when this is a work tree (tracked and untracked, not ignored), else a walk."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode()
        paths = [ROOT / p for p in out.split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in ROOT.rglob("*") if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    return sorted(p for p in paths if p.is_file() and (not suffixes or p.name.endswith(suffixes)))


def headings(path: Path) -> set[str]:
    return set(HEADING.findall(path.read_text(encoding="utf-8")))


def citations(text: str) -> list[tuple[str, str, int, tuple[int, int]]]:
    """(document, section, line, span) for every section a citation names."""
    found = []
    for m in CITATION.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for section in [m.group("first"), *BARE.findall(m.group("more"))]:
            found.append((m.group("doc"), section, line, m.span()))
    return found


def test_the_cited_documents_exist() -> None:
    for name, path in DOCS.items():
        assert path.is_file(), f"docs/{name}.md is missing"
        assert headings(path), f"docs/{name}.md has no numbered headings"


def test_every_citation_resolves_to_a_heading() -> None:
    known = {name: headings(path) for name, path in DOCS.items()}
    files = [p for p in project_files(".py", ".md", ".tcss") if "fixtures" not in p.relative_to(ROOT).parts]
    unresolved, seen = [], 0
    for path in files:
        for doc, section, line, _ in citations(path.read_text(encoding="utf-8", errors="replace")):
            seen += 1
            if section not in known[doc]:
                unresolved.append(f"{path.relative_to(ROOT)}:{line}: {doc} §{section} (docs/{doc}.md has no "
                                  f"heading {section})")
    assert seen >= 40, f"only {seen} citations found: is the pattern still right?"
    assert not unresolved, "\n".join(unresolved)


@pytest.mark.parametrize("name", list(DOCS))
def test_a_documents_own_section_references_resolve(name: str) -> None:
    """A bare `§X` inside docs/<name>.md (not part of a citation of another document) is one of its own headings."""
    text = DOCS[name].read_text(encoding="utf-8")
    spans = [span for *_, span in citations(text)]
    own = headings(DOCS[name])
    missing = []
    for m in BARE.finditer(text):
        if any(start <= m.start() < end for start, end in spans):
            continue
        if m.group(1) not in own:
            missing.append(f"docs/{name}.md:{text.count(chr(10), 0, m.start()) + 1}: §{m.group(1)}")
    assert not missing, "\n".join(missing)


def test_the_citation_pattern_catches_lists_ranges_and_links() -> None:
    text = ("(flipt-compatibility §4.2-§4.5) (flipt-compatibility §4.6, §6.3, §6.7) flipt-clients §7.2 "
            "[flipt-compatibility.md](flipt-compatibility.md) §6.6, §10. storage-notes §4.6:")
    assert [(doc, section) for doc, section, *_ in citations(text)] == [
        ("flipt-compatibility", "4.2"), ("flipt-compatibility", "4.5"), ("flipt-compatibility", "4.6"),
        ("flipt-compatibility", "6.3"), ("flipt-compatibility", "6.7"), ("flipt-clients", "7.2"),
        ("flipt-compatibility", "6.6"), ("flipt-compatibility", "10"), ("storage-notes", "4.6")]


def test_nothing_refers_to_reference_material_outside_the_repository() -> None:
    shared = "sha" + "red"  # spelled in two parts so that this file does not match itself
    forbidden = re.compile(rf"\.\./{shared}\b|/work/{shared}\b|\b{shared}/(?:spec|fixtures)\b")
    hits = []
    for path in project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for m in forbidden.finditer(text):
            hits.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}")
    assert not hits, "\n".join(hits)


def test_every_test_data_file_is_committable() -> None:
    """A file under tests/ that .gitignore hides is missing from every clone (tests/fixtures/flipt/build/ once was)."""
    try:
        out = subprocess.run(["git", "ls-files", "--others", "--ignored", "--exclude-standard", "tests"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git work tree")
    ignored = [p for p in out.splitlines() if "__pycache__" not in p and not p.endswith(".pyc")]
    assert not ignored, "ignored by .gitignore, so absent from a clone:\n" + "\n".join(ignored)


def section_text(name: str, section: str) -> str:
    text = DOCS[name].read_text(encoding="utf-8")
    start = re.search(rf"^#+ {re.escape(section)}\.?\s", text, re.MULTILINE)
    assert start, f"docs/{name}.md has no section {section}"
    end = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start.end())
    return text[start.end():end.start() if end else len(text)]


def table_rows(text: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]
    return rows[2:]  # header and separator dropped


def test_the_oracle_table_of_flipt_clients_matches_the_tests_copy_and_crc32() -> None:
    rows = table_rows(section_text("flipt-clients", "7.2"))
    assert len(rows) == 20
    cell = re.compile(r"(\d+) → \*\*(\w+)\*\*(?: \((\w+)\))?")
    for row in rows:
        entity = row[0].strip("`")
        parsed = [cell.fullmatch(c).groups() for c in row[1:]]
        for flag, (bucket, _, _) in zip(("bool-rollout", "bool-rollout-on"), parsed[:2], strict=True):
            assert int(bucket) == zlib.crc32((entity + flag).encode()) % 100, (entity, flag)
        for flag, (bucket, _, _) in zip(("variant-seg", "variant-seg-dflt"), parsed[2:], strict=True):
            assert int(bucket) == zlib.crc32((flag + entity).encode()) % 1000, (entity, flag)
        booleans = tuple((value == "true", f"{reason}_EVALUATION_REASON") for _, value, reason in parsed[:2])
        assert (*booleans, parsed[2][1], parsed[3][1]) == USERS[entity], entity


def test_the_1000_id_strings_of_flipt_clients_match_the_tests_copy() -> None:
    blocks = re.findall(r"```\n(.*?)```", section_text("flipt-clients", "7.3"), re.DOTALL)
    strings = ["".join(line[8:] for line in block.splitlines()) for block in blocks]
    assert strings == [BOOL_1000, VARIANT_1000]
    assert (BOOL_1000.count("1"), VARIANT_1000.count("b")) == (465, 527)  # the counts the page states


def test_the_worked_example_hashes_are_crc32() -> None:
    """Each `crc32 → bucket` cell of flipt-compatibility §4.9: the hash of the flag key and entity id (or of the
    input shown), and the bucket that hash gives (mod 100 for thresholds, mod 1000 otherwise)."""
    checked = 0
    for row in table_rows(section_text("flipt-compatibility", "4.9")):
        number, flag, entity, setup, hashed = row[:5]
        m = re.fullmatch(r"(?:`(?P<input>[^`]+)` → )?(?:(?P<crc>\d+) → )?\*\*(?P<bucket>\d+)\*\*", hashed)
        if m is None:
            continue
        key, who = re.match(r"`([^`]*)`", flag).group(1), re.match(r"`([^`]*)`", entity).group(1)
        given = m.group("input")
        threshold = given.startswith(who) and not given.startswith(key) if given else "threshold" in setup
        text = given or (who + key if threshold else key + who)
        crc = zlib.crc32(text.encode())
        if m.group("crc"):
            assert int(m.group("crc")) == crc, f"example {number}: crc32({text!r}) is {crc}"
        assert int(m.group("bucket")) == crc % (100 if threshold else 1000), f"example {number}"
        checked += 1
    assert checked >= 15
