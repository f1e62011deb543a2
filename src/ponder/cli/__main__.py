"""`python -m ponder.cli`: the `ponder` command."""

from ponder.cli import app

app()
