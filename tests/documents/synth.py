"""Synthetic namespace files (the shape of storage-notes §3.1's test flag: metadata, two variants, one rule with two
distributions), shared by the writer tests and bench/documents.py."""

from __future__ import annotations

from pathlib import Path


def flag_block(i: int, indent: str = "  ") -> str:
    p = indent
    return (
        f"{p}- key: flag-{i:05d}\n"
        f"{p}  name: Flag {i}\n"
        f"{p}  type: VARIANT_FLAG_TYPE\n"
        f"{p}  description: Synthetic flag number {i}\n"
        f"{p}  enabled: {'true' if i % 2 else 'false'}\n"
        f"{p}  metadata:\n"
        f"{p}    team: team-{i % 7}\n"
        f"{p}    tier: {i % 3}\n"
        f"{p}  variants:\n"
        f"{p}    - key: control\n"
        f"{p}      name: Control\n"
        f"{p}    - key: treatment\n"
        f"{p}      name: Treatment\n"
        f"{p}      attachment:\n"
        f"{p}        color: blue\n"
        f"{p}  rules:\n"
        f"{p}    - segment: segment-{i % 10}\n"
        f"{p}      distributions:\n"
        f"{p}        - variant: control\n"
        f"{p}          rollout: 50\n"
        f"{p}        - variant: treatment\n"
        f"{p}          rollout: 50\n"
    )


def namespace_text(flags: int, namespace: str = "default", comments: bool = False) -> str:
    out = ['version: "1.6"\n', f"namespace: {namespace}\n"]
    if comments:
        out.insert(0, "# Hand-written flags. Keep this comment.\n")
    out.append("flags:\n")
    for i in range(flags):
        if comments and i % 10 == 0:
            out.append(f"  # group {i // 10}\n")
        out.append(flag_block(i))
        if comments and i % 10 == 9:
            out.append("\n")
    out.append("segments:\n")
    for s in range(10):
        out.append(
            f"  - key: segment-{s}\n    name: Segment {s}\n    constraints:\n"
            f"      - type: STRING_COMPARISON_TYPE\n        property: plan\n        operator: eq\n"
            f"        value: plan-{s}\n    match_type: ALL_MATCH_TYPE\n"
        )
    return "".join(out)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flipt"
