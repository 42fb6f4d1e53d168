"""Progressive rollouts (ramps): a plan of steps on one flag — a boolean flag's threshold, or one variant's share
of a rule's distribution — taken every `every` seconds, each step one commit (`Ramp: <id>` and `On-behalf-of:`
trailers, author `SCHEDULER`), each preceded by the ramp's guards (PromQL queries against a Prometheus server, HTTP
checks: evaluated by the runner in `evaluator.automation`, which hands `advance` its verdict). A breached guard
stops the ramp and puts the ramped part of the flag (its rollouts, or the rule's distribution) back as it was
before the ramp, as a commit; a guard that cannot be evaluated (no data, unreachable) pauses the ramp instead.
Pause, resume and abort (which also puts the flag back) are commits by the user. The records live in
`.flagdeck/ramps.yaml` on the environment's branch, written in the same commit as each step, so a step lands once
however many replicas run the scheduler (see `gitstore.automation.schedules`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from gitstore.automation.patch import FlagPatch, PatchError
from gitstore.automation.records import SCHEDULER, Loaded, RecordFile, admitted, user_text, utcnow
from gitstore.automation.writes import flag_of, patched
from gitstore.errors import ConflictError, FlagdeckError, NotFoundError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType
from gitstore.proposals.records import Record

if TYPE_CHECKING:
    from gitstore.results import Author, CommitResult
    from gitstore.store import Store

log = logging.getLogger(__name__)
COMPARISONS = ("<", "<=", ">", ">=")


class RampState(StrEnum):
    PROPOSED = "proposed"  # on a proposal's branch: its merge into a protected environment starts it
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"  # by a user: the flag put back
    REVERTED = "reverted"  # a guard breached: the flag put back
    FAILED = "failed"  # a step no longer applies (the flag deleted)


class Guard(Record):
    """`prometheus`: the query's every sample must satisfy `op threshold` (e.g. `< 0.01`); `http`: a GET of `url`
    must answer 2xx."""

    kind: Literal["prometheus", "http"]
    url: str
    query: str = ""
    op: Literal["<", "<=", ">", ">="] = "<"
    threshold: float = 0.0

    def describe(self) -> str:
        if self.kind == "http":
            return f"GET {self.url} answers 2xx"
        return f"{self.query} {self.op} {self.threshold:g} ({self.url})"

    def holds(self, value: float) -> bool:
        return {"<": value < self.threshold, "<=": value <= self.threshold, ">": value > self.threshold,
                ">=": value >= self.threshold}[self.op]


class Event(Record):
    at: datetime
    text: str


class Ramp(Record):
    id: str
    namespace: str
    flag: str
    kind: Literal["threshold", "distribution"]
    variant: str | None = None  # distribution: the variant ramped
    steps: tuple[FlagPatch, ...]
    every: float = Field(gt=0)  # seconds between steps
    guards: tuple[Guard, ...] = ()
    by: str
    created: datetime
    before: Flag  # the flag before the ramp: what a revert puts back (its rollouts, or its rules)
    state: RampState = RampState.RUNNING
    step: int = 0  # steps taken
    next_at: datetime | None = None
    note: str = ""
    events: tuple[Event, ...] = ()

    def what(self) -> str:
        values = [f"{s.threshold:g}" if s.threshold is not None else f"{(s.distribution or {}).get(self.variant or '', 0):g}"
                  for s in self.steps]
        target = f"{self.variant} of " if self.variant else ""
        return f"{target}{self.namespace}/{self.flag}: {' → '.join(values)}% every {_every(self.every)}"

    def current(self) -> str:
        return "before the ramp" if self.step == 0 else f"step {self.step}/{len(self.steps)}"


class RampFile(Record):
    ramps: tuple[Ramp, ...] = Field(default_factory=tuple)


RAMPS: RecordFile[Ramp] = RecordFile(".flagdeck/ramps.yaml", RampFile, "ramps", "R")


@dataclass(frozen=True)
class Verdict:
    """The guards' answer before a step: `ok` True (all hold), False (one breached), None (one could not be
    evaluated); `detail` says which and the values seen."""

    ok: bool | None
    detail: str


def _every(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def plan(flag: Flag, percentages: list[float], variant: str | None, rule: int | None, where: str) -> tuple[
        Literal["threshold", "distribution"], tuple[FlagPatch, ...]]:
    """The steps of a ramp to these percentages: a boolean flag's threshold, or `variant`'s share of the rule (the
    other variants share the rest as they shared it before, or the first other variant takes it)."""
    if any(not 0 <= p <= 100 for p in percentages) or not percentages:
        raise PatchError("ramp steps are percentages between 0 and 100, e.g. 5,25,50,100")
    if flag.type is FlagType.BOOLEAN:
        if variant is not None:
            raise PatchError(f"{where} is a boolean flag: a ramp moves its threshold (no --variant)")
        return "threshold", tuple(FlagPatch(threshold=p) for p in percentages)
    if variant is None:
        raise PatchError(f"{where} is a variant flag: say which variant's share the ramp moves (--variant)")
    if variant not in {v.key for v in flag.variants}:
        raise PatchError(f"{where} has no variant {variant!r}")
    if not flag.rules:
        raise PatchError(f"{where} has no rule: add one before ramping a variant")
    if rule is None and len(flag.rules) > 1:
        raise PatchError(f"{where} has {len(flag.rules)} rules: say which one with --rule N")
    number = rule or 1
    if number > len(flag.rules):
        raise PatchError(f"{where} has {len(flag.rules)} rule(s), not rule {number}")
    now = {d.variant: d.rollout for d in flag.rules[number - 1].distributions if d.variant != variant}
    others = [v.key for v in flag.variants if v.key != variant]
    if not others:
        raise PatchError(f"{where} has no other variant to take the rest")
    weights = now if sum(now.values()) > 0 else {others[0]: 1.0}
    total = sum(weights.values())
    steps = []
    for p in percentages:
        rest = {k: round((100 - p) * w / total, 4) for k, w in weights.items()}
        steps.append(FlagPatch(distribution={variant: p, **rest}, rule=rule))
    return "distribution", tuple(steps)


def start(store: Store, env: str, namespace: str, flag: str, percentages: list[float], every: float,
          guards: tuple[Guard, ...] = (), variant: str | None = None, rule: int | None = None,
          author: Author | None = None, now: datetime | None = None,
          proposed: bool = False) -> tuple[Ramp, CommitResult]:
    """Record a running ramp (one commit); its first step is taken at the scheduler's next round, guards first.
    `proposed`: recorded as such on a proposal's branch (`gitstore.automation.proposed`)."""
    now = now or utcnow()
    made: list[Ramp] = []

    def edit(loaded: Loaded[Ramp]) -> tuple[tuple[Ramp, ...], str, list[Change]]:
        current = flag_of(store.snapshot(env), env, namespace, flag)
        check_free(loaded.items, env, namespace, flag)
        kind, steps = plan(current, percentages, variant, rule, f"{env} {namespace}/{flag}")
        state, said = (RampState.PROPOSED, "proposed") if proposed else (RampState.RUNNING, "started")
        ramp = Ramp(id=RAMPS.next_id(loaded.items), namespace=namespace, flag=flag, kind=kind, variant=variant,
                    steps=steps, every=every, guards=guards, by=user_text(author or store.identity), created=now,
                    before=current, next_at=now, state=state, events=(Event(at=now, text=said),))
        made[:] = [ramp]
        return (*loaded.items, ramp), f"ramp {ramp.id}: {ramp.what()}", []

    result = RAMPS.change(store, env, edit, author)
    return made[0], result


def check_free(ramps: tuple[Ramp, ...], env: str, namespace: str, flag: str) -> None:
    """`ConflictError` when the flag already has a running or paused ramp."""
    busy = [r.id for r in ramps if r.namespace == namespace and r.flag == flag
            and r.state in (RampState.RUNNING, RampState.PAUSED)]
    if busy:
        raise ConflictError(f"{namespace}/{flag} already has ramp {busy[0]} in {env!r} (abort it first)",
                            resource=f"{namespace}/{flag}")


def restored(ramp: Ramp, flag: Flag) -> Flag:
    """The flag with the ramped part put back as it was before the ramp."""
    field = "rollouts" if ramp.kind == "threshold" else "rules"
    return flag.model_copy(update={field: getattr(ramp.before, field)})


def _control(store: Store, env: str, ramp_id: str, action: Literal["pause", "resume", "abort"],
             author: Author | None, now: datetime | None) -> tuple[Ramp, CommitResult]:
    now = now or utcnow()
    acting = author or store.identity
    who = acting.name if acting is not None else "unknown"
    done: list[Ramp] = []
    allowed = {"pause": (RampState.RUNNING,), "resume": (RampState.PAUSED,),
               "abort": (RampState.RUNNING, RampState.PAUSED)}[action]

    def edit(loaded: Loaded[Ramp]) -> tuple[tuple[Ramp, ...], str, list[Change]]:
        ramp = next((r for r in loaded.items if r.id == ramp_id), None)
        if ramp is None:
            raise NotFoundError(f"no ramp {ramp_id} in {env!r}")
        if ramp.state not in allowed:
            raise FlagdeckError(f"{ramp_id} is {ramp.state.value}: cannot {action} it")
        changes: list[Change] = []
        update: dict[str, object]
        if action == "pause":
            update = {"state": RampState.PAUSED, "note": f"paused by {who}"}
        elif action == "resume":
            update = {"state": RampState.RUNNING, "next_at": now, "note": f"resumed by {who}"}
        else:
            changes = _revert_changes(store, env, ramp)
            update = {"state": RampState.ABORTED, "next_at": None,
                      "note": f"aborted by {who}; flag put back as before the ramp"}
        new = ramp.model_copy(update={**update, "events": (*ramp.events, Event(at=now, text=str(update["note"])))})
        done[:] = [new]
        items = tuple(new if r.id == ramp_id else r for r in loaded.items)
        subject = changes[0].message_line() if changes else f"ramp {ramp_id} {action}"
        return items, f"{subject}\n\nRamp {ramp_id} ({ramp.what()}): {update['note']}.", changes

    result = RAMPS.change(store, env, edit, author, (("Ramp", ramp_id),))
    return done[0], result


def pause(store: Store, env: str, ramp_id: str, author: Author | None = None,
          now: datetime | None = None) -> tuple[Ramp, CommitResult]:
    return _control(store, env, ramp_id, "pause", author, now)


def resume(store: Store, env: str, ramp_id: str, author: Author | None = None,
           now: datetime | None = None) -> tuple[Ramp, CommitResult]:
    return _control(store, env, ramp_id, "resume", author, now)


def abort(store: Store, env: str, ramp_id: str, author: Author | None = None,
          now: datetime | None = None) -> tuple[Ramp, CommitResult]:
    """Stop the ramp and put the flag's ramped part back as it was before it (one commit)."""
    return _control(store, env, ramp_id, "abort", author, now)


def _revert_changes(store: Store, env: str, ramp: Ramp) -> list[Change]:
    try:
        flag = flag_of(store.snapshot(env), env, ramp.namespace, ramp.flag)
    except NotFoundError:
        return []  # the flag is gone: nothing to put back
    back = restored(ramp, flag)
    return [] if back == flag else [Change(ramp.namespace, Kind.FLAG, ramp.flag, back)]


def due(store: Store, env: str, now: datetime) -> list[Ramp]:
    """The running ramps of `env` whose next step is due."""
    return [r for r in RAMPS.read(store, env).items
            if r.state is RampState.RUNNING and r.next_at is not None and r.next_at <= now]


def advance(store: Store, env: str, ramp_id: str, step: int, now: datetime, verdict: Verdict,
            denied: str | None = None) -> Ramp | None:
    """Act on the guards' verdict for step `step` (0-based) of a due ramp: take the step, revert, or pause; one
    commit. None when the ramp is no longer at that step and due (another replica acted first, a user paused).
    `denied`: why the ramp's user may not take the step now (their role, checked when it runs): the ramp fails
    with that reason and the flag is left as it is."""
    loaded = RAMPS.read(store, env)
    ramp = next((r for r in loaded.items if r.id == ramp_id), None)
    if ramp is None or ramp.state is not RampState.RUNNING or ramp.step != step or ramp.next_at is None \
            or ramp.next_at > now:
        return None
    changes: list[Change] = []
    update: dict[str, object]
    if denied:
        update = {"state": RampState.FAILED, "next_at": None,
                  "note": f"step {step + 1} refused when due: {denied}; flag left as it is ({ramp.current()})"}
    elif verdict.ok is False:
        changes = _revert_changes(store, env, ramp)
        update = {"state": RampState.REVERTED, "next_at": None,
                  "note": f"guard breached before step {step + 1}: {verdict.detail}; flag put back as before the ramp"}
    elif verdict.ok is None:
        update = {"state": RampState.PAUSED, "next_at": None,
                  "note": f"paused before step {step + 1}: a guard could not be evaluated: {verdict.detail}"}
    else:
        try:
            change = patched(store.snapshot(env), env, ramp.namespace, ramp.flag, ramp.steps[step])
        except (NotFoundError, PatchError) as exc:
            update = {"state": RampState.FAILED, "next_at": None, "note": f"step {step + 1} failed: {exc}"}
        else:
            changes = [change] if change is not None else []
            last = step + 1 == len(ramp.steps)
            update = {"step": step + 1, "state": RampState.COMPLETED if last else RampState.RUNNING,
                      "next_at": None if last else now + timedelta(seconds=ramp.every),
                      "note": f"step {step + 1}/{len(ramp.steps)} taken" + (" (completed)" if last else "")
                      + (f"; guards: {verdict.detail}" if verdict.detail else "")}
    new = ramp.model_copy(update={**update, "events": (*ramp.events, Event(at=now, text=str(update["note"])))})
    items = tuple(new if r.id == ramp_id else r for r in loaded.items)
    subject = changes[0].message_line() if changes else f"ramp {ramp_id} {new.state.value}"
    message = f"{subject}\n\nRamp {ramp_id} by {ramp.by} ({ramp.what()}): {update['note']}."
    with admitted(store, env):
        RAMPS.commit(store, loaded, items, message, changes, SCHEDULER,
                     (("Ramp", ramp_id), ("On-behalf-of", ramp.by)))
    log.warning("ramp %s of %s: %s", ramp_id, env, update["note"])
    return new

