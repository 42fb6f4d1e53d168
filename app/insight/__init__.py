"""Console insight (issue 6): why an evaluation came out as it did, what a pending change will do to a sample
population, and live refresh with conflicts shown instead of overwritten.

- `recents`: entity ids and contexts remembered per namespace (a JSON file in the state directory)
- `explain`: evaluations with the engine's trace, over the document as edited
- `impact`: which flags a pending change affects and how a sample population's results move
- `moves`: what changed on a branch that moved underneath, and who changed it
- `conflicts`: pending edits whose resource changed meanwhile; keep mine, take theirs, merge field by field
- `live`: `Insight`, what the console knows while it runs (moves seen, open conflicts, editors left on an older
  version), settled against each new snapshot

No module here imports Textual (an import-linter contract): the console's screens and `app/screens/live.py` show
all this.
"""
