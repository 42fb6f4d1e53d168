"""The console's data layer: what the user is looking at, the edits waiting to be committed, and the calls into the
store. Nothing here imports Textual. `Session` is built in layers: its state and roles (`app.session_state`), its
reads of the store (`app.session_loading`), the pending edits and their commit (`app.session_edits`); here, the
commits that are not pending edits (revert, restore, promote) and the promotion's preview. Methods marked
*blocking* reach Git and are called from workers only; the rest work on data already loaded and are cheap enough
for the event loop."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from app.session_edits import SessionEdits
from gitstore.model.changes import apply_to_document

if TYPE_CHECKING:
    from gitstore.model.documents import Document
    from gitstore.results import CommitResult


class PromotionPreview(NamedTuple):
    """What a promotion would do in the target environment: its file's diff, the namespace before and after."""

    diff: Any  # app.insight.file_diff.FileDiff
    before: Document | None
    after: Document | None


def relative_time(then: datetime | None, now: datetime) -> str:
    """`just now`, `5m ago`, `3h ago`, `2d ago`, else the date."""
    if then is None:
        return ""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size, limit in (("m", 60, 3600), ("h", 3600, 86400), ("d", 86400, 86400 * 30)):
        if seconds < limit:
            return f"{int(seconds // size)}{unit} ago"
    return then.strftime("%Y-%m-%d")


class Session(SessionEdits):
    """The console's state over one Store: environment, namespace, author, roles and the pending edits."""

    # ----- commits that are not pending edits (blocking: workers only) ----------------------------------------
    def revert(self, commit: str, flag: str | None = None) -> CommitResult:
        """Blocking: undo what `commit` changed in the namespace (or the flag); see `gitstore.model.revert`."""
        result = self.store.revert(self.env, self.namespace, commit, flag=flag, author=self.author_obj())
        self.seen[self.env] = self.load()  # one's own commit is no news
        return result

    def restore(self, commit: str, flag: str | None = None) -> CommitResult:
        """Blocking: put the namespace (or the flag) back as it was at `commit`."""
        result = self.store.restore(self.env, self.namespace, commit, flag=flag, author=self.author_obj())
        self.seen[self.env] = self.load()  # one's own commit is no news
        return result

    def promote(self, target: str, flag: str | None = None) -> CommitResult:
        result = self.store.promote(self.env, target, self.namespace, flag=flag, author=self.author_obj())
        self.refresh_sync(target)
        return result

    def promote_proposal(self, proposals: Any, target: str, flag: str | None = None) -> Any:
        """Blocking: promotion into a protected `target` as a proposal (`Proposals.promote`: a branch of the target
        receives the promotion and is proposed); returns the proposal's status."""
        status = proposals.promote(self.env, target, self.namespace, flag, self.author_obj())
        self.environments()  # the new branch is an environment now
        return status

    def promotion_preview(self, target: str, flag: str | None = None) -> PromotionPreview | None:
        """Blocking: what promoting the flag (with the segments it uses), or the whole namespace, from this
        environment as committed would change in `target`: its file's diff and the namespace there before and
        after (for the impact preview), or None when nothing would change."""
        from app.insight.file_diff import file_diff
        from gitstore.model.changes import promotion_changes

        source, dest = self.store.snapshot(self.env), self.store.snapshot(target)
        doc = source.document(self.namespace)
        if doc is None:
            raise ValueError(f"namespace {self.namespace!r} has no valid document in {self.env}")
        changes = promotion_changes(self.namespace, doc, dest.document(self.namespace), flag)
        if not changes:
            return None
        directory = self.info(target).directory or ""
        before = dest.document(self.namespace)
        return PromotionPreview(file_diff(dest, directory, self.namespace, changes), before,
                                apply_to_document(before, changes))
