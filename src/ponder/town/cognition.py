"""Asking a model for a structured answer, for the town's cognition (reflection, planning,
reacting, dialogue).

`ask` sends one prompt as a `GenerationRequest` through a `Recorder` (so the call is traced and
counted) and returns the JSON value the reply holds, checked against a JSON schema. Where the
backend holds replies to a format (`JSON_SCHEMA` among its abilities) the request carries a
`ResponseFormat`; where it does not, the prompt asks for the JSON and the first JSON object in the
reply's text is read. A reply that holds no such value raises `ReplyFormatError` naming what was
expected and what came back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ponder.contract import ResponseFormat
from ponder.errors import ReplyFormatError
from ponder.models import JSON_SCHEMA
from ponder.strategies import Templates
from ponder.town.contracts import MemoryRecord, Scored
from ponder.trace import Generator, Recorder
from ponder.types import GenerationRequest, Message

PROMPTS = Templates(Path(__file__).parent / "prompts")
JSON_INSTRUCTION = "Reply with one JSON object only, no other text, matching this JSON schema:\n{schema}"
TEMPERATURE = 0.0


def obj(**properties: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of a JSON object with exactly these properties, all required, in this order."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def text(max_length: int) -> dict[str, Any]:
    """The schema of a non-empty string of at most `max_length` characters."""
    return {"type": "string", "minLength": 1, "maxLength": max_length}


BOOLEAN: dict[str, Any] = {"type": "boolean"}


def recorder_for(model: Generator, recorder: Recorder | None) -> Recorder:
    """`recorder`, or a fresh one over `model` when none is given."""
    return recorder if recorder is not None else Recorder(model)


def read_json(reply: str) -> Any:
    """The JSON value of `reply`: the whole text, else the first JSON object found in it (code
    fences and words around it ignored); None when there is none."""
    stripped = reply.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    start = stripped.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(stripped, start)
        except ValueError:
            start = stripped.find("{", start + 1)
            continue
        return value
    return None


async def ask(
    recorder: Recorder,
    model: Generator,
    prompt: str,
    schema: Mapping[str, Any],
    *,
    name: str,
    purpose: str,
    max_tokens: int,
) -> Any:
    """The JSON value `model` answers `prompt` with, matching `schema` (named `name`); the call is
    made through `recorder` under `purpose`. Raises `ReplyFormatError` when the reply does not
    hold it."""
    fmt = ResponseFormat(schema, name)
    held = JSON_SCHEMA in model.abilities
    content = prompt if held else prompt + "\n\n" + JSON_INSTRUCTION.format(schema=json.dumps(fmt.schema))
    request = GenerationRequest(
        messages=(Message("user", content),),
        max_tokens=max_tokens,
        temperature=TEMPERATURE,
        response_format=fmt if held else None,
    )
    completions = await recorder.generate(request, purpose, model=model)
    reply = completions[0].text
    value = read_json(reply)
    error = None if value is None else fmt.errors(json.dumps(value))
    problem = "holds no JSON object" if value is None else f"does not match it ({error})"
    if value is None or error is not None:
        cut = " (cut at max_tokens)" if completions[0].finish_reason == "length" else ""
        raise ReplyFormatError(
            f"{purpose}: expected a JSON {name} matching {json.dumps(fmt.schema)}, "
            f"but the reply{cut} {problem}: {reply[:200]!r}"
        )
    return value


def statements(memories: Sequence[MemoryRecord | Scored]) -> list[MemoryRecord]:
    """The records of some memories, retrieved or not, in their order and without repeats."""
    seen: dict[int, MemoryRecord] = {}
    for m in memories:
        record = m.memory if isinstance(m, Scored) else m
        seen.setdefault(record.id, record)
    return list(seen.values())
