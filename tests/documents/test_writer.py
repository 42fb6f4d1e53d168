"""The minimal-diff writer: a change rewrites only what changed; everything else stays byte for byte. Here a
hand-written file and big ones; every kind of file Flipt reads (JSON, old versions, flow style, streams, CRLF):
`test_writer_formats.py`."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

from gitstore.edit.writer import apply_changes, edit_file
from gitstore.errors import ValidationError
from gitstore.format.loader import load_document
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import (
    ComparisonType,
    Constraint,
    Distribution,
    Flag,
    NamespaceInfo,
    Rule,
    SegmentRef,
)

from .synth import namespace_text

HAND_WRITTEN = """\
# Flags for the web shop. Reviewed weekly.
version: "1.6"
namespace: shop

flags:
# --- checkout ---
- key: new-checkout   # the big one
  name: New checkout
  type: VARIANT_FLAG_TYPE
  enabled: false
  variants:
  - key: "on"
  - key: "off"
  rules:
  - segment: beta
    distributions:
    - {variant: "on", rollout: 100}

# --- misc ---
- key: dark-mode
  name: Dark mode
  type: BOOLEAN_FLAG_TYPE
  enabled: true  # everyone
  rollouts:
  - threshold: {percentage: 50, value: true}

segments:
- key: beta
  name: Beta users
  match_type: ANY_MATCH_TYPE
  constraints:
  - {type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: beta}   # keep me
"""


def diff(before: str, after: str) -> list[str]:
    """Changed lines (`-old`/`+new`) of a unified diff."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def load(text: str, name: str = "shop/features.yaml"):
    result = load_document(text, name)
    assert result.errors == [], result.errors
    return result.document


def change(flag: Flag | None, key: str | None = None, ns: str = "shop") -> Change:
    return Change(ns, Kind.FLAG, key or flag.key, flag)


def test_toggle_is_a_one_line_diff_and_keeps_comments() -> None:
    doc = load(HAND_WRITTEN)
    flag = doc.flag("new-checkout")
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(flag.model_copy(update={"enabled": True}))])
    assert diff(HAND_WRITTEN, out) == ["-  enabled: false", "+  enabled: true"]
    assert load(out).flag("new-checkout").enabled is True


def test_trailing_comments_of_rewritten_lines_are_kept() -> None:
    doc = load(HAND_WRITTEN)
    flag = doc.flag("dark-mode").model_copy(update={"enabled": False, "key": "night-mode"})
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(flag, "dark-mode")])
    assert diff(HAND_WRITTEN, out) == ["-- key: dark-mode", "+- key: night-mode", "-  enabled: true  # everyone",
                                       "+  enabled: false  # everyone"]
    text = 'namespace: a\nflags:\n- key: f\n  name: "F # not a comment" # but this is\n'
    doc = load(text, "a/features.yaml")
    out = apply_changes(text, "a/features.yaml", [change(doc.flags[0].model_copy(update={"name": "G"}), ns="a")])
    assert out.endswith("  name: G # but this is\n")


def test_toggle_on_the_first_line_of_an_item() -> None:
    text = "namespace: a\nflags:\n  - enabled: false\n    key: f\n    name: F\n"
    doc = load(text, "a/features.yaml")
    out = apply_changes(text, "a/features.yaml", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="a")])
    assert diff(text, out) == ["-  - enabled: false", "+  - enabled: true"]


def test_adding_a_missing_field_inserts_it_in_flipt_order() -> None:
    doc = load(HAND_WRITTEN)
    flag = doc.flag("dark-mode").model_copy(update={"description": "Night theme"})
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(flag)])
    assert diff(HAND_WRITTEN, out) == ["+  description: Night theme"]
    assert out.index("description: Night theme") < out.index("enabled: true  # everyone")


def test_replacing_rules_rewrites_only_that_field() -> None:
    doc = load(HAND_WRITTEN)
    flag = doc.flag("new-checkout")
    rule = Rule(segment=SegmentRef(keys=("beta",)), distributions=(Distribution(variant="off", rollout=25),))
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(flag.model_copy(update={"rules": (rule,)}))])
    changed = diff(HAND_WRITTEN, out)
    assert all("variant" in line or "rollout" in line or "segment" in line or "distributions" in line
               for line in changed), changed
    assert "# the big one" in out and "# keep me" in out
    assert load(out).flag("new-checkout").rules == (rule,)


def test_new_flag_is_appended_in_canonical_form_after_the_last_one() -> None:
    flag = Flag(key="yes", name="Yes", enabled=False, description="multi\nline\n")
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(flag)])
    added = diff(HAND_WRITTEN, out)
    assert added == ['+- key: "yes"', "+  name: \"Yes\"", "+  type: VARIANT_FLAG_TYPE", "+  description: |",
                     "+    multi", "+    line", "+  enabled: false"]
    assert out.index('key: "yes"') < out.index("segments:")
    assert load(out).flag("yes") == flag


def test_delete_removes_the_item_and_its_leading_comment() -> None:
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(None, "dark-mode")])
    removed = diff(HAND_WRITTEN, out)
    assert removed[0] == "-# --- misc ---" and all(line.startswith("-") for line in removed)
    assert "rollout: 100}\n\nsegments:" in out  # one blank line left between the blocks
    assert "dark-mode" not in out and "# Flags for the web shop" in out
    assert [f.key for f in load(out).flags] == ["new-checkout"]


def test_deleting_every_flag_drops_the_key() -> None:
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(None, "dark-mode"), change(None, "new-checkout")])
    assert "flags:" not in out and load(out).flags == ()


def test_segment_edit_keeps_the_flow_style_line_of_untouched_fields() -> None:
    doc = load(HAND_WRITTEN)
    segment = doc.segment("beta").model_copy(update={"name": "Beta testers"})
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [Change("shop", Kind.SEGMENT, "beta", segment)])
    assert diff(HAND_WRITTEN, out) == ["-  name: Beta users", "+  name: Beta testers"]


def test_new_segment_and_flag_using_it_in_one_write() -> None:
    from gitstore.model.documents import MatchType, Segment

    seg = Segment(key="staff", name="Staff", match_type=MatchType.ALL, constraints=(
        Constraint(type=ComparisonType.STRING, property="email", operator="isoneof", value='["a@x","b@x"]'),))
    flag = Flag(key="beta-ui", name="Beta UI", variants=(), rules=(Rule(segment=SegmentRef(keys=("staff",))),))
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml",
                        [Change("shop", Kind.SEGMENT, "staff", seg), change(flag)])
    doc = load(out)
    assert doc.segment("staff") == seg and doc.flag("beta-ui") == flag
    assert "      - a@x\n" not in out and "    - a@x\n" in out  # a YAML list in the file's indentation


def test_namespace_update() -> None:
    info = NamespaceInfo(key="shop", name="Shop", description="The web shop")
    out = apply_changes(HAND_WRITTEN, "shop/features.yaml", [Change("shop", Kind.NAMESPACE, "shop", info)])
    assert diff(HAND_WRITTEN, out) == ["-namespace: shop", "+namespace:", "+  key: shop", "+  name: Shop",
                                       "+  description: The web shop"]
    assert load(out).namespace == info


def test_invalid_results_are_refused() -> None:
    doc = load(HAND_WRITTEN)
    bad_rule = Rule(segment=SegmentRef(keys=("nobody",)))
    with pytest.raises(ValidationError) as caught:
        apply_changes(HAND_WRITTEN, "shop/features.yaml",
                      [change(doc.flag("new-checkout").model_copy(update={"rules": (bad_rule,)}))])
    assert "unknown segment 'nobody'" in str(caught.value)
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (7, "flags[0].rules[0].segment")  # the flag's line in the file
    with pytest.raises(ValidationError, match="segment 'beta'"):
        apply_changes(HAND_WRITTEN, "shop/features.yaml", [Change("shop", Kind.SEGMENT, "beta", None)])
    unknown_variant = Rule(segment=SegmentRef(keys=("beta",)), distributions=(Distribution(variant="x", rollout=5),))
    with pytest.raises(ValidationError, match="unknown variant 'x'"):
        apply_changes(HAND_WRITTEN, "shop/features.yaml",
                      [change(doc.flag("new-checkout").model_copy(update={"rules": (unknown_variant,)}))])
    assert apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(None, "missing")]) is HAND_WRITTEN


def test_no_op_returns_the_text_unchanged() -> None:
    doc = load(HAND_WRITTEN)
    result = edit_file(HAND_WRITTEN, "shop/features.yaml", [change(doc.flag("dark-mode"))])
    assert result.text is HAND_WRITTEN and not result.rewritten


def test_ten_thousand_flags_one_line_diff_with_base(tmp_path: Path) -> None:
    text = namespace_text(10_000, comments=True)
    doc = load(text, "default/features.yaml")
    flag = doc.flags[7_777]
    result = edit_file(text, "default/features.yaml", [change(flag.model_copy(update={"enabled": not flag.enabled}),
                                                               ns="default")], base=doc)
    assert not result.rewritten
    assert result.document.flags[7_777].enabled is not flag.enabled
    old_lines, new_lines = text.split("\n"), result.text.split("\n")
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [("    enabled: true", "    enabled: false")]
    # what git itself says about the commit
    before, after = tmp_path / "a.yaml", tmp_path / "b.yaml"
    before.write_text(text)
    after.write_text(result.text)
    out = subprocess.run(["git", "diff", "--no-index", "--numstat", str(before), str(after)],
                         capture_output=True, text=True).stdout
    assert out.split()[:2] == ["1", "1"]


def test_a_change_for_another_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match="not 'other'"):
        apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(Flag(key="g", name="G"), ns="other")])


def test_values_are_normalised_so_the_written_document_equals_a_reload() -> None:
    from gitstore.model.documents import MatchType, Segment

    seg = Segment(key="s2", name="S2", match_type=MatchType.ALL, constraints=(
        Constraint(type=ComparisonType.STRING, property="p", operator="isoneof", value='[ "a",  "b" ]'),))
    flag = Flag(key="m", name="M", metadata={})
    result = edit_file(HAND_WRITTEN, "shop/features.yaml",
                       [Change("shop", Kind.SEGMENT, "s2", seg), change(flag)])
    assert not result.rewritten and "# keep me" in result.text
    assert result.document == load(result.text)
    assert result.document.segment("s2").constraints[0].value == '["a","b"]'


def test_nested_changes_rewrite_only_their_lines() -> None:
    text = namespace_text(3, comments=True)
    doc = load(text, "default/features.yaml")
    flag = doc.flags[1]
    rule = flag.rules[0]
    dists = (rule.distributions[0].model_copy(update={"rollout": 30.0}),
             rule.distributions[1].model_copy(update={"rollout": 70.0}))
    variants = (flag.variants[0].model_copy(update={"name": "Baseline"}), flag.variants[1],
                flag.variants[1].model_copy(update={"key": "third", "attachment": None}))
    new = flag.model_copy(update={"rules": (rule.model_copy(update={"distributions": dists}),),
                                  "variants": variants, "metadata": {"team": "team-1", "tier": 2}})
    out = apply_changes(text, "default/features.yaml", [change(new, ns="default")])
    assert diff(text, out) == [
        "-      tier: 1", "+      tier: 2",
        "-        name: Control", "+        name: Baseline",
        "+      - key: third", "+        name: Treatment",
        "-            rollout: 50", "+            rollout: 30",
        "-            rollout: 50", "+            rollout: 70",
    ]
    assert load(out, "default/features.yaml").flags[1] == new
    fewer = new.model_copy(update={"variants": variants[:1], "rules": ()})
    out2 = apply_changes(out, "default/features.yaml", [change(fewer, ns="default")])
    assert load(out2, "default/features.yaml").flags[1] == fewer
    assert all(line.startswith("-") for line in diff(out, out2))


def test_renaming_onto_an_existing_key_is_refused() -> None:
    doc = load(HAND_WRITTEN)
    clash = doc.flag("new-checkout").model_copy(update={"key": "dark-mode"})
    with pytest.raises(ValidationError, match="duplicate flag key 'dark-mode'"):
        apply_changes(HAND_WRITTEN, "shop/features.yaml", [change(clash, "new-checkout")])


def test_creating_a_namespace_file_and_refusing_to_delete_one() -> None:
    info = NamespaceInfo(key="team", name="Team")
    out = apply_changes("", "team/features.yaml", [Change("team", Kind.NAMESPACE, "team", info)])
    assert out == 'version: "1.6"\nnamespace:\n  key: team\n  name: Team\n'
    assert load(out, "team/features.yaml").namespace == info
    with pytest.raises(ValueError, match="store's job"):
        apply_changes(out, "team/features.yaml", [Change("team", Kind.NAMESPACE, "team", None)])


@pytest.mark.parametrize("with_base", [True, False])
def test_in_place_replacements_write_what_the_walk_over_every_item_writes(
        with_base: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes that each replace an existing item are patched where they are, found by position (issue 18: no walk
    over 100,000 items); the text must be the one the general path writes, byte for byte, and CRLF files too."""
    from gitstore.edit.splicer import Splicer
    from gitstore.model.documents import Segment

    doc = load(HAND_WRITTEN)
    beta = doc.segment("beta")
    assert beta is not None
    changes = [change(doc.flags[1].model_copy(update={"enabled": False})),
               change(doc.flags[0].model_copy(update={"name": "Newer checkout", "enabled": True})),
               Change("shop", Kind.SEGMENT, "beta", Segment(**{**beta.model_dump(), "name": "Beta testers"}))]
    for text in (HAND_WRITTEN, HAND_WRITTEN.replace("\n", "\r\n")):
        base = doc if with_base else None
        fast = apply_changes(text, "shop/features.yaml", changes, base)
        with monkeypatch.context() as patched:
            patched.setattr(Splicer, "_in_place", lambda *args: False)
            walked = apply_changes(text, "shop/features.yaml", changes, base)
        assert fast == walked
        assert diff(text.replace("\r\n", "\n"), fast.replace("\r\n", "\n")) == [
            "-  name: New checkout", "+  name: Newer checkout", "-  enabled: false", "+  enabled: true",
            "-  enabled: true  # everyone", "+  enabled: false  # everyone",
            "-  name: Beta users", "+  name: Beta testers"]
        assert load(fast.replace("\r\n", "\n")).flags[0].name == "Newer checkout"


@pytest.mark.parametrize("comments", [False, True])
def test_the_index_of_the_text_just_written_is_the_one_a_scan_finds(comments: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each commit's text is the next one's base: the writer keeps its index, shifted by its own edits, instead of
    scanning the file again (a quarter of a second at 100,000 flags). A chain of writes (toggles, renamed fields,
    longer and shorter items, several at once, a segment) must index each text as a fresh scan does and write
    what it writes without the kept index."""
    import random

    from gitstore.edit import locate
    from gitstore.model.documents import Segment

    rng = random.Random(7)
    text = namespace_text(60, comments=comments)
    fresh_texts = text
    for step in range(12):
        doc = load(text, "default/features.yaml")
        picked = rng.sample(range(60), rng.choice([1, 1, 2, 3]))
        changes = [Change("default", Kind.FLAG, doc.flags[i].key, doc.flags[i].model_copy(update={
            "enabled": not doc.flags[i].enabled, "name": doc.flags[i].name + (" longer" * rng.randint(0, 3)),
            "description": None if rng.random() < 0.3 else doc.flags[i].description})) for i in picked]
        if step % 4 == 3:
            seg = doc.segments[rng.randrange(10)]
            changes.append(Change("default", Kind.SEGMENT, seg.key, Segment(**{**seg.model_dump(), "name": "S"})))
        written = apply_changes(text, "default/features.yaml", changes, doc)
        kept = locate._KEPT.get(written)
        assert kept is not None, f"step {step}: no index kept"
        scan = locate.TextIndex(written)
        assert kept.docs == scan.docs
        for key in (k for d in scan.docs or () for k in d.keys.values()):
            assert kept.items(key) == locate.sequence_items(written, key), f"step {step}: {key}"
        with monkeypatch.context() as patched:  # the same write from a scan
            patched.setattr(locate, "_KEPT", type(locate._KEPT)())
            patched.setattr("gitstore.edit.writer.kept", lambda t: None)
            assert apply_changes(fresh_texts, "default/features.yaml", changes, doc) == written
        text = fresh_texts = written
    assert len(load(text, "default/features.yaml").flags) == 60
