"""Review and commit: the pending edits, the diff the commit will make to each file (Git's own diff, line numbers
included), the impact preview, an editable message (Flipt's form by default); discard one or all. `enter` commits,
from the list and from the message box alike (ctrl+j starts a new line of the message). In a protected environment
`enter` proposes the edits instead, and `B` lets an admin break glass: a reason, then a direct commit carrying a
`Break-glass:` trailer and an audit record (anyone else is refused in one line). `S` schedules the edits instead of
committing them: a time in UTC (`app.screens.modals.schedule`), then one commit of the schedule's record; at that
time the scheduler commits them, each resource checked again (`gitstore.automation.changeset`)."""

from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from app.insight.file_diff import FileDiff
from app.scheduling import change_set, schedule_pending
from app.screens.base import BaseScreen
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.conflict import ConflictModal
from app.screens.modals.prompt import Field, PromptModal, non_empty
from app.screens.proposal import is_protected, propose_dialog, propose_pending
from app.session_edits import Pending, break_glass_commit
from app.widgets.impact_panel import ImpactPanel
from app.widgets.key_footer import KeyFooter
from app.widgets.text_box import TextBox
from gitstore import roles as access
from gitstore.errors import ConflictError, FlagdeckError
from gitstore.results import CommitResult


class ReviewScreen(BaseScreen):
    SCREEN_TITLE = "Review and commit"
    BINDINGS = [  # resolve first: shown only while there is a conflict, and then it matters most
        Binding("x", "resolve", "Resolve conflict",
                tooltip="Settle an edit marked CONFLICT: keep yours, take theirs or merge"),
        # Over the list's own enter (one rule, shown in the footer); in the message box it lets the key through, so
        # enter commits after the text typed before it (as a plain priority binding it once committed "A")
        Binding("enter", "commit", "Commit", priority=True,
                tooltip="Commit every pending edit of this environment as one commit"),
        Binding("d", "discard", "Discard",
                tooltip="Drop the highlighted pending edit"),
        Binding("D", "discard_all", "Discard all",
                tooltip="Drop every pending edit of this environment (asks first)"),
        # A priority binding, handled as the key arrives: what is typed right after `m` goes to the message box
        # (a plain binding moved the focus only after the keys behind it had gone to the list, where d discards)
        Binding("m", "edit_message", "Message", priority=True,
                tooltip="Edit the commit message (typing replaces the proposed one; an arrow key keeps it)"),
        Binding("S", "schedule", "Schedule",
                tooltip="Schedule these edits for a time (UTC) instead of committing them now; the scheduler of "
                        "flagdeck serve commits them then"),
        Binding("B", "break_glass", "Break glass",
                tooltip="Admins, protected environment: commit directly without a proposal (asks for a reason, "
                        "recorded in the commit's Break-glass trailer and an audit record)"),
        Binding("escape", "back", "Back",
                tooltip="Back to the previous screen (from the message: back to the list)"),
    ]

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        with Horizontal(classes="split"):
            with Vertical(classes="list-pane"):
                yield Label("Pending edits", classes="section-title")
                yield OptionList(id="pending")
            with VerticalScroll(classes="detail-pane", id="diff-pane"):
                # the impact preview of the pending edits (issue 6) first: a few lines, in view at 80×24 too,
                # where below a long diff it was out of sight
                yield ImpactPanel(id="impact")
                yield Static("", id="diff-title", classes="section-title", markup=False)
                yield Static("", id="diff", classes="diff")
        yield Label("Commit message (m: edit it · ⏎ commits · ctrl+j: new line)", classes="hint")
        yield TextBox(self.session.proposed_message(), id="commit-message", soft_wrap=True)
        yield Static("", id="review-status", classes="status-line")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.message_edited = False
        self.diffs: dict[str, FileDiff] | None = None  # namespace -> the commit's diff of its file
        self.fill()
        self.query_one("#pending", OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("commit", "discard", "discard_all", "edit_message", "schedule") and not self.session.can_edit():
            return False
        if action in ("commit", "schedule") and not self.session.pending_for():
            return None
        if action == "break_glass":  # on a protected environment only; an editor is told it is for admins
            return is_protected(self.session) and bool(self.session.pending_for())
        if action == "resolve":  # offered while there is a conflict to settle
            return bool(self.console.insight.open_conflicts())
        return True

    def items(self) -> list[Pending]:
        return self.session.pending_for()

    def fill(self) -> None:
        items = self.items()
        menu = self.query_one("#pending", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        menu.add_options([Option(self.console.insight.title(p), id=str(i)) for i, p in enumerate(items)])
        if items:
            menu.highlighted = min(highlighted or 0, len(items) - 1)
        else:
            self.query_one("#diff", Static).update("Nothing to commit: no pending edits.")
        if not self.message_edited:
            self.query_one("#commit-message", TextBox).text = self.session.proposed_message()
        status = f"{len(items)} pending edit(s) in {self.session.env}"
        if not self.session.can_edit():
            status += f"  │  role {self.session.role()}: read-only, cannot commit"
        elif is_protected(self.session):
            status += f"  │  {self.session.env} is protected: ⏎ proposes them instead (a branch, a commit there, a proposal)"
            if self.session.can(access.Action.BREAK_GLASS):
                status += "; B breaks glass"
        self.query_one("#review-status", Static).update(status)
        self.update_context()
        self.refresh_bindings()
        insight = self.console.insight
        self.query_one(ImpactPanel).compute(insight.impact_jobs(), insight.sample, insight.population_size)
        self.diffs = None
        self.show_diff()
        if items:
            self.run_git(self.session.file_diffs, then=self.diffs_ready, what="Could not compute the diff",
                         exclusive=True, group="diff")

    def diffs_ready(self, diffs: list[FileDiff]) -> None:
        self.diffs = {d.namespace: d for d in diffs}
        self.show_diff()

    def selected(self) -> Pending | None:
        index = self.query_one("#pending", OptionList).highlighted
        items = self.items()
        return items[index] if index is not None and index < len(items) else None

    @on(OptionList.OptionHighlighted, "#pending")
    def pending_highlighted(self) -> None:
        self.show_diff()

    def show_diff(self) -> None:
        """The diff of the selected edit's file: the whole change the commit makes to that file."""
        p = self.selected()
        if p is None:
            return
        title, body = self.query_one("#diff-title", Static), self.query_one("#diff", Static)
        found = self.diffs.get(p.change.namespace) if self.diffs is not None else None
        if found is None:
            title.update(f"{p.change.namespace}: diff of the commit")
            body.update("computing the diff…")
            return
        others = f", with {found.edits - 1} other pending edit(s) in it" if found.edits > 1 else ""
        title.update(f"{found.path}: what the commit changes in this file{others}")
        if found.error:
            body.update(Text(f"✗ {found.error}"))
        else:
            body.update(Syntax(found.diff or "(no change to the file)\n", "diff", theme="ansi_dark",
                               background_color="default"))

    @on(OptionList.OptionSelected, "#pending")
    def pending_selected(self) -> None:
        self.commit_now()

    @on(TextBox.Changed, "#commit-message")
    def message_changed(self, event: TextBox.Changed) -> None:
        self.message_edited = event.text_area.text != self.session.proposed_message()

    @on(TextBox.Submitted, "#commit-message")
    def message_submitted(self, event: TextBox.Submitted) -> None:
        event.stop()
        self.commit_now()

    def action_edit_message(self) -> None:
        """Focus the message with all of it selected: typing replaces the proposed message, an arrow key keeps it.
        In the box, `m` is a letter like any other."""
        box = self.query_one("#commit-message", TextBox)
        if self.focused is box or not self.session.can_edit():
            raise SkipAction()
        self.set_focus(box)  # at once, not after the keys already received
        box.select_all()

    def action_back(self) -> None:
        if self.query_one("#commit-message", TextBox).has_focus:
            self.query_one("#pending", OptionList).focus()
        else:
            self.app.pop_screen()

    def action_discard(self) -> None:
        p = self.selected()
        if p is not None:
            self.session.discard(p)
            self.fill()

    def action_discard_all(self) -> None:
        if not self.items():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.session.discard_all()
                self.fill()

        self.app.push_screen(ConfirmModal("Discard all", f"Discard all {len(self.items())} pending edit(s)?",
                                          "Discard"), answered)

    def action_commit(self) -> None:
        if self.focused is self.query_one("#commit-message", TextBox):  # set at once (has_focus: once told)
            raise SkipAction()  # the box's own enter (Submitted) commits, after the keys queued before it
        self.commit_now()

    def commit_now(self) -> None:
        if not self.items():
            return
        status = self.query_one("#review-status", Static)
        conflicts = len(self.console.insight.open_conflicts())
        if conflicts:
            status.update(f"✗ {conflicts} conflict(s) to resolve first: select an edit marked CONFLICT and press x")
            return
        message = self.query_one("#commit-message", TextBox).text.strip() or self.session.proposed_message()
        if is_protected(self.session):  # direct commits are refused there: a branch, a commit, a proposal
            self.app.push_screen(propose_dialog(self.session, message),
                                 lambda values: self.propose(values, message) if values else None)
            return
        status.update("committing…")

        def failed(error: BaseException) -> None:
            self.fill()
            if isinstance(error, ConflictError):  # the branch moved past us: read it, which marks the conflicts
                self.console.live.refresh(self.session.env)

        self.run_git(self.session.commit, message, then=self.committed, what="Commit failed", on_error=failed,
                     group="write")

    def action_break_glass(self) -> None:
        """An admin commits the pending edits directly to the protected environment, giving a reason; anyone else
        is refused with a one-line notice."""
        status = self.query_one("#review-status", Static)
        env = self.session.env
        if not self.session.can(access.Action.BREAK_GLASS):
            status.update(f"✗ breaking glass in {env} is for admins (role {self.session.role()}): "
                          "⏎ proposes the edits instead")
            return
        if self.console.insight.open_conflicts():
            status.update("✗ conflict(s) to resolve first: select an edit marked CONFLICT and press x")
            return
        message = self.query_one("#commit-message", TextBox).text.strip() or self.session.proposed_message()

        def answered(values: dict[str, str] | None) -> None:
            if not values:
                return
            status.update("committing (breaking glass)…")
            self.run_git(break_glass_commit, self.session, values["reason"], message, then=self.committed,
                         what="Break glass failed", on_error=lambda _: self.fill(), group="write")

        self.app.push_screen(PromptModal(f"Break glass: commit directly to protected {env}", [
            Field("reason", "Reason (recorded in the commit and the audit log)", "", check=non_empty,
                  placeholder="e.g. incident 42, nobody to approve")]), answered)

    def action_schedule(self) -> None:
        """Ask for a time (UTC), then record the pending edits as a schedule (one commit)."""
        from app.screens.modals.schedule import ScheduleModal

        status = self.query_one("#review-status", Static)
        if self.console.insight.open_conflicts():
            status.update("✗ conflict(s) to resolve first: select an edit marked CONFLICT and press x")
            return
        message = self.query_one("#commit-message", TextBox).text.strip()
        if message == self.session.proposed_message():
            message = ""  # Flipt's form, written when it runs (the scheduler's own subject then)
        try:
            what = [c.describe() for c in change_set(self.session)]
        except FlagdeckError as exc:
            status.update(f"✗ {exc}")
            return
        insight = self.console.insight

        def answered(values: dict[str, Any] | None) -> None:
            if not values:
                return
            status.update("scheduling…")
            self.run_git(schedule_pending, self.session, values["at"], values["missed"], message,
                         then=self.scheduled, what="Could not schedule the edits", on_error=lambda _: self.fill(),
                         group="write")

        self.app.push_screen(ScheduleModal(self.session.env, what, self.session.clock,
                                           (insight.impact_jobs(), insight.sample, insight.population_size),
                                           protected=is_protected(self.session)), answered)

    def scheduled(self, result: tuple[Any, Any]) -> None:
        made, commit = result
        if not isinstance(commit, CommitResult):  # a protected environment: proposed
            self.proposed(commit)
            return
        self.notify_commit(f"Scheduled {made.id} for {made.at.strftime('%Y-%m-%d %H:%M')} UTC: "
                           f"committed {commit.commit[:8]}", commit)
        self.app.pop_screen()
        self.console.environment_changed()

    def propose(self, values: dict[str, str], message: str) -> None:
        self.query_one("#review-status", Static).update("proposing…")
        self.run_git(propose_pending, self.session, self.console.proposals, values, message, then=self.proposed,
                     what="Could not propose the edits", on_error=lambda _: self.fill(), group="write")

    def proposed(self, status: Any) -> None:
        from app.screens.proposal import ProposalScreen

        self.notify(f"Proposed {status.id} for {status.proposal.environment} (branch {status.proposal.branch})",
                    markup=False)
        self.app.pop_screen()
        self.console.environment_changed()
        self.app.push_screen(ProposalScreen(status.id))

    def action_resolve(self) -> None:
        """Open the side-by-side dialog for the highlighted pending edit (if it is a conflict)."""
        p = self.selected()
        conflict = self.console.insight.conflict_for(p) if p is not None else None
        if conflict is None:
            self.notify("The selected edit has no conflict.")
            return

        def done(outcome: tuple[str, Any] | None) -> None:
            if outcome is None:
                return
            choice, value = outcome
            self.console.insight.settle(conflict, value if choice != "mine" else conflict.mine,
                                        keep=choice != "theirs")
            self.notify({"mine": "Kept your version", "theirs": "Took their version",
                         "merge": "Merged field by field"}[choice] + f" of {conflict.pending.change.resource}")
            self.fill()

        self.app.push_screen(ConflictModal(conflict), done)

    def committed(self, result: CommitResult) -> None:
        rebased = " (rebased onto newer commits)" if result.rebased else ""
        self.notify_commit(f"Committed {result.commit[:8]}{rebased}", result)
        self.app.pop_screen()
        self.console.environment_changed()

    def reload(self) -> None:
        self.fill()
