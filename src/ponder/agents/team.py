"""`agent-team`: the dynamic group chat of Wu et al. 2023 (AutoGen) as a strategy: a planner, a
solver and a critic, all on the task's model, in a group chat whose manager (the same model)
picks who speaks next among the speakers the graph allows:

    user → planner → solver → critic → solver or planner

A user proxy without a model opens with the problem. The planner breaks it into steps, the solver
carries them out and states "The answer is N.", the critic approves ("APPROVED. The answer is N.")
or names the error. The chat ends at the critic's approval, at `max_round` messages (the opening
one included), or at the task's token budget (every agent's and the manager's completion tokens
together, never overshot). `speaker_selection="round_robin"` goes planner, solver, critic in turn
and makes no selection calls; `"auto"` asks the manager's model where the graph leaves a choice
(after the critic), each call counted as the manager's.

The answer is read from the last message that states one explicitly, searching back from the end
among the critic's approvals and the solver's messages; without any, from the solver's last.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ponder.agents.agent import Agent, ChatMessage
from ponder.agents.chat import ChatResult
from ponder.agents.group import GroupChat, GroupChatManager
from ponder.agents.meter import ChatBudget
from ponder.agents.scored import scored_chat
from ponder.errors import ConfigError
from ponder.models import Model
from ponder.strategies import Templates
from ponder.strategies.config import Configured
from ponder.tasks.answers import Kind, extract
from ponder.trace import Budget, TraceSink
from ponder.types import Result, Task

PROMPTS = Templates(Path(__file__).parent / "prompts")
SELECTIONS = ("auto", "round_robin")
USER, PLANNER, SOLVER, CRITIC = "user", "planner", "solver", "critic"
GRAPH = {USER: [PLANNER], PLANNER: [SOLVER], SOLVER: [CRITIC], CRITIC: [PLANNER, SOLVER]}
DESCRIPTIONS = {
    USER: "poses the problem; does not speak again",
    PLANNER: "breaks the problem into steps without computing; speaks again when the plan itself is wrong",
    SOLVER: "carries out the plan, shows the computation and states the answer; speaks again to fix "
    "an error the critic named in the computation",
    CRITIC: "checks the solver's work; approves it or names the error",
}
APPROVAL = re.compile(r"(?<!NOT )\bAPPROVED\b")


def approves(text: str) -> bool:
    """Whether a critic's message approves: it holds the word APPROVED (upper case), not as NOT APPROVED."""
    return APPROVAL.search(text) is not None


def ends(message: ChatMessage) -> bool:
    """Whether a message ends the chat: the critic's approval."""
    return message.speaker == CRITIC and approves(message.content)


def team_answer(messages: Sequence[ChatMessage], kind: Kind) -> str | None:
    """The team's answer: from the last message that states one explicitly, searching back from the
    end among the critic's approvals and the solver's messages; else the solver's last message's
    answer as any chain's is read; None when the solver never spoke."""
    candidates = [m for m in messages if m.speaker == SOLVER or ends(m)]
    for m in reversed(candidates):
        found = extract(m.content, kind)
        if found.explicit:
            return found.value
    said = [m.content for m in messages if m.speaker == SOLVER]
    return extract(said[-1], kind).value if said else None


@dataclass
class AgentTeam(Configured):
    """The strategy: `max_round` messages at most (the opening one included), `max_tokens` per
    message, `speaker_selection` "auto" (the manager's model chooses) or "round_robin"."""

    max_round: int = 6
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0
    speaker_selection: str = "auto"
    budget: Budget = field(default_factory=Budget)
    name: str = "agent-team"

    def __post_init__(self) -> None:
        if self.speaker_selection not in SELECTIONS:
            raise ConfigError(
                f"agent-team: speaker_selection must be one of {', '.join(SELECTIONS)}, "
                f"got {self.speaker_selection!r}"
            )
        if self.max_round < 2:
            raise ConfigError(f"agent-team: max_round must be at least 2, got {self.max_round}")

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("team_planner.j2", "team_solver.j2", "team_critic.j2", "team_open.j2")

    def agents(self, model: Model) -> list[Agent]:
        """The user proxy (no model), then the planner, the solver and the critic on `model`."""
        max_tokens = min(self.max_tokens, self.budget.per_call or self.max_tokens)
        team = [
            Agent(
                role,
                PROMPTS.render(f"team_{role}.j2"),
                model=model,
                description=DESCRIPTIONS[role],
                max_tokens=max_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
            for role in (PLANNER, SOLVER, CRITIC)
        ]
        return [Agent(USER, description=DESCRIPTIONS[USER]), *team]

    async def converse(self, task: Task, model: Model, sink: TraceSink | None = None) -> ChatResult:
        """The team's conversation about `task`."""
        agents = self.agents(model)
        chat = GroupChat(
            agents, max_round=self.max_round, speaker_selection=self.speaker_selection, graph=GRAPH
        )
        manager = GroupChatManager(chat, model=model if self.speaker_selection == "auto" else None)
        return await manager.run(
            PROMPTS.render("team_open.j2", question=task.question),
            agents[0],
            is_termination=ends,
            budget=ChatBudget(tokens=self.budget.per_task),
            sink=sink,
        )

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        start = time.perf_counter()
        chat = await self.converse(task, model, sink)
        answer = team_answer(chat.messages, task.kind)
        return scored_chat(task, self.name, chat, answer, time.perf_counter() - start)
