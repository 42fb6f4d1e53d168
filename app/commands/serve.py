"""`flagdeck serve`: the evaluator (defined in evaluator.server.cli so `python -m evaluator` shares it)."""

from evaluator.server.cli import command

__all__ = ["command"]
