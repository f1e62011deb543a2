"""`ponder agents …`: conversations between agents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ponder.cli.common import guard, in_session, out
from ponder.cli.options import StoreOpt

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
