"""The data that flows through ponder: requests, completions, the events of a trace (model calls,
tool calls, code executions, observations, memory writes), tasks and results.

All frozen dataclasses. A `GenerationRequest` has one canonical JSON form; its sha256 (plus the
model's identity and the sample index) is the cache key.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ponder.contract import CHOICES, FunctionCall, ResponseFormat, Tool

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class Message:
    """One turn. An assistant turn may carry the function calls it made (`tool_calls`); a `tool`
    turn is the reply to one of them, named by `tool_call_id`."""

    role: Role
    content: str
    tool_calls: tuple[FunctionCall, ...] = ()
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """role and content, and the tool fields only where set (so plain turns keep their form)."""
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        return d


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: either chat `messages` or a raw `prompt`, never both.

    `assistant_prefix` continues a partial assistant turn (chat) or is appended to the raw prompt:
    the completion text is what comes after the prefix.
    `seed`: sample i of a request with seed s is drawn with seed s + i, so samples differ and repeat.
    `logprobs`: return the log-probability of each generated token; `top_logprobs` alternatives too.
    `tools`: functions the model may call; `tool_choice`: "auto" (the model decides), "none",
    "required" (some call) or the name of the one function it must call.
    `response_format`: the JSON shape every reply must have.
    The three are left out of the canonical form while unset, so requests without them keep the
    cache keys they had before these fields existed.
    """

    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    assistant_prefix: str = ""
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    tools: tuple[Tool, ...] = ()
    tool_choice: str = "auto"
    response_format: ResponseFormat | None = None

    def __post_init__(self) -> None:
        """Check every field and store it in one canonical form (ints as ints, floats as finite
        floats with -0.0 as 0.0, sequences as tuples), so that equal requests have equal keys."""
        from ponder.errors import RequestError

        messages = self.messages
        if isinstance(messages, (str, bytes, dict)) or not isinstance(messages, (tuple, list)):
            raise RequestError(f"messages must be a sequence of messages, got {type(messages).__name__}")
        object.__setattr__(self, "messages", tuple(_message(m, i) for i, m in enumerate(messages)))
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise RequestError(f"prompt must be a string, got {type(self.prompt).__name__}")
        if bool(self.messages) == (self.prompt is not None):
            raise RequestError("a request needs either messages or a prompt (exactly one)")
        if not isinstance(self.assistant_prefix, str):
            raise RequestError(
                f"assistant_prefix must be a string, got {type(self.assistant_prefix).__name__}"
            )
        for name, low in (("n", 1), ("max_tokens", 1), ("top_logprobs", 0)):
            value = _integer(name, getattr(self, name))
            if value < low:
                raise RequestError(f"{name} must be at least {low}, got {value}")
            object.__setattr__(self, name, value)
        if self.seed is not None:
            object.__setattr__(self, "seed", _integer("seed", self.seed))
        temperature = _real("temperature", self.temperature)
        if temperature < 0:
            raise RequestError(f"temperature must be >= 0, got {temperature}")
        top_p = _real("top_p", self.top_p)
        if not 0 < top_p <= 1:
            raise RequestError(f"top_p must be in (0, 1], got {top_p}")
        object.__setattr__(self, "temperature", temperature)
        object.__setattr__(self, "top_p", top_p)
        if not isinstance(self.logprobs, bool):
            raise RequestError(f"logprobs must be true or false, got {self.logprobs!r}")
        stop = self.stop
        if (
            isinstance(stop, (str, bytes))
            or not isinstance(stop, (tuple, list))
            or not all(isinstance(s, str) for s in stop)
        ):
            raise RequestError(f"stop must be a sequence of strings, got {stop!r}")
        object.__setattr__(self, "stop", tuple(stop))
        self._check_tools()

    def _check_tools(self) -> None:
        from ponder.errors import RequestError

        tools = self.tools
        if isinstance(tools, (str, bytes, dict)) or not isinstance(tools, (tuple, list)):
            raise RequestError(f"tools must be a sequence of tools, got {type(tools).__name__}")
        tools = tuple(Tool.from_dict(t) if isinstance(t, dict) else t for t in tools)
        for i, t in enumerate(tools):
            if not isinstance(t, Tool):
                raise RequestError(f"tools[{i}] must be a Tool or a dict, got {type(t).__name__}")
        names = [t.name for t in tools]
        if len(set(names)) != len(names):
            raise RequestError(f"tools must have distinct names, got {names}")
        object.__setattr__(self, "tools", tools)
        choice = self.tool_choice
        if not isinstance(choice, str):
            raise RequestError(f"tool_choice must be a string, got {choice!r}")
        if choice not in CHOICES and choice not in names:
            raise RequestError(
                f"tool_choice must be auto, none, required or the name of a tool ({', '.join(names) or 'none given'}), "
                f"got {choice!r}"
            )
        if choice != "auto" and choice != "none" and not tools:
            raise RequestError(f"tool_choice {choice!r} needs tools")
        fmt = self.response_format
        if isinstance(fmt, dict):
            fmt = ResponseFormat.from_dict(fmt)
        if fmt is not None and not isinstance(fmt, ResponseFormat):
            raise RequestError(
                f"response_format must be a ResponseFormat or a dict, got {type(fmt).__name__}"
            )
        object.__setattr__(self, "response_format", fmt)

    @property
    def forces_call(self) -> bool:
        """Whether the model must answer with a function call (tool_choice required or a name)."""
        return bool(self.tools) and self.tool_choice not in ("auto", "none")

    @classmethod
    def chat(cls, user: str, system: str | None = None, **kw: Any) -> GenerationRequest:
        msgs = ([Message("system", system)] if system else []) + [Message("user", user)]
        return cls(messages=tuple(msgs), **kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["messages"] = [m.to_dict() for m in self.messages]
        d["stop"] = list(self.stop)
        for name in ("tools", "tool_choice", "response_format"):
            d.pop(name)
        if self.tools:
            d["tools"] = [t.to_dict() for t in self.tools]
        if self.tool_choice != "auto":
            d["tool_choice"] = self.tool_choice
        if self.response_format is not None:
            d["response_format"] = self.response_format.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerationRequest:
        d = dict(d)
        d["messages"] = tuple(d.get("messages", ()))
        d["stop"] = tuple(d.get("stop", ()))
        d["tools"] = tuple(d.get("tools", ()))
        return cls(**d)

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, floats as JSON floats: equal requests give equal strings."""
        d = self.to_dict()
        d["temperature"] = float(d["temperature"])
        d["top_p"] = float(d["top_p"])
        return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def with_n(self, n: int) -> GenerationRequest:
        return replace(self, n=n)


ROLES = ("system", "user", "assistant", "tool")
MESSAGE_FIELDS = ("role", "content", "tool_calls", "tool_call_id")


def _message(m: Any, i: int) -> Message:
    from ponder.errors import RequestError

    if isinstance(m, dict):
        unknown = sorted(set(m) - set(MESSAGE_FIELDS))
        if unknown or "role" not in m or "content" not in m:
            raise RequestError(
                f"messages[{i}] must have the fields role and content (and tool_calls or tool_call_id), "
                f"got {sorted(m)}"
            )
        calls = m.get("tool_calls") or ()
        if isinstance(calls, (str, bytes, dict)) or not isinstance(calls, (tuple, list)):
            raise RequestError(f"messages[{i}].tool_calls must be a list of calls")
        m = Message(
            m["role"],
            m["content"],
            tuple(c if isinstance(c, FunctionCall) else FunctionCall.from_dict(c) for c in calls),
            m.get("tool_call_id"),
        )
    if not isinstance(m, Message):
        raise RequestError(f"messages[{i}] must be a Message or a dict, got {type(m).__name__}")
    if m.role not in ROLES:
        raise RequestError(f"messages[{i}].role must be one of {', '.join(ROLES)}, got {m.role!r}")
    if not isinstance(m.content, str):
        raise RequestError(f"messages[{i}].content must be a string, got {type(m.content).__name__}")
    calls = m.tool_calls
    if not isinstance(calls, tuple) or not all(isinstance(c, FunctionCall) for c in calls):
        raise RequestError(f"messages[{i}].tool_calls must be a tuple of FunctionCall")
    if calls and m.role != "assistant":
        raise RequestError(f"messages[{i}]: only an assistant turn carries tool_calls, not a {m.role} turn")
    if (m.role == "tool") != (m.tool_call_id is not None):
        raise RequestError(f"messages[{i}]: a tool turn, and only a tool turn, names a tool_call_id")
    if m.tool_call_id is not None and not isinstance(m.tool_call_id, str):
        raise RequestError(f"messages[{i}].tool_call_id must be a string")
    return m


def _integer(name: str, value: Any) -> int:
    """`value` as an int: ints and integral floats (5.0) pass, bools and fractions do not."""
    from ponder.errors import RequestError

    if isinstance(value, bool):
        raise RequestError(f"{name} must be an integer, not {value}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(float(value))
    raise RequestError(f"{name} must be an integer, got {value!r}")


def _real(name: str, value: Any) -> float:
    """`value` as a finite float, -0.0 as 0.0; bools, NaN and infinities are refused."""
    from ponder.errors import RequestError

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RequestError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise RequestError(f"{name} must be a finite number, got {number}")
    return number + 0.0


def cache_key(model_id: str, request: GenerationRequest) -> str:
    """sha256 of the model identity and the canonical request, sample count excluded.

    `n` is left out so that sample i of an n=8 request and sample i of an n=4 request of the same
    prompt share a cache entry; the entry itself is addressed by (key, sample index).
    """
    body = json.loads(request.canonical_json())
    body.pop("n")
    payload = json.dumps(
        {"model": model_id, "request": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Usage:
    """Tokens of one completion.

    `cached_prompt_tokens`: prompt tokens this completion did not pay for because they were shared
    with another sample of the same request (or served from a server's prompt cache).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0

    @property
    def prompt_tokens_evaluated(self) -> int:
        return self.prompt_tokens - self.cached_prompt_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True)
class Completion:
    """One sample. `cached` is true when it came from ponder's cache, with the original usage.

    `notes` says what the backend boundary changed in the reply before it became `text` (invalid
    code points replaced, content parts joined), so the call's record shows it. `tool_calls`: the
    function calls the reply asks for (finish reason "tool_calls"), each checked against the
    request's tools; `text` is then what the model wrote besides them.
    """

    text: str
    finish_reason: FinishReason
    usage: Usage
    logprobs: tuple[TokenLogprob, ...] | None = None
    index: int = 0
    latency_s: float = 0.0
    cached: bool = False
    notes: tuple[str, ...] = ()
    tool_calls: tuple[FunctionCall, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.logprobs is not None:
            d["logprobs"] = [[t.token, t.logprob, [list(x) for x in t.top]] for t in self.logprobs]
        d.pop("tool_calls")
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        d = dict(d)
        d["usage"] = Usage(**d["usage"])
        d["notes"] = tuple(d.get("notes", ()))
        d["tool_calls"] = tuple(FunctionCall.from_dict(c) for c in d.get("tool_calls", ()))
        if d.get("logprobs") is not None:
            d["logprobs"] = tuple(
                TokenLogprob(t, lp, tuple(tuple(x) for x in top)) for t, lp, top in d["logprobs"]
            )
        return cls(**d)


@dataclass(frozen=True)
class ModelCall:
    """One model call: the request as sent, its completions, the seconds it took, why it was made
    (`purpose`: "generate", "extract", "verify…", "judge"…) and the `model_id` of the model that
    answered. `model` is None for a call that did not go through a model backend (an HTTP reward
    model): the store's calls table, which is the cache, never holds such a call."""

    request: GenerationRequest
    completions: tuple[Completion, ...]
    latency_s: float
    purpose: str = "generate"
    model: str | None = None

    @property
    def usage(self) -> Usage:
        total = Usage()
        for c in self.completions:
            total = total + c.usage
        return total

    @property
    def cached(self) -> bool:
        return bool(self.completions) and all(c.cached for c in self.completions)


Call = ModelCall


@dataclass(frozen=True)
class ToolCall:
    """A tool the reasoning called: its name, its JSON arguments, and its JSON result or the error
    it raised."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    result: Any = field(default=None, hash=False)
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class CodeExecution:
    """Code that was run: its language, source, output and exit code (None: it did not finish)."""

    language: str
    code: str
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Observation:
    """Something the reasoning was shown that it did not ask a model for (a page, a file, a
    message), and where it came from."""

    source: str
    content: str


@dataclass(frozen=True)
class MemoryWrite:
    """An entry written to a memory: under `key`, of a `kind` ("note", "fact", "plan"…), with an
    importance where the memory scores one."""

    key: str
    content: str
    kind: str = "note"
    importance: float | None = None


@dataclass(frozen=True)
class Utterance:
    """A message one agent said to the others in a conversation."""

    speaker: str
    content: str


Event = ModelCall | ToolCall | CodeExecution | Observation | MemoryWrite | Utterance
EVENT_TYPES: tuple[type[Any], ...] = (ModelCall, ToolCall, CodeExecution, Observation, MemoryWrite, Utterance)


@dataclass(frozen=True)
class Trace:
    """The events of one task, in the order they happened."""

    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(self.events))
        for e in self.events:
            if not isinstance(e, EVENT_TYPES):
                raise TypeError(f"a trace holds events, not {type(e).__name__}")

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    @property
    def model_calls(self) -> tuple[ModelCall, ...]:
        return tuple(e for e in self.events if isinstance(e, ModelCall))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(e for e in self.events if isinstance(e, ToolCall))


@dataclass(frozen=True)
class Task:
    """One problem: an id, the question (or other input), and the gold answer when known.

    `kind` says how answers are extracted and compared: one of `ponder.tasks.answers.KINDS`
    ("number", "choice", "yesno", "math", "text", "grid", "open").
    """

    id: str
    question: str
    answer: str | None = None
    kind: str = "number"
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Compute:
    """What answering one task cost.

    Totals include every model call; `cached_*` says how much of it came from ponder's cache
    (tokens the backend did not spend this time); `verifier_*` is the share spent by verifiers
    (calls whose purpose starts with "verify"). `seconds` is wall time for the whole task.
    """

    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cached_calls: int = 0
    seconds: float = 0.0
    cached_tokens: int = 0
    verifier_calls: int = 0
    verifier_prompt_tokens: int = 0
    verifier_completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def of(cls, events: Iterable[Event], seconds: float) -> Compute:
        """The cost of a trace (or any events): its model calls counted, other events not."""
        calls = [e for e in events if isinstance(e, ModelCall)]
        u = Usage()
        verifier = Usage()
        cached_tokens = 0
        for c in calls:
            u = u + c.usage
            if c.purpose.startswith("verify"):
                verifier = verifier + c.usage
            cached_tokens += sum(
                x.usage.prompt_tokens + x.usage.completion_tokens for x in c.completions if x.cached
            )
        return cls(
            u.prompt_tokens,
            u.prompt_tokens_evaluated,
            u.completion_tokens,
            len(calls),
            sum(1 for c in calls if c.cached),
            seconds,
            cached_tokens,
            sum(1 for c in calls if c.purpose.startswith("verify")),
            verifier.prompt_tokens,
            verifier.completion_tokens,
        )


@dataclass(frozen=True)
class Details:
    """What a strategy or probe found out about one task beyond its answer. This base holds
    nothing; each strategy and probe has a frozen subclass, and `ponder.details` names each one
    for the store."""


@dataclass(frozen=True)
class BudgetUse:
    """A task's token budget (None: no limit) and what was spent of it; `hit` when the budget
    stopped or cut a call."""

    per_call: int | None = None
    per_task: int | None = None
    spent: int = 0
    hit: bool = False


@dataclass(frozen=True)
class Result:
    """What a strategy returns for a task: the answer, whether it is right, and the whole trace.

    `details`: what the strategy or probe found beyond the answer (votes, scores, attempts, a
    probe's measurements); `budget`: the budget and its use (None where no budget applied, such as
    an item that failed before any call); `model`: the model that answered, set by whoever ran the
    task. `error` is set when the item could not be answered because its calls kept failing (the
    backend gave up on them): such an item is counted as errored, not as wrong, and a resumed run
    tries it again.

    Two results are equal when every field is (the trace, compute, details, budget and model
    included); a task's `meta` is not part of a task's equality. `trace` may be given as any
    sequence of events; it is kept as a `Trace`.
    """

    task: Task
    strategy: str
    answer: str | None
    reasoning: str
    correct: bool | None
    trace: Trace
    compute: Compute
    details: Details = field(default_factory=Details)
    budget: BudgetUse | None = None
    model: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.trace, Trace):
            object.__setattr__(self, "trace", Trace(tuple(self.trace)))

    @property
    def calls(self) -> tuple[ModelCall, ...]:
        """The model calls of the trace, in order."""
        return self.trace.model_calls


WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
_SCORE = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}


@dataclass(frozen=True)
class Battle:
    """One arena verdict: on one question (and turn), between two players, by a judge."""

    question_id: str
    model_a: str
    model_b: str
    winner: str
    judge: str
    turn: int = 1
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.winner not in WINNERS:
            raise ValueError(f"winner {self.winner!r}: expected one of {', '.join(WINNERS)}")
        if self.model_a == self.model_b:
            raise ValueError(f"a battle needs two players; both are {self.model_a!r}")

    @property
    def outcome(self) -> tuple[str, str, float]:
        """(model_a, model_b, score of model_a) for the ratings."""
        return self.model_a, self.model_b, _SCORE[self.winner]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.data,
            "question_id": self.question_id,
            "turn": self.turn,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "winner": self.winner,
            "judge": self.judge,
        }
