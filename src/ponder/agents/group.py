"""Group chat (AutoGen's GroupChat and GroupChatManager): N agents share one conversation, and a
manager picks who speaks next, by

- `auto`: the manager's model picks among the allowed names, its reply held to that choice (a JSON
  string among the names) where the backend holds replies to a format, read from plain text where
  it does not; a choice that is not an allowed name is asked again once, then round-robin is used;
  every selection call is the manager's cost;
- `round_robin`: the allowed speakers in the agents' order, after the last one;
- `random`: one of the allowed speakers, seeded;

where the allowed speakers are the graph's successors of the last speaker (`graph`, a dict from a
name to the names that may follow it) or everyone, and never the last speaker again unless
`allow_repeat_speaker`. The chat stops at `max_round` messages, a termination message (before anyone
is chosen to answer it), the budget,
no reply, a person's "exit", or `no progress`: a speaker saying exactly what it said in its
previous `repeats - 1` turns.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ponder.agents.agent import Agent, ChatMessage
from ponder.agents.chat import AgentCost, ChatResult, Timeline, cost_of, ends_with_terminate, speak
from ponder.agents.meter import BudgetSpent, ChatBudget, Meter
from ponder.contract import ResponseFormat
from ponder.errors import ConfigError, ReplyFormatError
from ponder.models import JSON_SCHEMA, Model
from ponder.trace import Recorder, TraceSink
from ponder.types import Compute, GenerationRequest, Message

METHODS = ("auto", "round_robin", "random")
SELECT_PROMPT = (
    "You manage a conversation between: {roles}.\n\nRead the conversation, then name the one speaker "
    "who should speak next, among: {names}. Reply with the name only."
)


@dataclass
class GroupChat:
    agents: Sequence[Agent]
    max_round: int = 10
    speaker_selection: str = "auto"
    graph: dict[str, list[str]] | None = None
    allow_repeat_speaker: bool = False
    repeats: int = 3
    seed: int = 0
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = [a.name for a in self.agents]
        if len(set(self.names)) != len(self.names) or len(self.names) < 2:
            raise ConfigError(f"a group chat needs two or more agents with distinct names, got {self.names}")
        if self.speaker_selection not in METHODS:
            raise ConfigError(
                f"speaker_selection must be one of {', '.join(METHODS)}, got {self.speaker_selection!r}"
            )
        for source, targets in (self.graph or {}).items():
            unknown = [n for n in [source, *targets] if n not in self.names]
            if unknown:
                raise ConfigError(f"the speaker graph names agents not in the chat: {', '.join(unknown)}")
        if self.repeats < 2:
            raise ConfigError(f"repeats must be at least 2, got {self.repeats}")

    def agent(self, name: str) -> Agent:
        return self.agents[self.names.index(name)]

    def allowed(self, last: str) -> list[str]:
        """Who may speak after `last`."""
        pool = list(self.graph.get(last, [])) if self.graph is not None else list(self.names)
        if not self.allow_repeat_speaker and len(pool) > 1:
            pool = [n for n in pool if n != last]
        return [n for n in self.names if n in pool]

    def after(self, last: str, allowed: list[str]) -> str:
        """Round-robin: the first allowed speaker after `last` in the agents' order."""
        start = self.names.index(last)
        ordered = self.names[start + 1 :] + self.names[: start + 1]
        return next(n for n in ordered if n in allowed)


def no_progress(history: Sequence[ChatMessage], repeats: int) -> bool:
    """The last speaker said the same thing in each of its last `repeats` turns."""
    speaker = history[-1].speaker
    own = [m.content.strip() for m in history if m.speaker == speaker][-repeats:]
    return len(own) == repeats and len(set(own)) == 1


class GroupChatManager:
    """Runs a group chat; its model (for `auto` selection) is recorded as the agent `name`."""

    def __init__(self, chat: GroupChat, model: Model | None = None, name: str = "manager") -> None:
        if chat.speaker_selection == "auto" and model is None:
            raise ConfigError("auto speaker selection needs the manager's model")
        self.chat, self.model, self.name = chat, model, name
        self.rng = random.Random(chat.seed)

    async def run(
        self,
        message: str,
        sender: Agent,
        *,
        is_termination: Callable[[ChatMessage], bool] = ends_with_terminate,
        budget: ChatBudget | None = None,
        sink: TraceSink | None = None,
    ) -> ChatResult:
        chat = self.chat
        timeline = Timeline(sink)
        meter = Meter(budget)
        for agent in chat.agents:
            agent.start(timeline)
        self.recorder = Recorder(self.model, sink=timeline) if self.model is not None else None
        history: list[ChatMessage] = []
        timeline.say(history, ChatMessage(sender.name, message))
        stopped_by = ""
        while not stopped_by:
            if is_termination(history[-1]):
                stopped_by = "termination message"
                break
            if len(history) >= chat.max_round:
                stopped_by = "max round"
                break
            try:
                speaker = chat.agent(await self.select(history, meter))
            except BudgetSpent as e:
                stopped_by = f"budget: {e.reason}"
                break
            stopped_by = await speak(speaker, history, meter, is_termination, timeline)
            if not stopped_by and no_progress(history, chat.repeats):
                stopped_by = "no progress"
        costs = [cost_of(a) for a in chat.agents] + [self.cost()]
        return ChatResult(tuple(history), stopped_by, tuple(costs), tuple(timeline.events))

    def cost(self) -> AgentCost:
        events = self.recorder.events if self.recorder is not None else []
        compute = Compute.of(events, 0.0)
        seconds = sum(getattr(e, "latency_s", 0.0) for e in events)
        return AgentCost(
            self.name, compute.calls, compute.prompt_tokens, compute.completion_tokens, 0, 0, seconds
        )

    async def select(self, history: list[ChatMessage], meter: Meter) -> str:
        """The next speaker's name."""
        chat = self.chat
        allowed = chat.allowed(history[-1].speaker)
        if not allowed:
            raise ConfigError(f"the speaker graph lets no one speak after {history[-1].speaker}")
        if len(allowed) == 1:
            return allowed[0]
        if chat.speaker_selection == "round_robin":
            return chat.after(history[-1].speaker, allowed)
        if chat.speaker_selection == "random":
            return self.rng.choice(allowed)
        for _ in range(2):
            name = await self.ask(history, allowed, meter)
            if name in allowed:
                return name
        return chat.after(history[-1].speaker, allowed)

    async def ask(self, history: list[ChatMessage], allowed: list[str], meter: Meter) -> str | None:
        """The manager model's choice among `allowed` (None: no readable name)."""
        assert self.recorder is not None and self.model is not None
        roles = "; ".join(f"{a.name}: {a.description or a.system_message[:120]}" for a in self.chat.agents)
        messages = [Message("system", SELECT_PROMPT.format(roles=roles, names=", ".join(allowed)))]
        messages += [Message("user", f"{m.speaker}: {m.content}") for m in history]
        messages.append(Message("user", f"Who speaks next? One of: {', '.join(allowed)}."))
        constrained = JSON_SCHEMA in self.model.abilities
        request = GenerationRequest(
            messages=tuple(messages),
            max_tokens=meter.admit(32),
            temperature=0.0,
            response_format=ResponseFormat.choice(allowed, "speaker") if constrained else None,
        )
        try:
            completions = await self.recorder.generate(request, "select-speaker")
        except ReplyFormatError:
            meter.charge(0)
            return None
        meter.charge(sum(c.usage.completion_tokens for c in completions))
        text = completions[0].text.strip()
        if constrained:
            try:
                value = json.loads(text)
            except ValueError:
                return None
            return value if isinstance(value, str) else None
        named = [n for n in allowed if n in text]
        return named[0] if len(named) == 1 else None
