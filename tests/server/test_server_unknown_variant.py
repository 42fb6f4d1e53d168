"""A distribution naming a variant its flag lacks (issue 11 #9) is skipped, with a warning in `/health` and in
`flagdeck validate`; the rule's other distributions are served as if it were not there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from app.cli import main

from .harness import FlagRepo, ServerThread

DOC = """\
version: "1.6"
namespace: odd
flags:
  - key: color
    name: Color
    enabled: true
    variants:
      - key: blue
        attachment: {hex: "#00f"}
    rules:
      - segment: everyone
        distributions:
          - variant: ghost
            rollout: 60
          - variant: blue
            rollout: 40
segments:
  - key: everyone
    name: Everyone
    match_type: ALL_MATCH_TYPE
"""


def test_a_distribution_naming_a_missing_variant_is_skipped_with_a_warning(
        tmp_path: Path, flag_repo: FlagRepo, make_server: Callable[..., ServerThread]) -> None:
    flag_repo.commit({"prod/odd/features.yaml": DOC}, "a distribution naming no variant")
    server = make_server()
    answers = {server.post("/evaluate/v1/variant", {"namespaceKey": "odd", "flagKey": "color", "entityId": f"u{i}"})
               .json()["variantKey"] for i in range(50)}
    assert answers == {"blue"}  # never "ghost" (with attachment "null"): the only served variant takes the rule
    snapshot = server.get("/internal/v1/evaluation/snapshot/namespace/odd").json()
    dists = snapshot["flags"][0]["rules"][0]["distributions"]
    assert [(d["variantKey"], d["variantAttachment"]) for d in dists] == [("blue", '{"hex":"#00f"}')]
    health = server.get("/health").json()["environments"]["production"]["namespaces"]["odd"]
    assert health["error"] is None
    assert any('flags[0].rules[0].distributions[0]: flag "color" rule 1: distribution names unknown variant '
               '"ghost"; skipped' in w for w in health["warnings"]), health["warnings"]
    result = CliRunner().invoke(main, ["validate", str(flag_repo.path / "prod")])
    assert result.exit_code == 0
    assert (f"{flag_repo.path / 'prod/odd/features.yaml'}:13: flags[0].rules[0].distributions[0].variant: warning: "
            "distribution names unknown variant 'ghost'") in result.stdout
