"""The stale rules on a controlled clock (pure: `app.insight.stale.verdict`), and the lifecycle fields' validation
(`FILE:LINE: field: message`, through the loader as `flagdeck validate` and the store's writes see it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from app.insight.stale import Status, Window, verdict
from gitstore.format.loader import load_document
from gitstore.model.documents import Flag
from gitstore.model.lifecycle import Kind, Lifecycle

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COVERED = Window(NOW, 14, NOW - timedelta(days=30))
TEMPORARY = Lifecycle(kind=Kind.TEMPORARY)


@dataclass(frozen=True)
class Counts:  # the two fields of FlagUsage the rules read
    total: int
    by_value: dict[str, int] = field(default_factory=dict)


def test_unused_temporary_flag_is_stale() -> None:
    seen = NOW - timedelta(days=20)
    found = verdict(TEMPORARY, None, COVERED, last_seen=seen)
    assert (found.status, found.reasons, found.codes, found.last_seen) == (
        Status.STALE, ("no evaluation in 14 days",), ("unused",), seen)


def test_one_value_to_everybody_is_stale_two_values_are_not() -> None:
    one = verdict(TEMPORARY, Counts(1200, {"true": 1200}), COVERED)
    assert (one.status, one.codes, one.value) == (Status.STALE, ("single-value",), "true")
    assert one.reasons == ("served 'true' to 100% of 1,200 evaluations in 14 days",)
    assert verdict(TEMPORARY, Counts(1201, {"true": 1200, "false": 1}), COVERED).status is Status.ACTIVE
    nothing = verdict(TEMPORARY, Counts(5, {"": 5}), COVERED)
    assert nothing.reasons == ("served no variant to 100% of 5 evaluations in 14 days",)


def test_expired_is_stale_whatever_the_counts_and_the_day_itself_is_not() -> None:
    busy = Counts(10, {"a": 5, "b": 5})
    last_day = Lifecycle(kind=Kind.TEMPORARY, expires=date(2026, 3, 1))
    assert verdict(last_day, busy, COVERED).status is Status.ACTIVE
    past = Lifecycle(kind=Kind.TEMPORARY, expires=date(2026, 2, 28))
    found = verdict(past, busy, Window(NOW, 14, None))  # even with no counts at all
    assert (found.status, found.reasons) == (Status.STALE, ("expired on 2026-02-28",))
    both = verdict(past, None, COVERED)
    assert both.codes == ("expired", "unused")


def test_permanent_and_untracked_flags_are_never_stale() -> None:
    old = Lifecycle(kind=Kind.PERMANENT, expires=date(2020, 1, 1))
    assert verdict(old, None, COVERED).status is Status.PERMANENT
    assert verdict(Lifecycle(), None, COVERED).status is Status.UNTRACKED


@pytest.mark.parametrize("since", [None, NOW - timedelta(days=13, hours=23)])
def test_counts_not_covering_the_days_say_unknown(since: datetime | None) -> None:
    found = verdict(TEMPORARY, None, Window(NOW, 14, since))
    assert found.status is Status.UNKNOWN and found.codes == ("no-coverage",)
    assert "not the 14 days needed" in found.reasons[0]
    assert verdict(TEMPORARY, None, Window(NOW, 14, NOW - timedelta(days=14))).status is Status.STALE  # just enough


def test_a_young_flag_is_not_stale_for_its_counts() -> None:
    assert verdict(TEMPORARY, None, COVERED, young=True).status is Status.ACTIVE
    assert verdict(TEMPORARY, Counts(3, {"on": 3}), COVERED, young=True).status is Status.ACTIVE
    expired = Lifecycle(kind=Kind.TEMPORARY, expires=date(2026, 1, 1))
    assert verdict(expired, None, COVERED, young=True).codes == ("expired",)
    assert verdict(TEMPORARY, None, Window(NOW, 14, None), young=True).status is Status.ACTIVE  # nothing to judge


def test_the_days_are_configurable() -> None:
    counts = Window(NOW, 30, NOW - timedelta(days=20))
    assert verdict(TEMPORARY, None, counts).status is Status.UNKNOWN
    assert verdict(TEMPORARY, None, Window(NOW, 7, NOW - timedelta(days=20))).reasons == ("no evaluation in 7 days",)


def test_lifecycle_reads_metadata_leniently_and_writes_it_back_in_place() -> None:
    flag = Flag(key="a", name="A", metadata={"team": "x", "owner": " ada ", "lifecycle": "temporary",
                                             "expires": "2026-13-01"})
    life = Lifecycle.of(flag)
    assert life == Lifecycle(owner="ada", kind=Kind.TEMPORARY, expires=None)
    changed = Lifecycle(owner="bob", kind=Kind.PERMANENT, expires=date(2026, 5, 1)).metadata(flag.metadata)
    assert changed == {"team": "x", "owner": "bob", "lifecycle": "permanent", "expires": "2026-05-01"}
    assert list(changed) == ["team", "owner", "lifecycle", "expires"]
    assert Lifecycle().metadata({"owner": "x"}) is None


FILE = """version: "1.4"
namespace: default
flags:
- key: a
  name: A
  metadata:
    owner: ""
    lifecycle: temprary
    expires: 2026-02-30
- key: b
  name: B
  metadata:
    owner: team-checkout
    lifecycle: temporary
    expires: 2026-02-28
"""


def test_bad_lifecycle_values_are_warnings_with_file_line_and_field() -> None:
    """Warnings, not errors: Flipt accepts any metadata, so the file is still served (and Lifecycle.of reads the
    bad values as absent)."""
    result = load_document(FILE, "default/features.yaml")
    assert result.document is not None
    assert {p.severity for p in result.problems} == {"warning"}
    assert [(p.line, p.path, p.message) for p in result.problems] == [
        (7, "flags[0].metadata.owner", "must be a non-empty string (a person or team), not ''"),
        (8, "flags[0].metadata.lifecycle", "must be one of temporary, permanent, not 'temprary'"),
        (9, "flags[0].metadata.expires", "must be a date YYYY-MM-DD, not '2026-02-30'"),
    ]
    good = load_document(FILE.split("- key: a")[0] + "- key: b" + FILE.split("- key: b")[1], "default/features.yaml")
    assert good.document is not None and not good.problems
    assert Lifecycle.of(good.document.flags[0]) == Lifecycle(owner="team-checkout", kind=Kind.TEMPORARY,
                                                             expires=date(2026, 2, 28))
