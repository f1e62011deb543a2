"""The `ponder` command: flags → objects → one library call. Errors print one line and exit 2.

One module per command or group: `solve`, `eval` (eval, compare), `faithfulness`, `report`,
`runs` (runs, runs show, rescore), `models`, `arena`, `agents`, `town`, `data`, `train`, `view`, `serve`; `options` declares the options they share,
`strategy_flags` the strategy flags, `common` the consoles and the error guard.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ponder.cli.agents import agents_app
from ponder.cli.arena import arena_app
from ponder.cli.common import OneLineGroup, state
from ponder.cli.data import data_app
from ponder.cli.eval import compare, eval_command
from ponder.cli.faithfulness import faithfulness
from ponder.cli.models import models_app
from ponder.cli.report import report
from ponder.cli.runs import rescore, runs_app
from ponder.cli.serve import serve
from ponder.cli.solve import solve
from ponder.cli.strategy_flags import StrategyCommand
from ponder.cli.town import town_app
from ponder.cli.train import train_app
from ponder.cli.view import view

app = typer.Typer(
    cls=OneLineGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Make language models reason better, and measure how well and at what cost.",
)


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    state["debug"] = debug


app.add_typer(models_app, name="models")
app.add_typer(runs_app, name="runs")
app.add_typer(arena_app, name="arena")
app.add_typer(agents_app, name="agents")
app.add_typer(town_app, name="town")
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
app.command(cls=StrategyCommand)(solve)
app.command("eval", cls=StrategyCommand)(eval_command)
app.command(cls=StrategyCommand)(compare)
app.command()(faithfulness)
app.command()(report)
app.command()(rescore)
app.command()(view)
app.command()(serve)
