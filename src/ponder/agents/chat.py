"""Two agents in conversation (AutoGen's `initiate_chat`): the sender's message opens it, then the
recipient and the sender take turns until one of:

- `max turns`: `max_turns` round trips (2 × max_turns messages, the opening one included);
- `termination message`: the message just received ends the chat (`is_termination`, by default
  one whose text ends with TERMINATE), unless the agent to reply asks a person on termination
  (human_input_mode "terminate") and the person types a reply;
- `budget: tokens|seconds|calls`: the shared budget has nothing left for the next call;
- `no reply`: the agent whose turn it is has nothing to say;
- `human exit`: a person typed "exit".

The result holds every message, why the chat stopped, and each agent's cost (its model calls,
tokens, tool calls, executions and the seconds they took), and every event in order: each message
as an `Utterance` among the model calls, tool calls and executions that made it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ponder.agents.agent import Agent, ChatMessage, EndChat
from ponder.agents.meter import BudgetSpent, ChatBudget, Meter
from ponder.details import AgentCost, ChatDetails
from ponder.trace import TraceSink
from ponder.types import CodeExecution, Compute, Event, ModelCall, ToolCall, Utterance

TERMINATE = "TERMINATE"


def ends_with_terminate(message: ChatMessage) -> bool:
    return message.content.rstrip().rstrip(".!").endswith(TERMINATE)


@dataclass(frozen=True)
class ChatResult:
    messages: tuple[ChatMessage, ...]
    stopped_by: str
    costs: tuple[AgentCost, ...]
    events: tuple[Event, ...]

    @property
    def summary(self) -> str:
        """The last message's text."""
        return self.messages[-1].content if self.messages else ""

    def details(self) -> ChatDetails:
        return ChatDetails(self.stopped_by, len(self.messages), self.costs)

    def cost_table(self) -> str:
        """Each agent's cost, one line each."""
        lines = ["agent  calls  prompt tokens  completion tokens  tool calls  executions  seconds"]
        for c in self.costs:
            lines.append(
                f"{c.agent}  {c.calls}  {c.prompt_tokens}  {c.completion_tokens}  {c.tool_calls}  "
                f"{c.executions}  {c.seconds:.2f}"
            )
        return "\n".join(lines)


def cost_of(agent: Agent) -> AgentCost:
    events = agent.recorder.events if agent.recorder is not None else []
    compute = Compute.of(events, 0.0)
    seconds = sum(e.latency_s for e in events if isinstance(e, ModelCall)) + sum(
        e.seconds for e in events if isinstance(e, ToolCall | CodeExecution)
    )
    return AgentCost(
        agent.name,
        compute.calls,
        compute.prompt_tokens,
        compute.completion_tokens,
        sum(isinstance(e, ToolCall) for e in events),
        sum(isinstance(e, CodeExecution) for e in events),
        seconds,
    )


class Timeline:
    """Every agent's events in the order they happened (each also goes on to `sink`)."""

    def __init__(self, sink: TraceSink | None = None) -> None:
        self.events: list[Event] = []
        self.sink = sink

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self.sink is not None:
            self.sink.emit(event)

    def say(self, history: list[ChatMessage], message: ChatMessage) -> None:
        """Add a message to the conversation, and to the timeline as an Utterance."""
        history.append(message)
        self.emit(Utterance(message.speaker, message.content))


async def initiate_chat(
    sender: Agent,
    recipient: Agent,
    message: str,
    *,
    max_turns: int | None = None,
    is_termination: Callable[[ChatMessage], bool] = ends_with_terminate,
    budget: ChatBudget | None = None,
    sink: TraceSink | None = None,
) -> ChatResult:
    """Run the conversation opened by `sender` saying `message` to `recipient`."""
    timeline = Timeline(sink)
    meter = Meter(budget)
    agents: Sequence[Agent] = (sender, recipient)
    for agent in agents:
        agent.start(timeline)
    history: list[ChatMessage] = []
    timeline.say(history, ChatMessage(sender.name, message))
    speaker, other = recipient, sender
    stopped_by = ""
    while not stopped_by:
        if max_turns is not None and len(history) >= 2 * max_turns:
            stopped_by = "max turns"
            break
        stopped_by = await speak(speaker, history, meter, is_termination, timeline)
        speaker, other = other, speaker
    return ChatResult(tuple(history), stopped_by, tuple(cost_of(a) for a in agents), tuple(timeline.events))


async def speak(
    agent: Agent,
    history: list[ChatMessage],
    meter: Meter,
    is_termination: Callable[[ChatMessage], bool],
    timeline: Timeline,
) -> str:
    """Add the agent's reply to `history`; why the chat stops instead ("" when it goes on)."""
    try:
        reply = await turn(agent, history, meter, is_termination)
    except BudgetSpent as e:
        return f"budget: {e.reason}"
    except EndChat:
        return "human exit"
    if reply is None:
        return "termination message" if is_termination(history[-1]) else "no reply"
    timeline.say(history, ChatMessage(agent.name, reply))
    return ""


async def turn(
    agent: Agent, history: list[ChatMessage], meter: Meter, is_termination: Callable[[ChatMessage], bool]
) -> str | None:
    """The agent's reply, or None when the message it received ends the chat (a person may still
    reply, in the "terminate" and "always" modes)."""
    if is_termination(history[-1]):
        if agent.human_input_mode in ("terminate", "always"):
            return agent.human(history[-1], "the chat would end here")
        return None
    return await agent.reply(history, meter)
