"""Where the console was left, per configuration file: the environment last open and the namespace last open in
each environment, in `last-place.json` under the user's state directory (`app.insight.recents.state_dir`; the SSH
server gives each person their own). `flagdeck console` opens there unless `--env`/`--namespace` say otherwise.
Nothing here imports Textual; a damaged or unreadable file is ignored (the console opens the configured default)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.insight.recents import state_dir, write_json

PLACE_FILE = "last-place.json"


@dataclass(frozen=True)
class Place:
    env: str | None
    namespace: str | None


class LastPlace:
    def __init__(self, config: Path, path: Path | None = None) -> None:
        self.key = str(Path(config).resolve())
        self.path = path if path is not None else state_dir() / PLACE_FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and isinstance(data.get("configs"), dict) else {}

    def get(self, env: str | None = None) -> Place:
        """The environment last open (or `env`) and the namespace last open in it."""
        entry = self._read().get("configs", {}).get(self.key)
        if not isinstance(entry, dict):
            return Place(None, None)
        chosen = env or entry.get("env")
        namespaces = entry.get("namespaces")
        found = namespaces.get(chosen) if isinstance(namespaces, dict) and chosen else None
        return Place(chosen if isinstance(chosen, str) else None, found if isinstance(found, str) else None)

    def remember(self, env: str, namespace: str) -> None:
        """Best effort: a state directory that cannot be written only means the console will not remember."""
        data = self._read() or {"configs": {}}
        entry = data["configs"].setdefault(self.key, {})
        if not isinstance(entry, dict):
            entry = data["configs"][self.key] = {}
        entry["env"] = env
        namespaces = entry.setdefault("namespaces", {})
        if isinstance(namespaces, dict):
            namespaces[env] = namespace
        try:
            write_json(self.path, data)
        except OSError:
            pass
