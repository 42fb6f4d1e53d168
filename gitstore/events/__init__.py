"""Change sets derived from an environment's Git history (issue 17): `model` (what a commit changed, resource by
resource, before and after), `walk` (the branch's first-parent line, on the repository's thread)."""
