"""What the model contract holds beyond text: the tools a request offers and which one must be
called, the shape a reply must have, the function calls a completion asks for, the pieces of a
streamed reply, and embeddings.

A plain Python function with type hints and a docstring becomes a `Tool` with
`Tool.from_function` (pydantic derives the JSON schema of its arguments). `read_call` turns a
function name and argument text as a model wrote them into a `FunctionCall`: the arguments parsed
and checked against the tool's schema, or an `error` the caller can send back to the model as the
tool's reply; a malformed call never raises.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.errors import RequestError

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHOICES = ("auto", "none", "required")  # tool_choice, besides the name of one tool


def _json_copy(value: Any, what: str) -> Any:
    """A JSON-only deep copy of `value` (so a request's schemas cannot change under it)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise RequestError(f"{what} must be JSON: {e}") from None


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its name, what it does, and the JSON schema of its arguments
    (an object schema)."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}, hash=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not TOOL_NAME.match(self.name):
            raise RequestError(f"a tool's name must be 1-64 letters, digits, _ or -, got {self.name!r}")
        if not isinstance(self.description, str):
            raise RequestError(f"tool {self.name}: description must be a string")
        params = self.parameters
        if not isinstance(params, Mapping) or params.get("type") != "object":
            raise RequestError(f"tool {self.name}: parameters must be a JSON schema of type object")
        object.__setattr__(self, "parameters", _json_copy(dict(params), f"tool {self.name}: parameters"))

    @classmethod
    def from_function(cls, fn: Callable[..., Any], name: str | None = None) -> Tool:
        """The tool for `fn`: its name, its docstring's first paragraph as the description, and
        its arguments' schema from their type hints (every argument needs one)."""
        from pydantic import ConfigDict, create_model

        signature = inspect.signature(fn)
        fields: dict[str, Any] = {}
        hints = inspect.get_annotations(fn, eval_str=True)
        for arg in signature.parameters.values():
            if arg.kind in (arg.VAR_POSITIONAL, arg.VAR_KEYWORD):
                raise RequestError(f"{fn.__name__}: *args and **kwargs cannot be a tool's arguments")
            if arg.name not in hints:
                raise RequestError(f"{fn.__name__}: argument {arg.name!r} needs a type hint to be a tool")
            default = ... if arg.default is arg.empty else arg.default
            fields[arg.name] = (hints[arg.name], default)
        model = create_model(f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        doc = inspect.getdoc(fn) or ""
        return cls(name or fn.__name__, doc.split("\n\n")[0].replace("\n", " ").strip(), schema)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Tool:
        if not isinstance(d, Mapping) or "name" not in d:
            raise RequestError(f"a tool must be an object with a name, got {d!r}")
        unknown = sorted(set(d) - {"name", "description", "parameters"})
        if unknown:
            raise RequestError(f"tool {d['name']}: unknown fields {unknown}")
        return cls(
            d["name"], d.get("description", ""), d.get("parameters", {"type": "object", "properties": {}})
        )

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function", "function": self.to_dict()}


@dataclass(frozen=True)
class ResponseFormat:
    """The shape every reply must have: a JSON value that matches `schema`. `ResponseFormat.choice`
    makes the schema of one string among several (the reply is that string in JSON quotes;
    `parse` returns it bare)."""

    schema: Mapping[str, Any] = field(hash=False)
    name: str = "reply"

    def __post_init__(self) -> None:
        if not isinstance(self.schema, Mapping):
            raise RequestError(f"response_format.schema must be a JSON schema object, got {self.schema!r}")
        if not isinstance(self.name, str) or not TOOL_NAME.match(self.name):
            raise RequestError(
                f"response_format.name must be 1-64 letters, digits, _ or -, got {self.name!r}"
            )
        object.__setattr__(self, "schema", _json_copy(dict(self.schema), "response_format.schema"))
        _validator(self.schema, "response_format.schema")

    @classmethod
    def choice(cls, options: Sequence[str], name: str = "choice") -> ResponseFormat:
        if isinstance(options, str) or not options or not all(isinstance(o, str) for o in options):
            raise RequestError(f"a choice needs a non-empty list of strings, got {options!r}")
        return cls({"type": "string", "enum": list(dict.fromkeys(options))}, name)

    def errors(self, text: str) -> str | None:
        """Why `text` is not a valid reply (None: it is)."""
        try:
            value = json.loads(text)
        except ValueError as e:
            return f"not JSON: {e}"
        return _schema_error(_validator(self.schema, "response_format.schema"), value)

    def parse(self, text: str) -> Any:
        """The reply's JSON value; raises `ReplyFormatError` when it does not match."""
        from ponder.errors import ReplyFormatError

        problem = self.errors(text)
        if problem is not None:
            raise ReplyFormatError(f"the reply does not match {self.name}: {problem}")
        return json.loads(text)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": dict(self.schema), "name": self.name}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ResponseFormat:
        if not isinstance(d, Mapping) or "schema" not in d:
            raise RequestError(f"response_format must be an object with a schema, got {d!r}")
        return cls(d["schema"], d.get("name", "reply"))

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": dict(self.schema), "strict": True},
        }


@dataclass(frozen=True)
class FunctionCall:
    """A call a completion asks for: its id (what the tool's reply names), the function, the
    arguments parsed (None when they could not be) and their text as the model wrote it. `error`
    says why the call cannot be made as written (unknown function, arguments that are not JSON or
    do not match the schema); send it back to the model as the tool's reply."""

    id: str
    name: str
    arguments: Mapping[str, Any] | None = field(default=None, hash=False)
    raw: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": None if self.arguments is None else dict(self.arguments),
            "raw": self.raw,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FunctionCall:
        if (
            not isinstance(d, Mapping)
            or not isinstance(d.get("id"), str)
            or not isinstance(d.get("name"), str)
        ):
            raise RequestError(f"a tool call must be an object with a string id and name, got {d!r}")
        return cls(d["id"], d["name"], d.get("arguments"), d.get("raw", ""), d.get("error"))

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.raw}}


def call_id(name: str, raw: str, position: int) -> str:
    """A deterministic id for the `position`-th call of a reply (so a rerun sends the same
    conversation again, and hits the cache)."""
    digest = hashlib.sha256(f"{position}\0{name}\0{raw}".encode()).hexdigest()[:24]
    return f"call_{digest}"


def read_call(
    name: str, raw: str, tools: Sequence[Tool], id: str | None = None, position: int = 0
) -> FunctionCall:
    """The call of `name` with argument text `raw`, checked against `tools`; never raises."""
    call = id or call_id(name, raw, position)
    by_name = {t.name: t for t in tools}
    if name not in by_name:
        known = ", ".join(by_name) or "none"
        return FunctionCall(call, name, None, raw, f"unknown function {name!r}; the functions are: {known}")
    try:
        arguments = json.loads(raw) if raw.strip() else {}
    except ValueError as e:
        return FunctionCall(call, name, None, raw, f"the arguments of {name} are not JSON: {e}")
    if not isinstance(arguments, dict):
        return FunctionCall(call, name, None, raw, f"the arguments of {name} must be a JSON object")
    problem = _schema_error(_validator(by_name[name].parameters, f"tool {name}: parameters"), arguments)
    if problem is not None:
        return FunctionCall(
            call, name, arguments, raw, f"the arguments of {name} do not match its schema: {problem}"
        )
    return FunctionCall(call, name, arguments, raw)


def _validator(schema: Mapping[str, Any], what: str) -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise RequestError(f"{what} is not a valid JSON schema: {e.message}") from None
    return cls(schema)


def _schema_error(validator: Any, value: Any) -> str | None:
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.path)
    return f"at {where or 'the top'}: {error.message}"


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed reply: new `text`, or a piece of the `tool_index`-th function call
    (its `tool_name` when it is first seen, then pieces of its argument text)."""

    text: str = ""
    tool_index: int | None = None
    tool_name: str | None = None
    tool_arguments: str = ""


@dataclass(frozen=True)
class Embeddings:
    """Vectors of some texts, in their order, and the tokens read to make them (`cached`: how
    many of the vectors came from ponder's cache)."""

    vectors: tuple[tuple[float, ...], ...]
    prompt_tokens: int = 0
    cached: int = 0
    latency_s: float = 0.0
