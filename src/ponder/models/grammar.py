"""GBNF grammars (llama.cpp's grammar format) that hold a local model's reply to a shape.

`schema_grammar` admits the JSON values of a JSON schema (a request's `response_format`);
`tool_call_grammar` admits exactly one `<tool_call>` block that calls one of some tools with
arguments matching that tool's parameters schema; `request_grammar` picks what a request needs
(None: no constraint). The JSON schema conversion is llama-cpp-python's (`llama_grammar.py`),
with two tightenings: integers bounded by `minimum`/`maximum` (a range of at most
`MAX_INTEGER_CHOICES` values) admit only the numbers in range, and strings admit no raw control
characters (which JSON forbids inside strings); and literals escape backslashes (the converter's
own do not, so a constant holding a quote or backslash broke the grammar). Pure: nothing here loads a model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ponder.contract import Tool
from ponder.errors import RequestError
from ponder.types import GenerationRequest

ROOT = "root"
CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
MAX_INTEGER_CHOICES = 1000
_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'


def literal(text: str) -> str:
    """`text` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _integer_range(schema: Mapping[str, Any]) -> list[int] | None:
    """The integers a bounded integer schema admits, when there are few enough to list."""
    low = schema.get("minimum")
    high = schema.get("maximum")
    ex_low = schema.get("exclusiveMinimum")
    ex_high = schema.get("exclusiveMaximum")
    lows = [math.ceil(v) for v in (low,) if isinstance(v, (int, float))]
    lows += [math.floor(v) + 1 for v in (ex_low,) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    highs = [math.floor(v) for v in (high,) if isinstance(v, (int, float))]
    highs += [math.ceil(v) - 1 for v in (ex_high,) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not lows or not highs:
        return None
    start, end = max(lows), min(highs)
    if end < start or end - start + 1 > MAX_INTEGER_CHOICES:
        return None
    return list(range(start, end + 1))


def _tighten(node: Any) -> Any:
    """A copy of a schema in which bounded integers are enumerations of their values."""
    if isinstance(node, list):
        return [_tighten(x) for x in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "integer" and "enum" not in node and "const" not in node:
        values = _integer_range(node)
        if values is not None:
            return {"enum": values}
    return {k: _tighten(v) for k, v in node.items()}


def _converter() -> Any:
    """A fresh llama-cpp-python JSON schema converter."""
    from llama_cpp.llama_grammar import SchemaConverter

    converter: Any = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)  # type: ignore[no-untyped-call]
    converter._format_literal = literal  # its own leaves backslashes unescaped
    return converter


def _visit(converter: Any, schema: Mapping[str, Any], name: str, what: str) -> str:
    """Add the rules of `schema` to `converter` under `name`; the name of its top rule."""
    tight = _tighten(json.loads(json.dumps(dict(schema))))
    try:
        resolved = converter.resolve_refs(tight, name)
        rule: str = converter.visit(resolved, name)
    except (AssertionError, ValueError, KeyError, TypeError, RecursionError) as e:
        raise RequestError(f"{what} cannot be turned into a grammar: {e or type(e).__name__}") from None
    return rule


def _text(converter: Any, root: str) -> str:
    """The grammar text of `converter`'s rules, with `root ::= <root>` and safe string characters."""
    rules: dict[str, str] = converter._rules
    if "char" in rules:
        rules["char"] = _CHAR
    lines = [f"{ROOT} ::= {root}"]
    lines += [f"{name} ::= {rule}" for name, rule in sorted(rules.items()) if name != ROOT]
    return "\n".join(lines) + "\n"


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """A grammar admitting the JSON values that `schema` describes."""
    converter = _converter()
    top = _visit(converter, schema, "reply", "response_format.schema")
    return _text(converter, top)


def _call_rules(converter: Any, tools: Sequence[Tool]) -> str:
    """Add a rule for a call of each tool; the alternation of the `<tool_call>` blocks."""
    if not tools:
        raise RequestError("a tool call grammar needs at least one tool")
    calls = []
    for k, tool in enumerate(tools):
        args = _visit(converter, tool.parameters, f"tool{k}-args", f"tool {tool.name}: parameters")
        head = literal('{"name": ' + json.dumps(tool.name) + ', "arguments": ')
        calls.append(converter._add_rule(f"tool{k}-call", f'{head} {args} "}}"'))
    body = " | ".join(calls)
    return f"{literal(CALL_OPEN + chr(10))} ({body}) {literal(chr(10) + CALL_CLOSE)}"


def tool_call_grammar(tools: Sequence[Tool]) -> str:
    """A grammar admitting one `<tool_call>` block that calls one of `tools` with arguments matching
    its parameters schema."""
    converter = _converter()
    return _text(converter, _call_rules(converter, tools))


def call_or_reply_grammar(tools: Sequence[Tool], schema: Mapping[str, Any]) -> str:
    """A grammar admitting either one `<tool_call>` block calling one of `tools`, or a JSON value of
    `schema`."""
    converter = _converter()
    call = _call_rules(converter, tools)
    reply = _visit(converter, schema, "reply", "response_format.schema")
    return _text(converter, f"({call}) | {reply}")


def forced_tools(request: GenerationRequest) -> tuple[Tool, ...]:
    """The tools a request forces a call among (empty: none forced)."""
    if not request.forces_call:
        return ()
    if request.tool_choice == "required":
        return tuple(request.tools)
    return tuple(t for t in request.tools if t.name == request.tool_choice)


def request_grammar(request: GenerationRequest) -> str | None:
    """The grammar a request's reply is held to: a forced call, a call or the response format when
    both tools and a response format are offered, the response format alone, or None."""
    forced = forced_tools(request)
    if forced:
        return tool_call_grammar(forced)
    fmt = request.response_format
    if fmt is None:
        return None
    if request.tools and request.tool_choice != "none":
        return call_or_reply_grammar(request.tools, fmt.schema)
    return schema_grammar(fmt.schema)
