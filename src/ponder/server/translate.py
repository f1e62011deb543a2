"""OpenAI request fields into ponder's objects, and the fields a route cannot honour refused.

A request passed through becomes one `GenerationRequest` with its sampling fields as given. A
request to a strategy becomes a `Task`: the last user turn is the question and the turns before
it are the conversation the strategy's prompt continues (`Task.meta["context"]`); `temperature`,
`max_tokens` (per call) and `seed` become the strategy's options where it takes them. Everything
else a strategy cannot honour (`n` > 1, `stop`, `top_p`, `tools`, `response_format`, logprobs,
penalties) is refused with a 400 naming it.
"""

from __future__ import annotations

from typing import Any

from ponder.contract import FunctionCall, ResponseFormat, Tool
from ponder.errors import RequestError
from ponder.server.config import Limits
from ponder.server.errors import bad_request, unsupported
from ponder.server.routing import Route
from ponder.server.schema import ChatMessageIn, ChatRequest, CompletionRequest, Sampling
from ponder.strategies.registry import ALLOWED
from ponder.types import GenerationRequest, Message

# Strategies whose prompt continues a conversation (the chain prompts and the samplers over them).
CONVERSATIONAL = (
    "direct",
    "cot",
    "chain-of-draft",
    "self-consistency",
    "weighted-vote",
    "best-of-n",
    "adaptive-consistency",
    "beam-search",
)


def text_of(m: ChatMessageIn, i: int) -> str:
    if m.content is None:
        return ""
    if isinstance(m.content, str):
        return m.content
    return "".join(part.text for part in m.content)


def messages_of(req: ChatRequest) -> tuple[Message, ...]:
    out = []
    for i, m in enumerate(req.messages):
        role = "system" if m.role == "developer" else m.role
        calls = tuple(
            FunctionCall(c.id, c.function.name, None, c.function.arguments) for c in (m.tool_calls or ())
        )
        try:
            out.append(Message(role, text_of(m, i), calls, m.tool_call_id))
        except RequestError as e:
            raise bad_request(str(e), param=f"messages[{i}]") from None
    return tuple(out)


def stops(req: Sampling) -> tuple[str, ...]:
    if req.stop is None:
        return ()
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop)
    if len(stop) > 4:
        raise bad_request("stop: at most 4 sequences", param="stop")
    return tuple(stop)


def max_tokens(req: Sampling, limits: Limits) -> int | None:
    value = getattr(req, "max_completion_tokens", None) or req.max_tokens
    if value is not None and value > limits.max_tokens:
        param = "max_completion_tokens" if getattr(req, "max_completion_tokens", None) else "max_tokens"
        raise bad_request(f"{param}: at most {limits.max_tokens} on this server, got {value}", param=param)
    return value


def refuse_common(req: Sampling) -> None:
    """Fields no route honours."""
    for name in ("presence_penalty", "frequency_penalty"):
        if getattr(req, name) not in (None, 0, 0.0):
            raise unsupported(name, "not supported by ponder serve; leave it out or set it to 0")
    if req.logit_bias:
        raise unsupported("logit_bias", "not supported by ponder serve")
    if req.logprobs not in (None, False, 0):
        raise unsupported("logprobs", "not supported by ponder serve")
    if getattr(req, "top_logprobs", None):
        raise unsupported("top_logprobs", "not supported by ponder serve")
    if getattr(req, "parallel_tool_calls", None) is False:
        raise unsupported(
            "parallel_tool_calls", "a reply may always hold several calls; leave it out or set true"
        )
    for i, m in enumerate(getattr(req, "messages", ())):
        if m.name is not None:
            raise unsupported(f"messages[{i}].name", "names of participants are not supported")
    if req.stream_options is not None and not req.stream:
        raise bad_request("stream_options: only with stream: true", param="stream_options")


def check_samples(n: int, limits: Limits, param: str) -> None:
    if n > limits.max_samples:
        raise bad_request(
            f"{param}: at most {limits.max_samples} samples per request on this server, got {n}", param=param
        )


def tools_of(req: ChatRequest) -> tuple[tuple[Tool, ...], str]:
    tools = []
    for i, t in enumerate(req.tools or ()):
        f = t.function
        try:
            tools.append(
                Tool(f.name, f.description or "", f.parameters or {"type": "object", "properties": {}})
            )
        except RequestError as e:
            raise bad_request(f"tools[{i}]: {e}", param=f"tools[{i}]") from None
    choice = req.tool_choice
    name = "auto" if choice is None else choice if isinstance(choice, str) else choice.function.name
    return tuple(tools), name


def response_format_of(req: ChatRequest) -> ResponseFormat | None:
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object" or fmt.json_schema is None:
        raise unsupported("response_format", "give a json_schema (type json_object is not supported)")
    try:
        return ResponseFormat(fmt.json_schema.schema_, fmt.json_schema.name)
    except RequestError as e:
        raise bad_request(f"response_format: {e}", param="response_format") from None


def pass_through(req: ChatRequest | CompletionRequest, limits: Limits) -> GenerationRequest:
    """The one generation a request passed through asks for."""
    refuse_common(req)
    n = req.n or 1
    check_samples(n, limits, "n")
    kw: dict[str, Any] = {
        "n": n,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "max_tokens": max_tokens(req, limits) or limits.max_tokens,
        "stop": stops(req),
        "seed": req.seed,
    }
    try:
        if isinstance(req, ChatRequest):
            tools, choice = tools_of(req)
            return GenerationRequest(
                messages=messages_of(req),
                tools=tools,
                tool_choice=choice,
                response_format=response_format_of(req),
                **kw,
            )
        refuse_completion_extras(req)
        return GenerationRequest(prompt=prompt_of(req), **kw)
    except RequestError as e:
        raise bad_request(str(e)) from None


def refuse_completion_extras(req: CompletionRequest) -> None:
    if req.echo:
        raise unsupported("echo", "not supported by ponder serve")
    if req.suffix:
        raise unsupported("suffix", "not supported by ponder serve")
    if req.best_of not in (None, 1):
        raise unsupported("best_of", "use a strategy instead, e.g. best-of-n[k=4]@BACKEND")


def prompt_of(req: CompletionRequest) -> str:
    if isinstance(req.prompt, str):
        return req.prompt
    if len(req.prompt) != 1:
        raise unsupported("prompt", f"one prompt per request, got a list of {len(req.prompt)}")
    return req.prompt[0]


def samples_of(route: Route) -> tuple[int, str]:
    """How many samples a strategy draws at once, and the option that says so."""
    o = route.options
    if route.strategy == "beam-search":
        return o.get("width", 4) * o.get("expand", 4), "width × expand"
    if route.strategy == "adaptive-consistency":
        return o.get("k", 16), "k"
    if "k" in ALLOWED.get(route.strategy or "", ()):
        return o.get("k", 8 if route.strategy != "best-of-n" else 4), "k"
    return 1, "k"


def strategy_task(
    req: ChatRequest | CompletionRequest, route: Route, limits: Limits
) -> tuple[str, tuple[Message, ...], dict[str, Any]]:
    """The question, the conversation before it and the strategy's options for a request."""
    assert route.strategy is not None
    refuse_common(req)
    name = route.strategy
    if (req.n or 1) != 1:
        raise unsupported("n", f"{name} gives one answer per request; send n=1 or leave n out")
    if req.stop is not None:
        raise unsupported("stop", f"{name} writes its own prompts and reads its own answers")
    if req.top_p not in (None, 1, 1.0):
        raise unsupported("top_p", f"{name} does not take top_p")
    options = dict(route.options)
    takes = ALLOWED[name]
    for param, option in (("temperature", "temperature"), ("seed", "seed")):
        value = getattr(req, param)
        if value is None:
            continue
        if option not in takes:
            raise unsupported(param, f"{name} does not take {param} (it decodes greedily)")
        options[option] = value
    tokens = max_tokens(req, limits)
    if tokens is not None:
        options["max_tokens"] = tokens
    for option in ("max_tokens", "step_tokens"):
        if options.get(option, 0) > limits.max_tokens:
            raise bad_request(f"{option}: at most {limits.max_tokens} on this server", param="model")
    samples, what = samples_of(route)
    check_samples(samples, limits, f"model ({what})")
    if isinstance(req, CompletionRequest):
        refuse_completion_extras(req)
        return prompt_of(req), (), options
    if req.tools:
        raise unsupported("tools", f"{name} does not call the client's tools; pass the request through")
    if req.response_format is not None and req.response_format.type != "text":
        raise unsupported("response_format", f"{name} gives its answer as text")
    messages = messages_of(req)
    if messages[-1].role != "user":
        raise bad_request(
            f"messages: a strategy answers the last turn, which must be a user turn, not {messages[-1].role}",
            param="messages",
        )
    context = messages[:-1]
    if any(m.tool_calls or m.role == "tool" for m in context):
        raise unsupported("messages", f"{name} takes a conversation of text turns, without tool calls")
    if context and name not in CONVERSATIONAL:
        raise unsupported("messages", f"{name} answers one user message; send the question alone")
    return messages[-1].content, context, options
