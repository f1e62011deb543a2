"""The shapes `ponder serve` reads and writes: OpenAI's chat completions, completions, model list
and error, plus ponder's extension field (`ponder`: which strategy, with which options, and in the
reply what it cost and where its trace is).

Requests are strict: a field OpenAI defines that ponder cannot honour is declared here and
refused by the server with a 400 naming it; a field nobody defines is refused by validation.
These models are also the server's OpenAPI schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Strict = ConfigDict(extra="forbid")
Open = ConfigDict(extra="allow")


class TextPart(BaseModel):
    model_config = Strict
    type: Literal["text"]
    text: str


class FunctionCallIn(BaseModel):
    model_config = Strict
    name: str
    arguments: str


class ToolCallIn(BaseModel):
    model_config = Strict
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    """One turn of the conversation sent. Content is text, or text parts (joined)."""

    model_config = Strict
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionDef(BaseModel):
    model_config = Strict
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(BaseModel):
    model_config = Strict
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(BaseModel):
    model_config = Strict
    name: str


class NamedToolChoice(BaseModel):
    model_config = Strict
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(BaseModel):
    model_config = Strict
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class ResponseFormatIn(BaseModel):
    model_config = Strict
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(BaseModel):
    model_config = Strict
    include_usage: bool | None = None


class PonderOptions(BaseModel):
    """ponder's extension of a request: the strategy (overriding the one the model field names),
    its options (the names `ponder solve` takes as flags, with `_` or `-`), the answer kind and
    what the reply's content is (`answer`: the final answer; `chain`: the winning chain)."""

    model_config = Strict
    strategy: str | None = Field(default=None, min_length=1, max_length=64)
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    kind: Literal["number", "choice", "yesno", "math", "text", "grid", "open"] | None = None
    reply: Literal["answer", "chain"] | None = None


class Sampling(BaseModel):
    """What both endpoints take."""

    model_config = Strict
    model: str = Field(min_length=1, max_length=2048)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: Any = None
    user: str | None = Field(default=None, max_length=256)
    ponder: PonderOptions | None = None


class ChatRequest(Sampling):
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    tools: list[ToolDef] | None = Field(default=None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None


class CompletionRequest(Sampling):
    prompt: str | Annotated[list[str], Field(min_length=1)]
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = Field(default=None, ge=1)


# Replies.


class CompletionUsageDetails(BaseModel):
    cached_tokens: int


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: CompletionUsageDetails


class ComputeOut(BaseModel):
    """What answering cost, every internal call counted (`ponder.types.Compute`)."""

    model_config = Open
    prompt_tokens: int
    prompt_tokens_evaluated: int
    completion_tokens: int
    calls: int
    cached_calls: int
    seconds: float


class PonderReply(BaseModel):
    """ponder's extension of a reply: the trace id (`GET /v1/traces/{trace_id}`), the strategy
    (null: passed through), the extracted answer, the compute and the store run."""

    model_config = Open
    trace_id: str
    strategy: str | None
    answer: str | None
    compute: ComputeOut
    run_id: int


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class ChatMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCallOut] | None = None


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: Literal["stop", "length", "tool_calls"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: UsageOut
    ponder: PonderReply


class TextChoice(BaseModel):
    index: int
    text: str
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class TextCompletion(BaseModel):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoice]
    usage: UsageOut
    ponder: PonderReply


class ModelOut(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelOut]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"]
    in_flight: int
    limit: int


class TraceOut(BaseModel):
    """A request's full record: the stored result with every event of its trace."""

    model_config = Open
    trace_id: str
    run_id: int
    strategy: str
    model: str | None
    question: str
    answer: str | None
    reasoning: str
    error: str | None
    compute: dict[str, Any]
    details: dict[str, Any] | None
    trace: list[dict[str, Any]]


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatChunkChoice(BaseModel):
    index: int
    delta: ChunkDelta
    finish_reason: Literal["stop", "length", "tool_calls"] | None
    logprobs: None = None


class ChatChunk(BaseModel):
    """One streamed piece of a chat completion; the last carries ponder's extension, and with
    `include_usage` a final chunk with no choices carries the usage."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: UsageOut | None = None
    ponder: PonderReply | None = None


class TextChunkChoice(BaseModel):
    index: int
    text: str
    finish_reason: Literal["stop", "length"] | None
    logprobs: None = None


class TextChunk(BaseModel):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChunkChoice]
    usage: UsageOut | None = None
    ponder: PonderReply | None = None


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def event_schema(chunk: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of one server-sent event's data: a chunk, an error, or `[DONE]`; inlined
    whole, for the OpenAPI document's `text/event-stream` content."""
    from pydantic import TypeAdapter

    union: Any = chunk | ErrorResponse
    whole = TypeAdapter(union).json_schema()
    inlined = _inline(whole, whole.get("$defs", {}))
    return {"anyOf": [*inlined["anyOf"], {"type": "string", "const": "[DONE]"}]}
