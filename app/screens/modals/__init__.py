"""Modal dialogs: each dismisses with its answer (None when cancelled with escape)."""
