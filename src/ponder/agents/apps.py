"""The AutoGen paper's applications as measured comparisons: for each, the benchmark it runs on by
default and the strategies compared on the same items (`ponder agents run NAME`). Conversational
chess is a game, not a benchmark, and is played by `ponder.agents.chess_game`."""

from __future__ import annotations

from dataclasses import dataclass

from ponder.errors import ConfigError


@dataclass(frozen=True)
class Application:
    """One application: its name, the default benchmark, the strategies it compares (a `ponder
    compare --strategies` list) and what it shows."""

    name: str
    task: str
    strategies: str
    about: str


APPLICATIONS = {
    a.name: a
    for a in (
        Application(
            "math",
            "gsm8k",
            "cot,self-consistency[k=4],agent-math",
            "an assistant and a code-running user proxy against chain-of-thought and self-consistency",
        ),
        Application(
            "rag",
            "ponder-rag",
            "cot,agent-rag",
            "retrieval-augmented chat with citations against the model alone",
        ),
        Application(
            "coding",
            "ponder-code",
            "agent-coding[reviewer=false],agent-coding",
            "a code writer alone against a writer with an executor and a safeguard reviewer",
        ),
        Application(
            "groupchat",
            "gsm8k",
            "cot,agent-team",
            "planner, solver and critic in a managed group chat against a single agent",
        ),
    )
}
NAMES = (*APPLICATIONS, "chess")


def application(name: str) -> Application:
    """The application called `name`; ConfigError naming the known ones when there is none."""
    found = APPLICATIONS.get(name)
    if found is None:
        raise ConfigError(f"unknown application {name!r}: expected one of {', '.join(NAMES)}")
    return found
