"""Flagdeck's storage and domain model: Flipt-format documents on Git branches.

Layers, each importing only the ones below it (docs/architecture.md; import-linter checks it):

- `store.py` (the Store), `protocols.py` (what the evaluator and the app need of it), `doctor.py`, `demo.py` —
  the top, what callers use;
- `git/` — repositories, snapshots, the tree edits of a commit, history, remotes, watching, crash safety;
- `config.py` (flagdeck.yaml: reading it, and gitstore's sections), `roles.py` (who may do what);
- `edit/` — the minimal-diff writer of one namespace file (pure text);
- `format/` — reading, validating and emitting feature files (YAML/JSON, limits, line numbers);
- `model/` — the documents, the resource-level changes a write asks for, revert and restore plans;
- `errors.py`, `results.py`, `gcpause.py` — plain values and a small helper every layer may use.
"""

# yaml_rs 0.1.6 crashes the process when it was first imported by a thread that has since ended (seen with the
# store's repository threads and Textual workers). Importing it here, with the package, makes the first import
# happen on whichever thread first touches gitstore, which in practice is the main thread. It costs ~4 ms.
import yaml_rs  # noqa: F401
