"""Chat rendering with a GGUF's own Jinja chat template, tools included, and reading the function
calls a local model writes back.

A template offers tools when it uses a `tools` variable and writes calls as
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks (Qwen2.5, Hermes and their
kin). The template gets what Hugging Face's chat templating passes: `tools` as OpenAI function
specs, an assistant turn's calls as `[{"type": "function", "function": {"name", "arguments":
<dict>}}]`, and `tool` turns with their `tool_call_id`. `split_calls` reads the blocks of a
reply into `FunctionCall`s, each checked against the request's tools (a block that is not JSON or
names no function becomes a call carrying an error; nothing here raises on a reply), and
`CallTextFilter` streams the text outside the blocks. Pure: nothing here loads a model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox

from ponder.contract import FunctionCall, Tool, call_id, read_call
from ponder.models.grammar import CALL_CLOSE, CALL_OPEN
from ponder.types import GenerationRequest, Message

_BLOCK = re.compile(re.escape(CALL_OPEN) + r"(.*?)(?:" + re.escape(CALL_CLOSE) + r"|\Z)", re.DOTALL)


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: Any = None,
    sort_keys: bool = False,
) -> str:
    """JSON as Hugging Face's chat templates expect `tojson` to write it (no HTML escaping)."""
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _environment() -> jinja2.sandbox.ImmutableSandboxedEnvironment:
    """The sandboxed Jinja environment chat templates run in, with the helpers they call."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    env.filters["tojson"] = _tojson
    return env


class ChatTemplate:
    """A GGUF's chat template: renders a request's turns (and its tools, when offered)."""

    def __init__(self, source: str) -> None:
        env = _environment()
        self.source = source
        self.template = env.from_string(source)
        names = jinja2.meta.find_undeclared_variables(env.parse(source))
        self.supports_tools = "tools" in names and CALL_OPEN in source

    def render(self, request: GenerationRequest, bos: str = "", eos: str = "") -> str:
        """The prompt for `request`'s messages, ending with the generation prompt (tools offered
        unless tool_choice is "none")."""
        extra: dict[str, Any] = {}
        if request.tools and request.tool_choice != "none":
            extra["tools"] = [t.to_openai() for t in request.tools]
        messages = [message_dict(m) for m in request.messages]
        return self.template.render(
            messages=messages, add_generation_prompt=True, bos_token=bos, eos_token=eos, **extra
        )


def message_dict(message: Message) -> dict[str, Any]:
    """A turn as chat templates take it: role and content, an assistant turn's calls in OpenAI's
    shape with their arguments as an object (their raw text when they could not be parsed), and a
    tool turn's `tool_call_id`."""
    d: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        d["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": dict(c.arguments) if c.arguments is not None else c.raw,
                },
            }
            for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        d["tool_call_id"] = message.tool_call_id
    return d


def read_block(block: str, tools: Sequence[Tool], position: int) -> FunctionCall:
    """The call a `<tool_call>` block's inside asks for; a block that is not a JSON object with a
    string `name` becomes a call carrying an error."""
    raw = block.strip()
    try:
        value = json.loads(raw)
    except ValueError as e:
        return FunctionCall(call_id("", raw, position), "", None, raw, f"the tool call is not JSON: {e}")
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        return FunctionCall(
            call_id("", raw, position), "", None, raw, "the tool call must be a JSON object with a name"
        )
    arguments = value.get("arguments", value.get("parameters"))
    if arguments is None:
        args_text = ""
    elif isinstance(arguments, str):
        args_text = arguments
    else:
        args_text = json.dumps(arguments, ensure_ascii=False)
    return read_call(value["name"], args_text, tools, position=position)


def split_calls(text: str, tools: Sequence[Tool]) -> tuple[str, tuple[FunctionCall, ...]]:
    """The text outside the `<tool_call>` blocks (joined, stripped) and the calls the blocks ask
    for, in order. An unclosed block at the end is read as a block."""
    calls = tuple(read_block(m.group(1), tools, k) for k, m in enumerate(_BLOCK.finditer(text)))
    return _BLOCK.sub("", text).strip(), calls


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of `text` that is a proper beginning of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class CallTextFilter:
    """Streams the text outside `<tool_call>` blocks as `split_calls` returns it: leading whitespace
    dropped, trailing whitespace held until more outside text follows, and a possible beginning
    of a tag held until it is decided. `feed` takes new text and returns what may be shown;
    `finish` returns what is left to show."""

    def __init__(self) -> None:
        self.pending = ""  # undecided text
        self.held = ""  # whitespace that shows only if more outside text follows
        self.inside = False
        self.shown = False

    def feed(self, text: str) -> str:
        """Take new reply text; return the outside text that can be shown now."""
        self.pending += text
        out: list[str] = []
        while self.pending:
            tag = CALL_CLOSE if self.inside else CALL_OPEN
            at = self.pending.find(tag)
            if at >= 0:
                if not self.inside:
                    out.append(self._outside(self.pending[:at]))
                self.pending = self.pending[at + len(tag) :]
                self.inside = not self.inside
                continue
            keep = _partial_suffix(self.pending, tag)
            if not self.inside:
                out.append(self._outside(self.pending[: len(self.pending) - keep]))
            self.pending = self.pending[len(self.pending) - keep :]
            break
        return "".join(out)

    def _outside(self, text: str) -> str:
        """Outside text to show now, with whitespace at the edges held or dropped."""
        whole = self.held + text
        if not self.shown:
            whole = whole.lstrip()
        body = whole.rstrip()
        self.held = whole[len(body) :]
        if body:
            self.shown = True
        return body

    def finish(self) -> str:
        """What is left to show once the reply is complete."""
        rest = "" if self.inside else self.pending
        self.pending = ""
        return self._outside(rest)


def unsupported_tools_message(model: str) -> str:
    """The refusal for tools on a model whose chat template cannot offer them."""
    return f"{model} does not support tools: its chat template has no <tool_call> tools section"
