"""`ponder agents …`: conversations between agents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    checked,
)
from ponder.cli.strategy_flags import StrategyCommand
from ponder.errors import ConfigError
from ponder.eval.limits import DEFAULT_MAX_ERRORS
from ponder.strategies.options import COUNT

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
    question: Annotated[
        str | None,
        Opt("--question", "-q", help="rag: ask this one question instead of running the benchmark."),
    ] = None,
    docs: Annotated[
        Path | None,
        Opt("--docs", help="rag with --question: a folder of .md/.txt documents (default: ponder's corpus)."),
    ] = None,
    games: Annotated[int, Opt("--games", help="chess: games to play.", callback=checked(COUNT))] = 1,
    opponent: Annotated[
        str, Opt("--opponent", help="chess: black is 'random' (a seeded random mover) or 'model'.")
    ] = "random",
    max_plies: Annotated[
        int, Opt("--max-plies", help="chess: a game ends after this many moves.", callback=checked(COUNT))
    ] = 40,
    attempts: Annotated[
        int,
        Opt(
            "--attempts",
            help="chess: rejected moves in a row before a player forfeits.",
            callback=checked(COUNT),
        ),
    ] = 3,
) -> None:
    """Run one of the AutoGen paper's applications: math, rag, coding and groupchat on the same items
    as the strategies they are compared with, then the report (`ponder agents run math --limit 10`);
    chess as games stored as runs (`ponder agents run chess --games 2`); rag with `--question` as one
    conversation over `--docs`."""
    from ponder.cli.strategy_flags import strategy_options

    options = strategy_options(ctx)
    if name == "chess":
        return play(games, opponent, max_plies, attempts, options, model, store)
    if name == "rag" and question is not None:
        return ask(question, docs, options, model, store)
    if docs is not None or (question is not None and name != "rag"):
        guard(lambda: _refuse("--question and --docs are for rag only, and --docs needs --question"))
    from ponder.agents.apps import application
    from ponder.cli.eval import RunFlags, exit_if_errored, plans_of, run_plans
    from ponder.cli.report import show_report

    app = guard(lambda: application(name))
    flags = RunFlags.of(ctx)
    plans = guard(lambda: plans_of(strategies or app.strategies, options))
    outcomes = run_plans(task or app.task, plans, flags)
    show_report([o.run_id for o in outcomes], flags.store, out_dir, open_report)
    exit_if_errored(outcomes, flags)


def _refuse(message: str) -> None:
    raise ConfigError(message)


def play(
    games: int,
    opponent: str,
    max_plies: int,
    attempts: int,
    flags: dict[str, Any],
    model: str | None,
    store: Path | None,
) -> None:
    """Play the games, then print each game's end, moves, rejected moves and cost."""
    from ponder.agents.apps import play_games

    how = {k: flags[k] for k in ("max_tokens", "temperature", "seed") if flags.get(k) is not None}
    played = guard(
        lambda: in_session(
            lambda s: play_games(s, games, opponent=opponent, max_plies=max_plies, attempts=attempts, **how),
            model,
            store,
        )
    )
    for run_id, chat, game in played:
        rejected = ", ".join(f"{name} {n}" for name, n in game.illegal)
        out.print(
            f"run {run_id}: {game.result} by {game.termination} after {len(game.moves)} moves; "
            f"rejected moves: {rejected}",
            markup=False,
            highlight=False,
        )
        out.print(" ".join(game.moves) or "(no moves)", markup=False, highlight=False)
        out.print(chat.cost_table(), markup=False, highlight=False)
        out.print()


def ask(
    question: str, docs: Path | None, flags: dict[str, Any], model: str | None, store: Path | None
) -> None:
    """Ask one question over the documents, then print the conversation, the citations and the cost."""
    from ponder.agents.apps import ask_documents

    how = {
        k: flags[k] for k in ("embedder", "passages", "max_turns", "max_tokens") if flags.get(k) is not None
    }
    run_id, chat, details = guard(
        lambda: in_session(lambda s: ask_documents(s, question, docs, **how), model, store)
    )
    for m in chat.messages:
        out.print(f"[bold]{m.speaker}[/bold]", highlight=False)
        out.print(m.content, markup=False, highlight=False)
        out.print()
    cited = ", ".join(details.cited) or "none"
    out.print(
        f"stopped: {chat.stopped_by}; cited: {cited}; stored as run {run_id}", markup=False, highlight=False
    )
    out.print(chat.cost_table(), markup=False, highlight=False)


agents_app.command(cls=StrategyCommand)(run)
