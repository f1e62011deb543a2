"""`agent-coding`: the multi-agent coding setting of Wu et al. 2023 (AutoGen) as a strategy. A
writer (the model) writes the function; with `reviewer`, a group chat goes round

    user_proxy (opens with the problem) → writer → executor → reviewer → writer → …

where the executor runs the writer's latest code against the problem's visible examples in the
sandbox and reports the results, and the reviewer (the model, a safeguard) checks the code
against the specification and those results, flags unsafe operations, and replies APPROVE or
lists the problems. The chat ends when the reviewer approves, after `max_turns` rounds of
writer, executor and reviewer, or at the task's token budget. Without `reviewer` the writer
answers once (the single-agent baseline).

The final code, the last ```python block the writer wrote (the last that defines the problem's
function, where one does), is run against the problem's hidden tests in a fresh sandbox:
correct when it passes all of them. Every message, model call and execution, the test run last,
is in the trace; each agent's cost in the details (`CodingDetails`).
"""

from __future__ import annotations

import ast
import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ponder.agents.agent import Agent, ChatMessage
from ponder.agents.chat import ChatResult, initiate_chat
from ponder.agents.group import GroupChat, GroupChatManager
from ponder.agents.meter import ChatBudget
from ponder.agents.scored import chat_fields, scored_chat
from ponder.agents.unit_tests import UnitTestResult, run_tests
from ponder.details import CodingDetails
from ponder.errors import ConfigError
from ponder.models import Model
from ponder.sandbox import Limits, code_blocks
from ponder.strategies import Templates
from ponder.strategies.config import Configured
from ponder.trace import Budget, TraceSink
from ponder.types import Result, Task

PROMPTS = Templates(Path(__file__).parent / "prompts")
WRITER, EXECUTOR, REVIEWER, USER = "writer", "executor", "reviewer", "user_proxy"
ORDER = {USER: [WRITER], WRITER: [EXECUTOR], EXECUTOR: [REVIEWER], REVIEWER: [WRITER]}
NO_CODE = "The writer's message has no ```python block: nothing was run."
APPROVAL = re.compile(r"\bAPPROVED?\b")
NEGATION = re.compile(r"\b(not|cannot|can't|don't|won't|do not|never)\s*$", re.IGNORECASE)


def approves(text: str) -> bool:
    """Whether a reviewer's message approves: the word APPROVE (or APPROVED), in capitals, not
    right after a negation ("do not APPROVE")."""
    return any(not NEGATION.search(text[: m.start()]) for m in APPROVAL.finditer(text))


def defines(code: str, name: str) -> bool:
    """Whether `code` parses and defines the function `name` at its top level."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name for node in tree.body
    )


def final_code(messages: Sequence[str], entry_point: str | None = None) -> str | None:
    """The last ```python block of `messages` (a writer's, in order) that defines `entry_point`;
    else the last ```python block; None when there is none."""
    blocks = [b.code for text in messages for b in code_blocks(text) if b.language == "python"]
    if entry_point is not None:
        defining = [b for b in blocks if defines(b, entry_point)]
        if defining:
            return defining[-1]
    return blocks[-1] if blocks else None


def problem_of(task: Task) -> tuple[str, list[str], list[str]]:
    """The task's function name, visible examples and hidden tests; ConfigError for a task
    without unit tests (agent-coding answers ponder-code's problems)."""
    entry, examples, tests = (task.meta.get(k) for k in ("entry_point", "examples", "tests"))
    if not isinstance(entry, str) or not isinstance(tests, list) or not tests:
        raise ConfigError(f"agent-coding needs a task with unit tests (ponder-code); {task.id} has none")
    return entry, list(examples) if isinstance(examples, list) else [], list(tests)


@dataclass
class AgentCoding(Configured):
    """The strategy; `max_turns`: most rounds of writer, executor and reviewer."""

    max_turns: int = 3
    max_tokens: int = 384
    temperature: float = 0.0
    seed: int | None = 0
    reviewer: bool = True
    wall_s: float = 10.0
    budget: Budget = field(default_factory=Budget)
    name: str = "agent-coding"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("coding_writer.j2", "coding_reviewer.j2", "coding_open.j2")

    def model_agent(self, name: str, template: str, model: Model) -> Agent:
        return Agent(
            name,
            PROMPTS.render(template),
            model=model,
            max_tokens=min(self.max_tokens, self.budget.per_call or self.max_tokens),
            temperature=self.temperature,
            seed=self.seed,
        )

    def executor(self, entry_point: str, examples: list[str]) -> Agent:
        """The agent that runs the writer's latest code against the examples (each run is one of
        its executions) and reports the results."""

        async def run_examples(history: list[ChatMessage], me: Agent) -> str:
            latest = next((m.content for m in reversed(history) if m.speaker == WRITER), "")
            code = final_code([latest], entry_point)
            if code is None:
                return NO_CODE
            ran = await asyncio.to_thread(run_tests, code, examples, self.limits())
            if ran.execution is not None and me.recorder is not None:
                me.recorder.record(ran.execution)
            return f"The examples, run against the writer's latest code: {ran.report}"

        return Agent(EXECUTOR, "Runs the writer's code against the examples.", reply_function=run_examples)

    def limits(self) -> Limits:
        """The sandbox's limits for one run: `wall_s` seconds of wall and CPU time."""
        return Limits(wall_s=self.wall_s, cpu_s=max(1, int(self.wall_s)))

    async def converse(self, task: Task, model: Model, sink: TraceSink | None) -> ChatResult:
        entry, examples, _ = problem_of(task)
        opening = PROMPTS.render("coding_open.j2", question=task.question, examples=examples)
        user = Agent(USER, "Poses the problem.")
        writer = self.model_agent(WRITER, "coding_writer.j2", model)
        budget = ChatBudget(tokens=self.budget.per_task)
        if not self.reviewer:
            return await initiate_chat(
                user, writer, opening, max_turns=1, budget=budget, sink=sink, is_termination=lambda m: False
            )
        reviewer = self.model_agent(REVIEWER, "coding_reviewer.j2", model)
        chat = GroupChat(
            [user, writer, self.executor(entry, examples), reviewer],
            max_round=1 + 3 * self.max_turns,
            speaker_selection="round_robin",
            graph=ORDER,
        )
        return await GroupChatManager(chat).run(
            opening,
            sender=user,
            budget=budget,
            sink=sink,
            is_termination=lambda m: m.speaker == REVIEWER and approves(m.content),
        )

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        start = time.perf_counter()
        entry, _, tests = problem_of(task)
        chat = await self.converse(task, model, sink)
        code = final_code([m.content for m in chat.messages if m.speaker == WRITER], entry)
        if code is None:
            ran = UnitTestResult(0, len(tests), f"passed 0 of {len(tests)} tests: the writer wrote no code")
        else:
            ran = await asyncio.to_thread(run_tests, code, tests, self.limits())
        if ran.execution is not None and sink is not None:
            sink.emit(ran.execution)
        reviews = sum(1 for m in chat.messages if m.speaker == REVIEWER and not approves(m.content))
        details = CodingDetails(
            **chat_fields(chat),
            tests_passed=ran.passed,
            tests_total=ran.total,
            reviews=reviews,
            test_report=ran.report,
        )
        return scored_chat(
            task,
            self.name,
            chat,
            code,
            time.perf_counter() - start,
            correct=ran.all_passed,
            details=details,
            more_events=() if ran.execution is None else (ran.execution,),
        )
