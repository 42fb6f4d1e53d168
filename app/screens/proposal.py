"""One change proposal, as a team reviewing a pull request expects: what it is (title, author, branch into target,
state, approvals against what the target's policy asks), the change resource by resource against the target's
current state (a resource the target changed too is marked CONFLICT), the impact preview on the target (the review
screen's ImpactPanel), the description and the comments. `a` approves, `r` requests changes, `c` comments, `m`
merges, `x` closes. A refusal (the author approving their own, not approved yet, changes requested, a protected
target) is a one-line notice on the screen; a comment refused keeps its text for the next try. Merging a proposal
whose resource the target changed too opens the console's conflict dialog: resolving updates the BRANCH (a merge of
the target into it, with the chosen version), so the proposal shows the resolution and asks for approval again."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from app.screens.base import BACK, BaseScreen
from app.screens.proposals import approvals_text, person, state_text
from app.session import relative_time
from app.session_edits import resource_text
from app.widgets.impact_panel import ImpactPanel
from app.widgets.key_footer import KeyFooter
from gitstore.errors import AccessDenied, ConflictError, FlagdeckError
from gitstore.model.changes import Kind, apply_to_document


@dataclass
class View:
    """What the screen shows, read in a worker: the status, the merge plan (None once merged or closed, or when the
    branch is gone: `why` says so), and the impact jobs (namespace, target now, target with the change)."""

    status: Any
    plan: Any | None
    why: str = ""
    jobs: list[tuple[str, Any, Any]] = field(default_factory=list)
    base_values: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # a conflict's value at the base


def read_view(proposals: Any, proposal_id: str) -> View:
    """Blocking: the proposal, its plan against the target now and the impact jobs."""
    status = proposals.get(proposal_id)
    if status.state.value in ("merged", "closed"):
        return View(status, None)
    try:
        plan = proposals.plan(proposal_id)
    except FlagdeckError as error:
        return View(status, None, str(error))
    store, env = proposals.store, status.proposal.environment
    now = store.snapshot(env, plan.target_tip)
    base = store.snapshot(env, plan.base)
    jobs = []
    for namespace in sorted({c.change.namespace for c in plan.changes}):
        changes = [c.change for c in plan.changes if c.change.namespace == namespace]
        if any(c.kind is Kind.NAMESPACE for c in changes):
            continue  # a namespace created or deleted: no flag-by-flag preview
        before = now.document(namespace)
        jobs.append((namespace, before, apply_to_document(before, changes)))
    from gitstore.model.changes import resource_value

    base_values = {(c.change.namespace, c.change.kind.value, c.change.key):
                   resource_value(base.document(c.change.namespace), c.change.kind, c.change.key)
                   for c in plan.changes if c.conflict}
    return View(status, plan, "", jobs, base_values)


def change_diff(env: str, branch: str, item: Any) -> str:
    kind = item.change.kind
    old, new = resource_text(kind, item.target), resource_text(kind, item.change.value)
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"{env} now", f"branch {branch}", n=3)
    return "".join(lines) or "(the target already holds this)\n"


class ProposalScreen(BaseScreen):
    SCREEN_TITLE = "Proposal"
    BINDINGS = [
        Binding("a", "approve", "Approve", tooltip="Approve the branch as it is now (not your own proposal)"),
        Binding("r", "request_changes", "Request changes",
                tooltip="Comment and block the merge until you approve"),
        Binding("c", "comment", "Comment", tooltip="Add a comment"),
        Binding("m", "merge", "Merge", tooltip="Apply the change to the target as one commit (needs approval)"),
        Binding("x", "close", "Close proposal", tooltip="Close it without merging (the branch stays)"),
        Binding("w", "why", "Why", tooltip="For an entity: each changed flag's answer now and with the change, and why"),
        Binding("f5", "reload", "Reload", show=False, tooltip="Read the proposal again"),
        BACK,
    ]

    def __init__(self, proposal_id: str) -> None:
        super().__init__()
        self.proposal_id = proposal_id
        self.view: View | None = None
        self.draft = ""  # a comment not yet saved (kept when refused)
        self.asked_entity: dict[str, str] = {}  # the last entity and context asked for `w`

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static("loading…", id="proposal-head", markup=False)
        with Horizontal(classes="split"):
            with Vertical(classes="list-pane"):
                yield Label("Changes against the target now", classes="section-title")
                yield OptionList(id="changes")
                with VerticalScroll(id="conversation"):
                    yield Static("", id="comments", markup=False)
            with VerticalScroll(classes="detail-pane"):
                yield ImpactPanel(id="impact")
                yield Static("", id="change-title", classes="section-title", markup=False)
                yield Static("", id="change-diff", classes="diff")
        yield Static("", id="proposal-status", classes="status-line", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#changes", OptionList).focus()
        self.reload()

    @property
    def proposals(self) -> Any:
        return self.console.proposals

    def reload(self) -> None:
        self.run_git(read_view, self.proposals, self.proposal_id, then=self.fill,
                     what=f"Could not read {self.proposal_id}", exclusive=True, group="load")

    def action_reload(self) -> None:
        self.reload()

    # ----- showing ----------------------------------------------------------------------------------------------
    def fill(self, view: View) -> None:
        self.view = view
        s, p = view.status, view.status.proposal
        now = self.session.clock()
        head = Text()
        head.append(f"{p.id}  {p.title}\n", "bold")
        head.append(f"{state_text(s).upper()}", "bold reverse")
        head.append(f"  {person(p.author)} proposes branch {p.branch} into {p.environment} · opened "
                    f"{relative_time(p.created, now)} · updated {relative_time(p.updated, now)}\n")
        need = f" (of {s.required} needed, by {s.approvers})" if s.required else ""
        who = ", ".join(person(a.user) for a in s.approvals) or "none"
        head.append(f"Approvals {approvals_text(s)}{need}: {who}")
        if s.note:
            head.append(f" · {s.note}")
        if p.merged_commit:
            head.append(f" · merged as {p.merged_commit[:8]} by {person(p.merged_by or '')}")
        if p.description:
            head.append(f"\n{p.description}")
        for line in view.plan.records if view.plan is not None else ():  # schedules and ramps it adds
            head.append(f"\nMerging adds {line}", "bold")
        self.query_one("#proposal-head", Static).update(head)
        menu = self.query_one("#changes", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        changes = view.plan.changes if view.plan is not None else []
        for i, item in enumerate(changes):
            verb = "create" if item.target is None and item.change.value is not None else item.change.verb
            label = Text(f"{verb} {item.change.kind.value} {item.change.resource}")
            if item.conflict:
                label = Text.assemble(("⚠ CONFLICT ", "bold reverse"), label)
            menu.add_option(Option(label, id=str(i)))
        if changes:
            menu.highlighted = min(highlighted or 0, len(changes) - 1)
        self.query_one("#comments", Static).update(self.comments_text(now))
        insight = self.console.insight
        self.query_one(ImpactPanel).compute(view.jobs, insight.sample, insight.population_size)
        self.show_change()
        self.update_context()

    def comments_text(self, now: Any) -> Text:
        comments = self.view.status.proposal.comments if self.view else ()
        text = Text(f"Comments ({len(comments)})\n", "bold")
        for c in comments:
            mark = " requested changes" if c.changes_requested else ""
            text.append(f"{person(c.user)}{mark} · {relative_time(c.at, now)}\n", "bold")
            text.append(f"  {c.text}\n")
        if not comments:
            text.append("none yet (c: comment)\n")
        text.rstrip()
        return text

    def selected(self) -> Any | None:
        if self.view is None or self.view.plan is None:
            return None
        index = self.query_one("#changes", OptionList).highlighted
        changes = self.view.plan.changes
        return changes[index] if index is not None and index < len(changes) else None

    @on(OptionList.OptionHighlighted, "#changes")
    def change_highlighted(self) -> None:
        self.show_change()

    def show_change(self) -> None:
        title, body = self.query_one("#change-title", Static), self.query_one("#change-diff", Static)
        view = self.view
        if view is None:
            return
        item = self.selected()
        if item is None:
            p = view.status.proposal
            title.update(view.why or ("Merged: the change is in " + p.environment if p.merged_commit
                                      else f"{p.id} is {view.status.state.value}"))
            body.update("")
            return
        p = view.status.proposal
        clash = " — CONFLICT: the target changed it too since the branch point (m: resolve)" if item.conflict else ""
        title.update(f"{item.change.kind.value} {item.change.resource}: {p.environment} now → branch{clash}")
        body.update(Syntax(change_diff(p.environment, p.branch, item), "diff", theme="ansi_dark",
                           background_color="default"))

    # ----- acting -----------------------------------------------------------------------------------------------
    def notice(self, text: str) -> None:
        """One line on the screen: a refusal or what was done."""
        self.query_one("#proposal-status", Static).update(text)

    def act(self, what: str, fn: Any, *args: Any, done: str = "", **kwargs: Any) -> None:
        """Run a proposal call; a refusal is a one-line notice, success reloads."""
        def call() -> Any:
            return fn(self.proposal_id, *args, **kwargs)

        def ok(_: Any) -> None:
            self.notice(done)
            self.reload()

        self.notice(f"{what}…")
        worker = self.run_worker(call, thread=True, group="write", exit_on_error=False, description=what)
        self._git_jobs[worker] = (what, ok, None)

    def on_worker_state_changed(self, event: Any) -> None:
        from textual.worker import WorkerState

        entry = self._git_jobs.get(event.worker)
        if entry is not None and event.state is WorkerState.ERROR and event.worker.group == "write":
            del self._git_jobs[event.worker]
            self.refused(entry[0], event.worker.error)
            return
        super().on_worker_state_changed(event)

    def refused(self, what: str, error: BaseException | None) -> None:
        if isinstance(error, ConflictError):
            self.notice(f"✗ {error}")
            self.resolve_conflict()
            return
        if isinstance(error, AccessDenied | FlagdeckError):
            self.notice(f"✗ {what} refused: {error}")
            return
        self.show_error(what, error or "failed")

    def action_approve(self) -> None:
        self.act("Approving", self.proposals.approve, user=self.session.author_obj(), done="✓ Approved")

    def action_close(self) -> None:
        self.act("Closing", self.proposals.close, user=self.session.author_obj(), done="Closed")

    def action_merge(self) -> None:
        def merged_text() -> str:
            return "✓ Merged"

        self.act("Merging", self.proposals.merge, user=self.session.author_obj(), done=merged_text())

    def action_comment(self) -> None:
        self.ask_comment(False)

    def action_request_changes(self) -> None:
        self.ask_comment(True)

    def ask_comment(self, changes_requested: bool) -> None:
        from app.screens.modals.prompt import Field, PromptModal, non_empty

        title = "Request changes" if changes_requested else "Comment"

        def answered(values: dict[str, str] | None) -> None:
            if not values:
                return
            self.draft = values["text"]

            def saved(_: Any) -> None:
                self.draft = ""
                self.notice("✓ Changes requested" if changes_requested else "✓ Commented")
                self.reload()

            worker = self.run_worker(
                lambda: self.proposals.comment(self.proposal_id, values["text"], user=self.session.author_obj(),
                                               changes_requested=changes_requested),
                thread=True, group="write", exit_on_error=False, description=title)
            self._git_jobs[worker] = (title, saved, None)

        self.app.push_screen(PromptModal(f"{title} on {self.proposal_id}",
                                         [Field("text", "Comment", self.draft, check=non_empty)]), answered)

    def action_why(self) -> None:
        from app.insight.explain import parse_context
        from app.screens.modals.why import WhyModal, ask_entity, compare, render

        view = self.view
        if view is None or view.plan is None:
            return
        env, changes = view.status.proposal.environment, [c.change for c in view.plan.changes]

        def answered(values: dict[str, str] | None) -> None:
            if values:
                self.asked_entity = values
                entity, context = values["entity"].strip(), parse_context(values["context"])

                def shown(whys: Any) -> None:
                    self.app.push_screen(WhyModal(f"Why, for entity {entity} in {env}", render(whys, env)))

                self.run_git(compare, view.jobs, changes, entity, context, then=shown, what="Evaluation failed")

        self.app.push_screen(ask_entity(f"Evaluate {self.proposal_id} for an entity", **self.asked_entity), answered)

    # ----- conflicts ----------------------------------------------------------------------------------------------
    def resolve_conflict(self) -> None:
        """Each resource the target changed too, one after another in the console's conflict dialog (keep the
        branch's, take the target's, or merge field by field). Resolving commits the chosen versions on the branch
        as a merge of the target into it (`gitstore.proposals.resolve`); `escape` leaves everything as it was."""
        from app.insight.conflicts import Conflict
        from app.screens.modals.conflict import ConflictModal
        from app.session_edits import Pending

        view = self.view
        if view is None or view.plan is None or not view.plan.conflicts:
            self.reload()
            return
        p, plan = view.status.proposal, view.plan
        todo, chosen = list(plan.conflicts), {}

        def ask() -> None:
            item = todo[0]
            change = item.change
            before = view.base_values.get((change.namespace, change.kind.value, change.key))
            conflict = Conflict(Pending(p.branch, change, before, plan.base), item.target, plan.target_tip)
            self.app.push_screen(ConflictModal(conflict, sides=(f"Branch {p.branch}", f"{p.environment} now")),
                                 answered)

        def answered(outcome: tuple[str, Any] | None) -> None:
            item = todo.pop(0)
            if outcome is None:
                self.notice(f"✗ Not merged: {item.name} changed in {p.environment} too; m to resolve it")
                return
            choice, value = outcome
            chosen[item.name] = {"mine": item.change.value, "theirs": item.target}.get(choice, value)
            if todo:
                ask()
                return
            from gitstore.proposals.resolve import resolve

            worker = self.run_worker(lambda: resolve(self.proposals, self.proposal_id, chosen,
                                                     self.session.author_obj()),
                                     thread=True, group="write", exit_on_error=False, description="Resolving")
            self._git_jobs[worker] = ("Resolving", lambda _: self.resolved(", ".join(chosen)), None)

        ask()

    def resolved(self, names: str) -> None:
        self.notice(f"✓ Resolved {names} on the branch (a merge of the target into it): approve it again, then m")
        self.reload()


# ----- a commit to a protected environment becomes a proposal (the review screen offers it) --------------------
def is_protected(session: Any, env: str | None = None) -> bool:
    from gitstore.proposals.protection import protected

    return protected(session.store.config, env or session.env)


def propose_dialog(session: Any, message: str) -> Any:
    """Branch name, title (the commit message's first line) and description for proposing the pending edits."""
    from app.screens.modals.prompt import Field, PromptModal, non_empty
    from gitstore.branches import name_problem

    check = partial(name_problem, taken=set(session.env_names))

    first, _, rest = message.partition("\n")
    return PromptModal(f"{session.env} is protected: propose instead", [
        Field("branch", "Branch", f"change-{session.clock():%Y%m%d-%H%M}", check=check),
        Field("title", "Title", first.strip(), check=non_empty),
        Field("description", "Description", rest.strip(), placeholder="why (optional)")])


def propose_pending(session: Any, proposals: Any, values: dict[str, str], message: str) -> Any:
    """Blocking: a branch of the session's (protected) environment, the pending edits committed there as one
    commit, and a proposal of it; the edits stop being pending once committed on the branch."""
    env, author = session.env, session.author_obj()
    items = session.pending_for(env)
    if not items:
        raise ValueError("nothing to propose: no pending edits")
    info = session.store.branch(env, values["branch"].strip(), author)
    based_on = next((p.based_on for p in items if p.based_on), None)
    session.store.commit(info.name, [p.change for p in items], author=author, based_on=based_on,
                         message=message or None)
    session.pending = [p for p in session.pending if p not in items]
    session.environments()
    return proposals.propose(env, info.name, values["title"], values["description"], author)
