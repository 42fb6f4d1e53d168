"""Every environment: repository, branch, directory, served commit, sync state and validation problems; each
branch environment (gitstore/branches.py) listed under its base with how far it is ahead of and behind it."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from app.screens.base import BACK, BaseScreen, sync_text
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.prompt import Field, PromptModal
from app.widgets.key_footer import KeyFooter
from gitstore.branches import name_problem


def short_path(path: Any, config_path: Any) -> str:
    """The repository path relative to the configuration file when it lies beside it."""
    try:
        return str(path.relative_to(config_path.parent))
    except (AttributeError, ValueError):
        return str(path)


Row = tuple[Any, Any, Any, Any]  # environment info, snapshot, sync state, BranchInfo (a branch environment's)


def gather(session: Any) -> list[Row]:
    """Blocking: (environment info, snapshot, sync state, branch standing) for every environment, each branch
    environment right after its base; an environment the user has no role in is listed without reading it
    (snapshot, state and standing None)."""
    envs = session.environments()
    ordered = []
    for base in (env for env in envs if env.base is None):
        ordered += [base, *(env for env in envs if env.base == base.name)]
    standing = {b.key: b for base in {env.base for env in envs if env.base} if session.can_read(base)
                for b in session.store.branches(base)}
    rows: list[Row] = []
    for env in ordered:
        if not session.can_read(env.name):
            rows.append((env, None, None, None))
            continue
        snap = session.load(env.name)
        rows.append((env, snap, session.sync.get(env.name), standing.get(env.name)))  # `load` read the state
    return rows


def active_proposals(proposals: Any) -> dict[str, Any]:
    """Blocking: branch environment key -> the open or approved proposal that carries it."""
    return {s.proposal.branch: s for s in proposals.all() if s.state.value in ("open", "approved")}


def propose_dialog(target: str, branch: str) -> Any:
    from app.screens.modals.prompt import Field, PromptModal, non_empty

    return PromptModal(f"Propose {branch} for {target}",
                       [Field("title", "Title", check=non_empty, placeholder="what the change does"),
                        Field("description", "Description", placeholder="why (optional)")])


def versus_base(branch: Any) -> str:
    return f"{branch.ahead} ahead, {branch.behind} behind" if branch is not None else ""


class EnvironmentsScreen(BaseScreen):
    SCREEN_TITLE = "Environment list"
    BINDINGS = [
        Binding("enter", "open", "Open",
                tooltip="Show the highlighted environment's flags"),
        Binding("f", "fetch", "Fetch",
                tooltip="Fetch the environment's remote now"),
        Binding("p", "push", "Push",
                tooltip="Push the environment's local commits now"),
        Binding("r", "reload", "Reload", show=False,
                tooltip="Read every environment again"),
        Binding("b", "branch", "Branch",
                tooltip="Create a branch environment of the highlighted environment (Git branch flipt/ENV/NAME)"),
        Binding("d", "delete_branch", "Delete branch",
                tooltip="Delete the highlighted branch environment, on the remote too"),
        Binding("P", "propose", "Propose",
                tooltip="Propose the highlighted branch environment's changes for its base (title, description)"),
        Binding("v", "proposals", "Proposals",
                tooltip="The change proposals of the highlighted environment (of its base, for a branch)"),
        Binding("W", "webhooks", "Webhooks",
                tooltip="Webhook deliveries: where each webhook stands, and what was sent, is retrying or failed"),
        BACK,
    ]

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield DataTable(id="environments", cursor_type="row")
        with VerticalScroll(classes="list"):
            yield Static("loading…", id="env-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.rows: list[Row] = []
        self.proposed: dict[str, Any] = {}  # branch environment -> its active proposal's Status
        table = self.query_one(DataTable)
        self.columns = table.add_columns("", "Environment", "Branch", "Directory", "Commit", "Sync", "State",
                                         "Vs base")
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.run_git(gather, self.session, then=self.fill, what="Could not read the environments",
                     exclusive=True, group="load")

    def action_reload(self) -> None:
        self.reload()

    def fill(self, rows: list[Row]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        for env, snap, state, branch in rows:
            errors = [p for p in snap.problems if p.severity == "error"] if snap else []
            mark = "•" if env.name == self.session.env else ""
            if not self.session.can_read(env.name):
                status = "no access"
            else:
                status = f"✗ {len(errors)} error(s)" if errors else "ok"
            name = f"└ {env.name}" if env.base else env.name + (" (default)" if env.default else "")
            table.add_row(mark, name, env.branch, env.directory or "/", (snap.commit or "")[:8] if snap else "-",
                          (sync_text(state) or "local only") if snap else "-", status, versus_base(branch),
                          key=env.name)
        names = [env.name for env, _, _, _ in rows]
        if self.session.env in names:
            table.move_cursor(row=names.index(self.session.env))
        self.show_detail()
        self.update_context()
        self.load_proposals()

    def load_proposals(self) -> None:
        if any(env.base for env, *_ in self.rows):
            self.run_git(active_proposals, self.console.proposals, then=self.fill_proposals,
                         what="Could not read the proposals", exclusive=True, group="proposals")

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.load_proposals()  # back from a proposal made, merged or closed

    def fill_proposals(self, found: dict[str, Any]) -> None:
        """Each branch row says which proposal carries it, next to how far it is ahead of and behind its base."""
        self.proposed = found
        table = self.query_one(DataTable)
        for env, _, _, branch in self.rows:
            status = found.get(env.name)
            if env.base and status is not None:
                table.update_cell(env.name, self.columns[-1], f"{versus_base(branch)} · {status.id} "
                                  f"{status.state.value}")
        self.show_detail()

    def selected(self) -> Row | None:
        row = self.query_one(DataTable).cursor_row
        return self.rows[row] if self.rows and 0 <= row < len(self.rows) else None

    def show_detail(self) -> None:
        item = self.selected()
        if item is None:
            return
        env, snap, state, branch = item
        where = short_path(env.path, self.session.store.config.path)
        lines = [f"{env.name}: repository {where}  branch {env.branch}  directory {env.directory or '/'}"
                 f"  role: {self.session.role(env.name)}"]
        if env.base:
            standing = f": {versus_base(branch)} {env.base}" if branch is not None else ""
            since = f" (branched at {branch.merge_base[:8]})" if branch is not None and branch.merge_base else ""
            lines.append(f"branch environment of {env.base}{standing}{since}; the role is the one in {env.base}")
            status = self.proposed.get(env.name)
            lines.append(f"proposed as {status.id} ({status.state.value}): {status.proposal.title}" if status
                         else f"not proposed (P proposes it for {env.base})")
        if state is not None and state.remote:
            lines.append(f"remote {state.remote}: {sync_text(state)}"
                         + (f"  last error: {state.last_error}" if state.last_error else ""))
        lines += [f"{'⚠' if p.severity == 'warning' else '✗'} {p}" for p in (snap.problems if snap else [])]
        self.query_one("#env-detail", Static).update("\n".join(lines))

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        item = self.selected()
        if item is None:
            return
        if not self.session.can_read(item[0].name):
            self.show_error(f"Open {item[0].name}", f"Not allowed: you have no role in {item[0].name!r} "
                            "(an environment without a role cannot be read).")
            return
        self.console.switch_to(env=item[0].name)

    def action_branch(self) -> None:
        item = self.selected()
        if item is None:
            return
        env = item[0]
        if env.base is not None:
            self.show_error(f"Branch {env.name}", f"{env.name!r} is a branch of {env.base!r}; a branch cannot be "
                            f"branched (highlight {env.base} instead).")
            return
        if not self.session.can_edit(env.name):
            self.show_error(f"Branch {env.name}", f"Not allowed: you are {self.session.role(env.name)} in "
                            f"{env.name!r}; creating a branch needs editor.")
            return
        taken = {e.name for e, *_ in self.rows}

        def chosen(values: dict[str, str] | None) -> None:
            if values:
                self.run_git(self.session.store.branch, env.name, values["name"].strip(), self.session.author_obj(),
                             what=f"Could not branch {env.name}", then=self.branched, group="write")

        name = Field("name", "Name", check=partial(name_problem, taken=taken), placeholder="e.g. try-new-checkout")
        self.app.push_screen(PromptModal(f"Branch {env.name}", [name]), chosen)

    def branched(self, info: Any) -> None:
        self.app.notify(f"Created branch environment {info.name} of {info.base} (Git branch {info.branch})",
                        title="Branch created", markup=False)
        self.reload()

    def highlighted_branch(self, doing: str, why: str) -> Any:
        """The highlighted row's environment when it is a branch; otherwise None (a configured environment: the
        error says `why` `doing` needs a branch)."""
        item = self.selected()
        if item is None:
            return None
        env = item[0]
        if env.base is None:
            self.show_error(f"{doing} {env.name}", f"{env.name!r} is a configured environment{why}")
            return None
        return env

    def action_delete_branch(self) -> None:
        env = self.highlighted_branch("Delete", ", not a branch: only branch environments are deleted here.")
        if env is None:
            return
        name = env.branch.rsplit("/", 1)[-1]

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_git(self.session.store.delete_branch, env.base, name, what=f"Could not delete {env.name}",
                             then=lambda _: self.deleted(env.name), group="write")

        self.app.push_screen(ConfirmModal("Delete branch environment", f"Delete branch environment {env.name} of "
                                          f"{env.base} (Git branch {env.branch}), here and on the remote? Its "
                                          "commits that were not merged are no longer reachable from any branch.",
                                          yes="Delete"), answered)

    def deleted(self, name: str) -> None:
        if self.session.env == name:
            self.session.env = ""  # the next switch settles on the default environment
        self.app.notify(f"Deleted branch environment {name}", title="Branch deleted", markup=False)
        self.reload()

    def action_proposals(self) -> None:
        from app.screens.proposals import ProposalsScreen

        item = self.selected()
        if item is not None:
            env = item[0]
            self.app.push_screen(ProposalsScreen(env.base or env.name))

    def action_webhooks(self) -> None:
        from app.screens.deliveries import DeliveriesScreen

        self.app.push_screen(DeliveriesScreen())

    def action_propose(self) -> None:
        env = self.highlighted_branch("Propose", ": a proposal is made from a branch environment (b branches it, "
                                                 "edit there, then P on the branch).")
        if env is None:
            return
        status = self.proposed.get(env.name)
        if status is not None:
            self.open_proposal(status)
            return
        self.app.push_screen(propose_dialog(env.base, env.name),
                             lambda values: self.propose(env, values) if values else None)

    def propose(self, env: Any, values: dict[str, str]) -> None:
        self.run_git(self.console.proposals.propose, env.base, env.name, values["title"], values["description"],
                     self.session.author_obj(), what=f"Could not propose {env.name}", then=self.open_proposal,
                     group="write")

    def open_proposal(self, status: Any) -> None:
        from app.screens.proposal import ProposalScreen

        self.app.push_screen(ProposalScreen(status.id))

    def action_fetch(self) -> None:
        item = self.selected()
        if item is not None:
            self.run_git(self.session.store.fetch, item[0].name, what=f"Fetch of {item[0].name} failed",
                         then=lambda _: self.reload(), group="write")

    def action_push(self) -> None:
        item = self.selected()
        if item is not None:
            self.run_git(self.session.store.push, item[0].name, what=f"Push of {item[0].name} failed",
                         then=lambda _: self.reload(), group="write")
