"""Everything that touches a Git repository, always on the repository's own thread (`repo.GitRepo`): `snapshot`
(an environment at one commit), `tree_edits` (the new tree of a commit and its read-back), `history`, `replay`,
`remote` and `transport` (fetch, follow, push), `watch` (noticing a moved branch), `worktree`, `locks` and `crash`
(crash safety)."""
