"""`ponder agents …`: conversations between agents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ponder.cli.common import guard, in_session, out
from ponder.cli.options import (
    CacheOpt,
    ConcurrencyOpt,
    ConnectTimeoutOpt,
    DataDirOpt,
    LimitOpt,
    MaxErrorsOpt,
    ModelOpt,
    OpenOpt,
    OutOpt,
    RetryErrorsOpt,
    StoreOpt,
    TimeoutOpt,
)
from ponder.cli.strategy_flags import StrategyCommand
from ponder.eval.limits import DEFAULT_MAX_ERRORS

Opt = typer.Option
agents_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Conversations between agents (AutoGen-style): two agents or a group chat, tools, code run in a sandbox.",
)


@agents_app.command()
def chat(
    agents: Annotated[
        Path, Opt("--agents", help="YAML file of the agents, the chat and its budget (docs/agents.md).")
    ],
    message: Annotated[str, Opt("--message", "-m", help="The first agent's opening message.")],
    store: StoreOpt = None,
    unsafe_code: Annotated[
        bool, Opt("--unsafe-code", help="Run code without a sandbox where bubblewrap is missing (unsafe).")
    ] = False,
) -> None:
    """Run a conversation, store it, and print its messages, why it stopped and each agent's cost."""
    from ponder.agents.build import run_conversation
    from ponder.agents.spec import read_spec

    spec = guard(lambda: read_spec(agents))
    run_id, result = guard(
        lambda: in_session(lambda s: run_conversation(s, spec, message, unsafe_code=unsafe_code), None, store)
    )
    for m in result.messages:
        out.print(f"[bold]{m.speaker}[/bold]", highlight=False)
        out.print(m.content, markup=False, highlight=False)
        out.print()
    out.print(f"stopped: {result.stopped_by}; stored as run {run_id}", markup=False, highlight=False)
    out.print(result.cost_table(), markup=False, highlight=False)


NameArg = Annotated[str, typer.Argument(help="The application: math, rag, coding, groupchat or chess.")]


def run(
    ctx: typer.Context,
    name: NameArg,
    task: Annotated[
        str | None,
        Opt("--task", help="Benchmark to run on (default: the application's; math: gsm8k or math500)."),
    ] = None,
    strategies: Annotated[
        str | None, Opt("--strategies", help="The strategies compared (default: the application's list).")
    ] = None,
    out_dir: OutOpt = Path("ponder-report"),
    open_report: OpenOpt = False,
    model: ModelOpt = None,
    store: StoreOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    data_dir: DataDirOpt = None,
    cache: CacheOpt = True,
    timeout: TimeoutOpt = None,
    connect_timeout: ConnectTimeoutOpt = None,
    max_errors: MaxErrorsOpt = DEFAULT_MAX_ERRORS,
    retry_errors: RetryErrorsOpt = True,
) -> None:
    """Run one of the AutoGen paper's applications on the same items as the strategies it is
    compared with, and write the report (`ponder agents run math --limit 10`)."""
    from ponder.agents.apps import application
    from ponder.cli.eval import RunFlags, exit_if_errored, plans_of, run_plans
    from ponder.cli.report import show_report
    from ponder.cli.strategy_flags import strategy_options

    app = guard(lambda: application(name))
    flags = RunFlags.of(ctx)
    plans = guard(lambda: plans_of(strategies or app.strategies, strategy_options(ctx)))
    outcomes = run_plans(task or app.task, plans, flags)
    show_report([o.run_id for o in outcomes], flags.store, out_dir, open_report)
    exit_if_errored(outcomes, flags)


agents_app.command(cls=StrategyCommand)(run)
