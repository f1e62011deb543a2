"""An agent of a conversation (AutoGen's ConversableAgent, in ponder's terms): a name, a system
message, and how it replies, tried in this order:

1. a person, when `human_input_mode` is "always" (typed at the terminal, or any `ask` function;
   empty: the agent replies automatically; "exit": the conversation ends);
2. `reply_function(messages, agent)`, when given and it returns text (or an awaitable of it, so
   a reply that waits on a program or a search does not hold up other conversations);
3. the sandbox, when the agent executes code and the last message holds code blocks: each block
   runs, and the reply is their exit codes and output;
4. the model, when the agent has one: its own messages are the assistant's turns, the others' the
   user's (named); with tools, the calls the model asks for are made (a tool's exception, and a call
   that cannot be made as written, go back to the model as the tool's reply), and the model is
   asked again, up to `max_tool_rounds` times; a reply that is nothing but a JSON call to one of
   the agent's tools is taken as that call (`written_calls`); a backend without native tool calls
   gets the tools in its system message and its replies held to "call or reply" (`tool_fallback`);
5. `default_reply`, when set (a code-executing proxy's "the code block was missing or unfinished").

Every model call, tool call and execution is recorded by the agent's own Recorder, so each
agent's cost is its own; the conversation's Meter checks the shared budget before each call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ponder.agents.meter import BudgetSpent, Meter
from ponder.agents.tool_fallback import call_or_reply, read_reply, tools_prompt, written_call
from ponder.contract import FunctionCall, Tool
from ponder.errors import ConfigError
from ponder.models import JSON_SCHEMA, TOOLS, Model
from ponder.sandbox import Sandbox, code_blocks
from ponder.trace import Recorder, TraceSink
from ponder.types import CodeExecution, GenerationRequest, Message, ToolCall

HumanMode = Literal["never", "always", "terminate"]
HUMAN_MODES = ("never", "always", "terminate")
EXIT = "exit"


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation and who said it."""

    speaker: str
    content: str


class EndChat(Exception):
    """A person typed "exit"."""


def read_line(prompt: str) -> str:
    """A line a person types at the terminal ("exit" at the end of input)."""
    try:
        return input(prompt)
    except EOFError:
        return EXIT


@dataclass
class Agent:
    name: str
    system_message: str = "You are a helpful AI assistant."
    model: Model | None = None
    tools: Sequence[Callable[..., Any]] = ()
    code_execution: Sandbox | None = None
    human_input_mode: HumanMode = "never"
    reply_function: Callable[[list[ChatMessage], Agent], str | None | Awaitable[str | None]] | None = None
    description: str = ""
    default_reply: str | None = None
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None
    max_tool_rounds: int = 5
    ask: Callable[[str], str] = read_line
    functions: dict[str, Callable[..., Any]] = field(init=False)
    specs: tuple[Tool, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.human_input_mode not in HUMAN_MODES:
            raise ConfigError(
                f"agent {self.name}: human_input_mode must be one of {', '.join(HUMAN_MODES)}, "
                f"got {self.human_input_mode!r}"
            )
        self.specs = tuple(Tool.from_function(fn) for fn in self.tools)
        self.functions = {spec.name: fn for spec, fn in zip(self.specs, self.tools)}
        self.recorder: Recorder | None = None

    def start(self, sink: TraceSink | None = None) -> None:
        """Begin a conversation: a fresh record of this agent's calls (its cost)."""
        if self.model is not None:
            self.recorder = Recorder(self.model, sink=sink)
        else:
            self.recorder = Recorder(_NoModel(self.name), sink=sink)

    def human(self, last: ChatMessage, why: str) -> str | None:
        """What a person types as this agent's reply (None: reply automatically)."""
        text = self.ask(f"[{self.name}] {why}; reply to {last.speaker} (empty: automatic, 'exit': end): ")
        if text.strip().lower() == EXIT:
            raise EndChat()
        return text if text.strip() else None

    async def reply(self, history: list[ChatMessage], meter: Meter) -> str | None:
        """This agent's reply to the conversation so far (None: it has nothing to say)."""
        assert self.recorder is not None, "start() the agent before asking it to reply"
        last = history[-1]
        if self.human_input_mode == "always":
            typed = self.human(last, "your turn")
            if typed is not None:
                return typed
        if self.reply_function is not None:
            given = self.reply_function(history, self)
            text = await given if inspect.isawaitable(given) else given
            if text is not None:
                return text
        if self.code_execution is not None:
            blocks = code_blocks(last.content)
            if blocks:
                return await self.execute(blocks)
        if self.model is not None:
            return await self.ask_model(history, meter)
        return self.default_reply

    async def execute(self, blocks: Sequence[Any]) -> str:
        """Run the code blocks in order, stopping at the first that fails; their reports."""
        assert self.recorder is not None and self.code_execution is not None
        reports = []
        for i, block in enumerate(blocks, 1):
            result = await asyncio.to_thread(self.code_execution.run, block.code, block.language)
            self.recorder.record(
                CodeExecution(
                    block.language, block.code, result.stdout, result.stderr, result.exit_code, result.seconds
                )
            )
            reports.append(f"code block {i} ({block.language}): {result.report()}")
            if not result.ok:
                break
        return "\n\n".join(reports)

    def view(self, history: list[ChatMessage]) -> list[Message]:
        """The conversation as this agent's model sees it: its own messages as the assistant's,
        the others' as the user's, each named when more than two speak."""
        named = len({m.speaker for m in history} | {self.name}) > 2
        out = [Message("system", self.system_message)]
        for m in history:
            if m.speaker == self.name:
                out.append(Message("assistant", m.content))
            else:
                out.append(Message("user", f"{m.speaker}: {m.content}" if named else m.content))
        return out

    async def ask_model(self, history: list[ChatMessage], meter: Meter) -> str:
        """The model's reply, after the tool calls it asks for: native calls where the backend has
        them, else the tools described in the system message and each reply held to "call a tool
        or reply" where the backend holds replies to a schema, or read for a written call where it
        does not (`tool_fallback`)."""
        assert self.recorder is not None and self.model is not None
        native = TOOLS in self.model.abilities
        held = bool(self.specs) and not native and JSON_SCHEMA in self.model.abilities
        messages = self.view(history)
        if self.specs and not native:
            prompt = f"{self.system_message}\n\n{tools_prompt(self.specs, held)}"
            messages[0] = Message("system", prompt)
        text = ""
        for _ in range(self.max_tool_rounds + 1):
            max_tokens = meter.admit(self.max_tokens)
            request = GenerationRequest(
                messages=tuple(messages),
                max_tokens=max_tokens,
                temperature=self.temperature,
                seed=self.seed,
                tools=self.specs if native else (),
                response_format=call_or_reply(self.specs) if held else None,
            )
            left = meter.seconds_left()
            try:
                completions = await asyncio.wait_for(self.recorder.generate(request, "reply"), left)
            except TimeoutError:
                raise BudgetSpent("seconds") from None
            meter.charge(sum(c.usage.completion_tokens for c in completions))
            reply = completions[0]
            text = reply.text
            if native:
                calls = reply.tool_calls or self.written_calls(text)
                if not calls:
                    return text
                messages.append(Message("assistant", "" if not reply.tool_calls else text, tool_calls=calls))
                for call in calls:
                    messages.append(Message("tool", await self.call_tool(call), tool_call_id=call.id))
                continue
            words, written = read_reply(text, self.specs) if self.specs else (text, None)
            if written is None:
                return words
            messages.append(Message("assistant", text))
            messages.append(Message("user", f"Result of {written.name}: {await self.call_tool(written)}"))
        return text

    def written_calls(self, text: str) -> tuple[FunctionCall, ...]:
        """The call a reply wrote as text instead of as a tool call, when the whole reply is one JSON
        object `{"name": TOOL, "arguments": {...}}` naming one of this agent's tools (small models
        often answer so when the backend's chat format does not catch it); else none."""
        call = written_call(text, self.specs) if self.specs else None
        return () if call is None else (call,)

    async def call_tool(self, call: FunctionCall) -> str:
        """Make one call the model asked for; its result, or the error, as the tool's reply."""
        assert self.recorder is not None
        start = time.perf_counter()
        fn = self.functions.get(call.name)
        error = call.error
        result: Any = None
        if error is None and fn is None:
            error = f"no tool named {call.name!r}"
        if error is None and fn is not None:
            try:
                result = fn(**dict(call.arguments or {}))
                if inspect.isawaitable(result):
                    result = await result
            except Exception as e:  # the model reads what went wrong, the conversation goes on
                error = f"{type(e).__name__}: {e}"
        self.recorder.record(
            ToolCall(
                call.name, dict(call.arguments or {}), _plain(result), error, time.perf_counter() - start
            )
        )
        return f"Error: {error}" if error is not None else str(result)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None) | list | dict) else repr(value)


@dataclass
class _NoModel:
    """The Recorder's model for an agent without one: it records tool calls and executions only."""

    name: str
    model_id: str = "none"
    abilities: frozenset[str] = field(default_factory=frozenset)

    async def generate(self, request: GenerationRequest) -> list[Any]:
        raise ConfigError(f"agent {self.name} has no model")
