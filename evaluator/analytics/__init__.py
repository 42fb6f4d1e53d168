"""Evaluation analytics (issue 16): counting server-side evaluations per minute, storing and reading the counts."""
