"""`agent-math`: the MathChat setting of Wu et al. 2023 (AutoGen) as a strategy: an assistant with
the model and a user proxy that runs the assistant's code blocks in the sandbox converse until the
assistant says TERMINATE or states its answer outside a code block, `max_turns` round trips, or
the task's token budget;
the answer is read from the assistant's last message as any chain's is.

The whole conversation is the task's trace (messages, model calls, code runs), so a run of it
sits in the store and in `ponder view` like any other, and its cost is what both agents spent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ponder.agents.agent import Agent, ChatMessage
from ponder.agents.chat import TERMINATE, initiate_chat
from ponder.agents.meter import ChatBudget
from ponder.agents.scored import scored_chat
from ponder.models import Model
from ponder.sandbox import Limits, Sandbox, code_blocks
from ponder.strategies import Templates
from ponder.strategies.config import Configured
from ponder.tasks.answers import extract
from ponder.trace import Budget, TraceSink
from ponder.types import Result, Task

PROMPTS = Templates(Path(__file__).parent / "prompts")
NUDGE = "The code block was missing or unfinished. Write one complete ```python block that prints the answer."


@dataclass
class AgentMath(Configured):
    """The strategy; `stop_on_answer`: a message of the assistant's that states its answer ("The
    answer is N", no code block) ends the conversation even without TERMINATE."""

    max_turns: int = 4
    max_tokens: int = 384
    temperature: float = 0.0
    seed: int | None = 0
    wall_s: float = 10.0
    stop_on_answer: bool = True
    budget: Budget = field(default_factory=Budget)
    name: str = "agent-math"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("math_system.j2", "math_open.j2")

    def ends(self, message: ChatMessage, task: Task) -> bool:
        """Whether the assistant's message ends the conversation (the proxy's never do)."""
        if message.speaker != "assistant":
            return False
        if TERMINATE in message.content:
            return True
        if not self.stop_on_answer or code_blocks(message.content):
            return False
        return extract(message.content, task.kind).explicit

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        start = time.perf_counter()
        max_tokens = min(self.max_tokens, self.budget.per_call or self.max_tokens)
        with Sandbox(Limits(wall_s=self.wall_s, cpu_s=int(self.wall_s))) as box:
            proxy = Agent("user_proxy", code_execution=box, default_reply=NUDGE)
            assistant = Agent(
                "assistant",
                PROMPTS.render("math_system.j2"),
                model=model,
                max_tokens=max_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
            chat = await initiate_chat(
                proxy,
                assistant,
                PROMPTS.render("math_open.j2", question=task.question),
                max_turns=self.max_turns,
                budget=ChatBudget(tokens=self.budget.per_task),
                sink=sink,
                is_termination=lambda m: self.ends(m, task),
            )
        said = [m.content for m in chat.messages if m.speaker == "assistant"]
        answer = extract(said[-1], task.kind).value if said else None
        return scored_chat(task, self.name, chat, answer, time.perf_counter() - start)
