"""The flag list of one namespace: filter as you type, sort, open, toggle, create, duplicate, delete, promote."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from app.insight.served import may_differ
from app.screens.flag_rows import FlagRows, change_words
from app.screens.flags_lifecycle import LIFECYCLE_BINDINGS
from app.screens.modals.choose import ChooseModal
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.promote import PromoteModal
from app.screens.modals.prompt import Field, PromptModal, key_check, non_empty
from app.screens.proposal import is_protected
from app.session import PromotionPreview
from app.widgets.flag_table import FlagTable
from app.widgets.key_footer import KeyFooter
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType


class FlagsScreen(FlagRows):
    SCREEN_TITLE = "Flag list"
    BINDINGS = [
        Binding("enter", "open", "Open",
                tooltip="Edit the highlighted flag"),
        Binding("space", "toggle_flag", "Toggle",
                tooltip="Switch the highlighted flag on or off (pending until committed)"),
        Binding("n", "new", "New",
                tooltip="Create a flag"),
        Binding("slash", "filter", "Filter", priority=True,  # as the key arrives: what follows is the filter's
                tooltip="Show only the flags whose key or name holds what you type"),
        Binding("e", "evaluate", "Evaluate",
                tooltip="Evaluate flags for an entity and see why they answer so"),
        Binding("h", "history", "History",
                tooltip="The commits that changed the highlighted flag; revert one"),
        Binding("c", "duplicate", "Duplicate", show=False,
                tooltip="Copy the highlighted flag under a new key"),
        Binding("d", "delete", "Delete", show=False,
                tooltip="Delete the highlighted flag (pending until committed)"),
        Binding("p", "promote", "Promote", show=False,
                tooltip="Copy the highlighted flag and its segments to another environment, after a preview"),
        Binding("s", "sort", "Sort", show=False,
                tooltip="Sort by the next column (the same column again: reverse)"),
        Binding("H", "history_namespace", "Namespace history", show=False,
                tooltip="The commits that changed this namespace"),
        Binding("r", "reload", "Reload", show=False,
                tooltip="Read the environment again"),
        Binding("down", "to_list", "To the list", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False,
                tooltip="Show every flag again"),
        *LIFECYCLE_BINDINGS,
    ]

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static("", id="problems", classes="problems")
        yield Input(placeholder="filter flags by key or name; owner:NAME lifecycle:temporary is:stale", id="filter")
        yield FlagTable(id="flags")
        yield Static("loading…", id="flags-status", classes="status-line")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.trend_cache = {}
        self.query_one("#filter", Input).display = False
        self.query_one("#problems", Static).display = False
        self.query_one(FlagTable).focus()
        self.reload()

    WRITES = frozenset({"toggle_flag", "new", "duplicate", "delete", "cleanup"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only roles do not see the editing keys (the context line says read-only); pressing them does
        nothing."""
        return False if action in self.WRITES and not self.session.can_edit() else True

    # ----- loading ----------------------------------------------------------------------------------------------
    def reload(self) -> None:
        self.run_git(self._load, then=self._loaded, what="Could not read the namespace", exclusive=True, group="load")

    def _load(self) -> None:
        # the documents are built after the list is on screen (`_build`): it is shown from the file's plain data
        self.session.open(build=False) if not self.session.env_names else self.session.load(build=False)

    def _loaded(self, _: object = None) -> None:
        self.show_rows()
        self.call_after_refresh(self._load_changes)  # after the list is on screen: they compete for the GIL
        self.call_after_refresh(self._build)

    def _build(self) -> None:
        """Build the namespace's document in a worker (what opening, toggling or evaluating a flag reads; another
        namespace's when it is opened), then show what needs it: boolean flags' served values, the evaluation
        counts."""
        self.run_git(self.session.build_documents, None, self.session.namespace, then=self._built,
                     what="Could not read the namespace", group="build", exclusive=True)

    def _built(self, _: object = None) -> None:
        if self.served_pending:  # rows shown from plain data: their boolean flags that may differ, evaluated now
            self.show_rows()
        self.load_counts()

    def _load_changes(self) -> None:
        self.run_git(self.session.load_last_changes, None, None, 50, then=lambda _: self.changes_loaded(),
                     group="history", exclusive=True, what="Could not read the history")

    def changes_loaded(self) -> None:
        """Put the change times read from the history into the rows shown (the only field they change)."""
        s = self.session
        changed, now = s.last_change.get((s.env, s.namespace), {}), s.clock()
        agos = change_words(changed, now)
        patch: dict[str, dict[str, Any]] = {}
        for row in self.query_one(FlagTable).rows:
            ago = agos.get(row.key, "")
            if ago != row.changed:
                patch[row.key] = {"changed": ago}
        self.query_one(FlagTable).patch_rows(patch)

    def show_rows(self) -> None:
        s = self.session
        changed = s.last_change.get((s.env, s.namespace), {})
        pending = {p.change.key for p in s.pending_for() if p.change.kind is Kind.FLAG
                   and p.change.namespace == s.namespace}
        now = s.clock()
        self.unknown_served: list[Flag] = []
        plain = s.plain_flags()
        if plain is not None:  # the document is not built yet (`_build`)
            doc = None
            rows, self.served_pending = self.plain_rows(plain, changed, pending, now)
        else:
            doc = s.document()
            rows, self.served_pending = self.rows(doc.flags if doc else (), changed, pending, now, doc), False
        if self.unknown_served:  # evaluate those flags in a worker, then show the rows again
            flags, served = self.unknown_served, self.console.insight.served
            self.run_git(lambda: [served.compute(doc, f) for f in flags], then=lambda _: self.show_rows(),
                         what="Could not evaluate the boolean flags", exclusive=True, group="served")
        self.query_one(FlagTable).set_rows(rows)
        problems = s.problems(namespace=s.namespace)
        panel = self.query_one("#problems", Static)
        missing = doc is None and plain is None
        panel.display = bool(problems) or missing
        if missing and not problems:
            panel.update(f"Namespace {s.namespace!r} does not exist in environment {s.env!r}.")
        else:
            panel.update("\n".join(f"{'⚠' if p.severity == 'warning' else '✗'} {p}" for p in problems))
        self.update_status()
        self.update_context()
        self.refresh_bindings()

    def redraw(self) -> None:
        if self.session.snapshot() is not None:
            self.show_rows()

    def update_status(self) -> None:
        table = self.query_one(FlagTable)
        snap = self.session.snapshot()
        commit = f"  │  at {snap.commit[:8]}" if snap and snap.commit else ""
        text = f"{table.row_count:,} of {table.total:,} flags  │  sorted by {table.sort_column}"
        if self.counts_note:
            text += f"  │  {self.counts_note}"
        self.query_one("#flags-status", Static).update(text + commit)

    # ----- filter and sort ----------------------------------------------------------------------------------
    def action_filter(self) -> None:
        """Show the filter and give it the focus at once: keys typed right after `/` (which arrive together over
        SSH or from a fast typist) filter, where they went to the list (n: new flag, d: delete, space: toggle)."""
        box = self.query_one("#filter", Input)
        if self.focused is box:
            raise SkipAction()  # a `/` typed in the filter
        box.display = True
        self.set_focus(box)

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(FlagTable).set_filter(event.value)
        self.update_status()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        """`enter` in the filter opens the highlighted flag (the filter stays, the list has the focus after)."""
        self.query_one(FlagTable).focus()
        self.action_open()

    def action_to_list(self) -> None:
        """`down` in the filter moves to the list (the list's own `down` moves its cursor)."""
        self.query_one(FlagTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.query_one(FlagTable).set_filter("")
            self.query_one(FlagTable).focus()
            self.update_status()

    def action_sort(self) -> None:
        table = self.query_one(FlagTable)
        attrs = [attr for _, attr, _ in table.columns]
        at = attrs.index(table.sort_column) if table.sort_column in attrs else -1
        table.sort_by(attrs[(at + 1) % len(attrs)])
        self.update_status()

    # ----- actions on the selected flag ---------------------------------------------------------------------
    def current(self) -> Flag | None:
        key = self.query_one(FlagTable).current_key
        flag = self.session.find(Kind.FLAG, key) if key else None
        return flag if isinstance(flag, Flag) else None

    def stage(self, flag: Flag | None, key: str) -> None:
        s = self.session
        s.stage(Change(s.namespace, Kind.FLAG, key, flag))
        pending = {key} if s.is_pending(Kind.FLAG, key) else set()
        changed = s.last_change.get((s.env, s.namespace), {})
        doc = s.document() if flag is not None and may_differ(flag) else None  # only then is it evaluated
        row = self.row(flag, changed, pending, s.clock(), doc, compute=True) if flag is not None else None
        if row is None or not self.query_one(FlagTable).replace_row(row):
            self.show_rows()
        self.update_context()

    def action_open(self) -> None:
        flag = self.current()
        if flag is not None:
            from app.screens.flag_editor import FlagEditorScreen

            self.app.push_screen(FlagEditorScreen(flag))

    @on(FlagTable.Opened, "#flags")
    def opened(self) -> None:
        self.action_open()

    def action_toggle_flag(self) -> None:
        flag = self.current()
        if flag is not None and self.check_write():
            self.stage(flag.model_copy(update={"enabled": not flag.enabled}), flag.key)

    def action_evaluate(self) -> None:
        from app.screens.evaluate import EvaluateScreen

        flag = self.current()
        self.app.push_screen(EvaluateScreen(flag.key if flag else None))

    def action_history(self) -> None:
        from app.screens.history import HistoryScreen

        flag = self.current()
        self.app.push_screen(HistoryScreen(flag.key if flag else None))

    def action_history_namespace(self) -> None:
        from app.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(None))

    def action_reload(self) -> None:
        self.reload()

    def existing_keys(self) -> set[str]:
        doc = self.session.document()
        return {f.key for f in doc.flags} if doc else set()

    def action_new(self) -> None:
        if not self.check_write():
            return
        fields = [Field("key", "Key", check=key_check(self.existing_keys()), placeholder="e.g. new-checkout"),
                  Field("name", "Name", check=non_empty, placeholder="shown to people"),
                  Field("type", "Type", "variant", choices=(("variant: serves one of its variants", "variant"),
                                                           ("boolean: serves true or false", "boolean")))]

        def created(values: dict[str, str] | None) -> None:
            if values:
                kind = FlagType.BOOLEAN if values["type"] == "boolean" else FlagType.VARIANT
                self.stage(Flag(key=values["key"], name=values["name"], type=kind), values["key"])
                self.query_one(FlagTable).move_to(values["key"])

        self.app.push_screen(PromptModal("New flag", fields), created)

    def action_duplicate(self) -> None:
        flag = self.current()
        if flag is None or not self.check_write():
            return
        fields = [Field("key", "Key of the copy", f"{flag.key}-copy", key_check(self.existing_keys())),
                  Field("name", "Name", f"{flag.name} (copy)", non_empty)]

        def copied(values: dict[str, str] | None) -> None:
            if values:
                self.stage(flag.model_copy(update=values), values["key"])
                self.query_one(FlagTable).move_to(values["key"])

        self.app.push_screen(PromptModal(f"Duplicate {flag.key}", fields), copied)

    def action_delete(self) -> None:
        flag = self.current()
        if flag is None or not self.check_write():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stage(None, flag.key)

        self.app.push_screen(ConfirmModal("Delete flag", f"Delete flag {flag.key!r}? (pending until committed)",
                                          "Delete"), answered)

    def confirm_promote(self, key: str, target: str, preview: PromotionPreview | None) -> None:
        """Show what the promotion changes in the target (the impact there and its file's diff), naming the
        target, and promote only on yes."""
        if preview is None:
            self.notify(f"{target} already has {key} as it is here: nothing to promote.")
            return
        if preview.diff.error:
            self.show_error("Promote", f"{target}: {preview.diff.error}")
            return

        protected = is_protected(self.session, target)

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if protected:  # a branch of the target receives the promotion, and is proposed
                self.run_git(self.session.promote_proposal, self.console.proposals, target, key,
                             what=f"Could not propose promoting {key}", then=self.promotion_proposed, group="write")
                return
            self.run_git(self.session.promote, target, key, what=f"Could not promote {key}",
                         then=lambda r: self.notify_commit(f"Promoted {key} to {target} ({r.commit[:8]})", r,
                                                           target))

        insight = self.console.insight
        self.app.push_screen(PromoteModal(key, target, self.session.namespace, preview, insight.sample,
                                          insight.population_size, protected), answered)

    def promotion_proposed(self, status: Any) -> None:
        from app.screens.proposal import ProposalScreen

        self.notify(f"Proposed {status.id}: promotion into {status.proposal.environment} "
                    f"(branch {status.proposal.branch})", markup=False)
        self.console.environment_changed()
        self.app.push_screen(ProposalScreen(status.id))

    def action_promote(self) -> None:
        flag = self.current()
        if flag is None:
            return
        if self.session.is_pending(Kind.FLAG, flag.key):
            self.show_error("Promote", f"{flag.key!r} has pending edits: commit or discard them first.")
            return
        snap = self.session.snapshot()
        envs = [name for name in sorted(self.session.env_names) if name != self.session.env]
        if not envs:
            self.show_error("Promote", "There is no other environment to promote to.")
            return

        def chosen(target: str | None) -> None:
            if target:
                self.run_git(self.session.promotion_preview, target, flag.key, what="Could not preview the promotion",
                             then=lambda preview: self.confirm_promote(flag.key, target, preview))

        title = f"Promote {flag.key} (as committed at {snap.commit[:8] if snap else '?'}) to…"
        self.app.push_screen(ChooseModal(title, [(e, e) for e in envs]), chosen)
