"""Tools for a model whose backend has no tool calls: the tools are described in the system
message, and the reply is held to a choice between calling one of them and answering in words.

Where the backend holds replies to a JSON schema (`JSON_SCHEMA`), every reply is one JSON object,
either `{"name": TOOL, "arguments": {...}}` (the arguments held to that tool's schema) or
`{"reply": TEXT}` (`call_or_reply`); where it does not, the model is asked to write a call as that
JSON object and nothing else, and a reply that is one is taken as the call (`written_call`). The
tool's result goes back as a user turn ("Result of TOOL: …"), which any chat format can show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ponder.contract import FunctionCall, ResponseFormat, Tool, read_call

REPLY = "reply"


def tools_prompt(tools: Sequence[Tool], constrained: bool) -> str:
    """What the system message adds so the model knows its tools and how to call them."""
    lines = ["You can call these tools:"]
    for t in tools:
        lines.append(
            f"- {t.name}: {t.description or 'no description'} Arguments (JSON schema): "
            f"{json.dumps(t.parameters, sort_keys=True)}"
        )
    lines.append('To call a tool, reply with only {"name": TOOL, "arguments": {...}}.')
    if constrained:
        lines.append('To answer without a tool, reply with {"reply": YOUR ANSWER}.')
    return "\n".join(lines)


def call_or_reply(tools: Sequence[Tool]) -> ResponseFormat:
    """The reply format: a call of one of `tools` with arguments that fit its schema, or a reply."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": dict(t.parameters)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    options.append(
        {
            "type": "object",
            "properties": {REPLY: {"type": "string"}},
            "required": [REPLY],
            "additionalProperties": False,
        }
    )
    return ResponseFormat({"anyOf": options}, "call_or_reply")


def written_call(text: str, tools: Sequence[Tool]) -> FunctionCall | None:
    """The call a reply wrote as text, when the whole reply is one JSON object `{"name": TOOL,
    "arguments": {...}}` naming one of `tools` (the arguments checked by `read_call`); else None."""
    value = _json(text)
    if not isinstance(value, dict) or set(value) != {"name", "arguments"}:
        return None
    name, arguments = value["name"], value["arguments"]
    if name not in {t.name for t in tools} or not isinstance(arguments, dict):
        return None
    return read_call(name, json.dumps(arguments), tools)


def read_reply(text: str, tools: Sequence[Tool]) -> tuple[str, FunctionCall | None]:
    """A held reply read: its words (the `reply` field, or the text as it came when it is not the
    JSON it should be, e.g. cut short) and the call it makes, if any."""
    call = written_call(text, tools)
    if call is not None:
        return "", call
    value = _json(text)
    if isinstance(value, dict) and isinstance(value.get(REPLY), str):
        return value[REPLY], None
    return text, None


def _json(text: str) -> Any:
    try:
        return json.loads(text.strip())
    except ValueError:
        return None
