"""`python -m evaluator` = `flagdeck serve`."""

from evaluator.server.cli import command

if __name__ == "__main__":
    command(prog_name="python -m evaluator")
