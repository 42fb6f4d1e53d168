"""Recent evaluation inputs (entity id + context) remembered per namespace, in a small JSON file under the user's
state directory: `$FLAGDECK_STATE_DIR`, else `$XDG_STATE_HOME/flagdeck`, else `~/.local/state/flagdeck`.
Nothing here imports Textual. A damaged file is never overwritten: it is moved aside (`.bad`) and reported."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STATE_ENV = "FLAGDECK_STATE_DIR"
RECENT_FILE = "recent-contexts.json"
KEEP = 8  # per namespace


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get(STATE_ENV):
        return Path(environ[STATE_ENV])
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "flagdeck"


def context_text(context: Mapping[str, str]) -> str:
    """{"plan": "pro", "country": "de"} -> `plan=pro, country=de` (what the context box accepts)."""
    return ", ".join(f"{k}={v}" for k, v in context.items())


@dataclass(frozen=True)
class Recent:
    entity: str
    context: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        pairs = context_text(self.context)
        return f"{self.entity or '(no entity id)'}  {pairs}" if pairs else self.entity or "(no entity id)"


def _parse(data: object, path: Path) -> dict[str, list[Recent]]:
    if not isinstance(data, dict) or not isinstance(data.get("namespaces"), dict):
        raise ValueError(f'{path}: expected {{"namespaces": {{NAMESPACE: [...]}}}}')
    out: dict[str, list[Recent]] = {}
    for namespace, items in data["namespaces"].items():
        if not isinstance(items, list):
            raise ValueError(f"{path}: namespaces.{namespace}: expected a list")
        for i, item in enumerate(items):
            ok = isinstance(item, dict) and isinstance(item.get("entity"), str) and isinstance(item.get("context"), dict)
            if not ok or not all(isinstance(v, str) for v in item["context"].values()):
                raise ValueError(f"{path}: namespaces.{namespace}[{i}]: expected "
                                 '{"entity": "...", "context": {"key": "value"}}')
            out.setdefault(namespace, []).append(Recent(item["entity"], dict(item["context"])))
    return out


class RecentContexts:
    """`recent(ns)` newest first; `remember(ns, entity, context)` saves at once. `error` says what went wrong with
    the file (read or write), if anything; the console shows it and keeps working from memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_dir() / RECENT_FILE
        self.error = ""
        self._damaged = False
        self._items: dict[str, list[Recent]] = {}
        self.load()

    def load(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.error = f"{self.path}: cannot read: {exc.strerror or exc}"
            return
        try:
            self._items = _parse(json.loads(raw), self.path)
        except json.JSONDecodeError as exc:
            self.error = f"{self.path}:{exc.lineno}: not JSON ({exc.msg}); it will be kept as {self.path.name}.bad"
            self._damaged = True
        except ValueError as exc:
            self.error = f"{exc}; it will be kept as {self.path.name}.bad"
            self._damaged = True

    def recent(self, namespace: str) -> list[Recent]:
        return list(self._items.get(namespace, ()))

    def remember(self, namespace: str, entity: str, context: Mapping[str, str]) -> None:
        item = Recent(entity, dict(context))
        items = [r for r in self._items.get(namespace, []) if r != item]
        self._items[namespace] = [item, *items][:KEEP]
        self.save()

    def save(self) -> None:
        data = {"namespaces": {ns: [{"entity": r.entity, "context": r.context} for r in items]
                               for ns, items in sorted(self._items.items())}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._damaged and self.path.exists():
                os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
            self._damaged = False
            write_json(self.path, data)
        except OSError as exc:
            self.error = f"{self.path}: cannot write: {exc.strerror or exc}"


def write_json(path: Path, data: object) -> None:
    """Write a small JSON file whole or not at all (a temporary file renamed over it); OSError when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
