"""The domain model, without I/O: `documents` (Flipt's features.yaml as immutable pydantic models), `changes` (what
a write asks for, resource by resource; the difference of two documents; what a promotion copies), `revert` (the
changes that undo a commit or restore a version)."""
