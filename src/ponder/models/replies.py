"""What an OpenAI-compatible server's replies must look like, checked where they enter ponder.

`parse_reply(data, chat=...)` validates a decoded JSON body as a chat/completions or a completions
reply and returns the models below, or raises `ReplyShapeError` with one short line that names the
field and the problem (`choices.0: expected an object, got null`). `parse_chunk(data, chat=...)`
does the same for one chunk of a streamed reply (the JSON of one server-sent `data:` event).

Lenient where real servers differ: extra fields are allowed; `usage` and its counts may be missing
or null (zeros); `finish_reason` may be null; `index` may be missing (the choice's position then
orders it); logprobs may be absent; a chat message's `content` may be null or a list of parts;
a function call's `id` may be missing and its `arguments` may be a JSON object rather than the
JSON text of one (it is read as that text). A chunk may have no choices (the usage chunk) and a
choice no delta.
Strict where parsing would break: counts are non-negative integers no larger than `MAX_COUNT`
(not strings, fractions or booleans; 7.0 is read as 7), logprobs are finite numbers, texts and
tokens are strings, a function call has a string name, each streamed piece of one names its
call's `index`, and a whole reply has at least one choice.

`normalise_content` and `replace_invalid` turn text as it came into text that can be stored and
encoded: text parts joined, other parts left out, null read as "", invalid code points (lone
surrogates, which JSON escapes such as "\\ud800" can carry) replaced by U+FFFD; with notes saying
what was changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

MAX_COUNT = 10**12  # no real reply counts a trillion tokens; a larger count is garbage
TEXT_PART_TYPES = frozenset({"text", "output_text"})


def _integral(value: Any) -> Any:
    """7.0 counts as 7 (some servers write counts as floats); "7", 7.5 and true stay errors."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=MAX_COUNT)]
Logprob = Annotated[float, Field(allow_inf_nan=False)]


class ReplyShapeError(ValueError):
    """A reply that is not of its API's shape; the message says where and how, in one line."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class PromptTokensDetails(_Shape):
    cached_tokens: Count | None = None


class ReplyUsage(_Shape):
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    prompt_tokens_details: PromptTokensDetails | None = None


class TopLogprob(_Shape):
    token: str
    logprob: Logprob


class ChatTokenLogprob(_Shape):
    token: str
    logprob: Logprob
    top_logprobs: list[TopLogprob] | None = None


class ChatLogprobs(_Shape):
    content: list[ChatTokenLogprob] | None = None


class ContentPart(_Shape):
    type: str
    text: str | None = None

    @model_validator(mode="after")
    def _text_parts_hold_text(self) -> ContentPart:
        if self.type in TEXT_PART_TYPES and self.text is None:
            raise PydanticCustomError("part_text", "a text part needs a string `text`")
        return self


_PARTS = TypeAdapter(list[ContentPart])


def _arguments_text(value: Any) -> Any:
    """A function call's arguments as JSON text: a JSON object some servers send is written as text."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


class FunctionSpec(_Shape):
    name: str
    arguments: Annotated[str, BeforeValidator(_arguments_text)] = ""


class ReplyToolCall(_Shape):
    id: str | None = None
    type: str | None = None
    function: FunctionSpec


class ChatMessage(_Shape):
    role: str | None = None
    content: Any = None  # a string, a tuple of ContentPart, or None (checked below)
    tool_calls: list[ReplyToolCall] | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, value: Any) -> str | tuple[ContentPart, ...] | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list):
            return tuple(_PARTS.validate_python(value))
        raise PydanticCustomError(
            "content_type", "expected a string, a list of parts or null, got {got}", {"got": json_kind(value)}
        )


class ChatChoice(_Shape):
    index: Annotated[int, Field(ge=0)] | None = None
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: ChatLogprobs | None = None


class CompletionLogprobs(_Shape):
    tokens: list[str] | None = None
    token_logprobs: list[Logprob | None] | None = None
    top_logprobs: list[dict[str, Logprob] | None] | None = None

    @model_validator(mode="after")
    def _aligned(self) -> CompletionLogprobs:
        n = len(self.tokens or ())
        for name in ("token_logprobs", "top_logprobs"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise PydanticCustomError(
                    "misaligned",
                    "{name} has {got} items for {n} tokens",
                    {"name": name, "got": len(values), "n": n},
                )
        return self


class CompletionChoice(_Shape):
    index: Annotated[int, Field(ge=0)] | None = None
    text: str
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | None = None


class ChatReply(_Shape):
    choices: Annotated[list[ChatChoice], Field(min_length=1)]
    usage: ReplyUsage | None = None


class CompletionReply(_Shape):
    choices: Annotated[list[CompletionChoice], Field(min_length=1)]
    usage: ReplyUsage | None = None


class FunctionDelta(_Shape):
    name: str | None = None
    arguments: Annotated[str, BeforeValidator(_arguments_text)] | None = None


class ToolCallDelta(_Shape):
    index: Annotated[int, Field(ge=0, le=MAX_COUNT)]
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class ChatDelta(_Shape):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChatChunkChoice(_Shape):
    index: Annotated[int, Field(ge=0)] | None = None
    delta: ChatDelta = ChatDelta()
    finish_reason: str | None = None
    logprobs: ChatLogprobs | None = None


class CompletionChunkChoice(_Shape):
    index: Annotated[int, Field(ge=0)] | None = None
    text: str = ""
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | None = None


class ChatChunk(_Shape):
    choices: list[ChatChunkChoice] = []
    usage: ReplyUsage | None = None


class CompletionChunk(_Shape):
    choices: list[CompletionChunkChoice] = []
    usage: ReplyUsage | None = None


def parse_chunk(data: Any, *, chat: bool) -> ChatChunk | CompletionChunk:
    """`data` (the decoded JSON of one streamed event) as a chat or completions chunk;
    ReplyShapeError if it is not one."""
    shape = ChatChunk if chat else CompletionChunk
    try:
        return shape.model_validate(data)
    except ValidationError as e:
        raise ReplyShapeError(describe(e)) from None


def parse_reply(data: Any, *, chat: bool) -> ChatReply | CompletionReply:
    """`data` (a decoded JSON body) as a chat or completions reply; ReplyShapeError if it is not one."""
    shape = ChatReply if chat else CompletionReply
    try:
        return shape.model_validate(data)
    except ValidationError as e:
        raise ReplyShapeError(describe(e)) from None


def json_kind(value: Any) -> str:
    """How a JSON value reads in a message: `null`, `a string ("lots")`, `a number (-1)`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({_short(value)})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any, limit: int = 24) -> str:
    text = json.dumps(value) if not isinstance(value, int) or abs(value) < 10**limit else f"{value:.3g}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TYPE_NAMES = {
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "list_type": "a list",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "a boolean",
}


def _problem(error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "missing"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {json_kind(value)}"
    if kind == "too_short":
        return (
            f"expected at least {_plural(ctx.get('min_length', 1), 'item')}, got {ctx.get('actual_length')}"
        )
    if kind in ("greater_than_equal", "greater_than"):
        return f"expected at least {ctx.get('ge', ctx.get('gt'))}, got {_short(value)}"
    if kind in ("less_than_equal", "less_than"):
        return f"expected at most {ctx.get('le', ctx.get('lt'))}, got {_short(value)}"
    message = str(error.get("msg", kind))
    return message[:1].lower() + message[1:]


def describe(error: ValidationError) -> str:
    """One short line for a pydantic error: the first problem's field path and what was wrong."""
    errors = error.errors(include_url=False)
    first = errors[0]
    path = ".".join(str(p) for p in first["loc"])
    text = f"{path}: {_problem(first)}" if path else _problem(first)
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return replace_invalid(" ".join(text.split()))[0]


_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_invalid(text: str) -> tuple[str, int]:
    """`text` with each invalid code point (a lone surrogate) replaced by U+FFFD, and how many."""
    return _SURROGATE.subn("\ufffd", text)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def normalise_content(content: str | Sequence[ContentPart] | None) -> tuple[str, tuple[str, ...]]:
    """Text that can be stored, from a message content as it came, and notes on what changed.

    A string is kept; null becomes ""; a list of parts becomes its text parts joined (other parts,
    such as images, are left out); then invalid code points are replaced by U+FFFD.
    """
    notes: list[str] = []
    if content is None:
        text = ""
        notes.append("content was null: read as empty text")
    elif isinstance(content, str):
        text = content
    else:
        texts = [p.text or "" for p in content if p.type in TEXT_PART_TYPES]
        others = sorted({p.type for p in content if p.type not in TEXT_PART_TYPES})
        text = "".join(texts)
        notes.append(f"joined {_plural(len(texts), 'content part')}")
        skipped = sum(1 for p in content if p.type not in TEXT_PART_TYPES)
        if skipped:
            kinds = replace_invalid(", ".join(t[:20] for t in others[:3]))[0]
            notes.append(f"ignored {_plural(skipped, 'non-text content part')} ({kinds})")
    text, bad = replace_invalid(text)
    if bad:
        notes.append(f"replaced {_plural(bad, 'invalid code point')}")
    return text, tuple(notes)
