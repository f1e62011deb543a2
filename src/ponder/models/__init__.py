"""Backends behind one contract, chosen by a spec string and imported only when chosen.

Specs:
    local                   the embedded default model (llama.cpp in-process)
    local:NAME              a model from the registry (`ponder models`)
    local:/path/model.gguf  any GGUF file
    openai:MODEL@BASE_URL   any OpenAI-compatible server; key from OPENAI_API_KEY
    scripted                the strict fake for tests (never a default)
    stub, stub:TEXT         the same text at once for every request: load tests (never a default)
`PONDER_MODEL` sets the spec used when none is given.

An `openai:` spec may end with options in brackets, `openai:MODEL@BASE_URL[timeout=60,
connect_timeout=5,retries=8,backoff=0.5]` (read and connect timeouts in seconds, total tries, base
backoff in seconds); the same names given to `get_model` as keywords override the spec's. Only a
final bracket group whose names are all option names is options, so IPv6 hosts (`http://[::1]:8000`)
stay part of the URL. Options are not part of a model's identity.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from ponder.contract import Delta, Embeddings
from ponder.errors import ConfigError
from ponder.redact import redact_spec
from ponder.types import Completion, GenerationRequest


@runtime_checkable
class Model(Protocol):
    """A backend. `model_id` names the weights and backend exactly enough to key a cache."""

    model_id: str
    abilities: frozenset[str]

    async def generate(self, request: GenerationRequest) -> list[Completion]: ...


@runtime_checkable
class Closable(Protocol):
    async def aclose(self) -> None: ...


@runtime_checkable
class Streaming(Protocol):
    """A backend that streams (ability STREAM): for an `n=1` request, `stream` yields the reply's
    pieces as they are made (text, and pieces of function calls), then the final `Completion` with
    its usage. Closing the iterator early cancels the generation and frees what it held."""

    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Completion]: ...


@runtime_checkable
class Embedder(Protocol):
    """Vectors of texts. `model_id` names the weights exactly enough to key a cache."""

    model_id: str

    async def embed(self, texts: Sequence[str]) -> Embeddings: ...


# Abilities a backend may declare in `abilities`.
LOGPROBS = "logprobs"  # token logprobs on generated text
PREFIX = "assistant_prefix"  # continue a partial assistant turn
SHARED_SAMPLES = "shared_samples"  # n samples pay for the prompt once
TOOLS = "tools"  # requests with tools and tool_choice; completions with tool_calls
JSON_SCHEMA = "json_schema"  # replies held to a request's response_format
STREAM = "stream"  # the Streaming protocol

DEFAULT_SPEC = "local"

_BACKENDS = {
    "local": "ponder.models.llamacpp:from_spec",
    "openai": "ponder.models.openai_compat:from_spec",
    "scripted": "ponder.models.scripted:from_spec",
    "stub": "ponder.models.stub:from_spec",
}

_INSTALL_HINT = {
    "local": "pip install 'ponder[local]'  (builds llama-cpp-python; see README)",
}


def default_spec() -> str:
    return os.environ.get("PONDER_MODEL") or DEFAULT_SPEC


def preferred_concurrency(model: object) -> int:
    """How many items a backend serves best in flight at once: its `concurrency` where it declares
    one (the in-process engine decodes concurrent requests together), else 1."""
    value = getattr(model, "concurrency", 1)
    return value if isinstance(value, int) and value >= 1 else 1


def needed_abilities(request: GenerationRequest) -> list[str]:
    """The abilities a backend needs to serve `request` as asked."""
    needs = [
        (LOGPROBS, request.logprobs),
        (PREFIX, bool(request.assistant_prefix) and request.prompt is None),
        (TOOLS, bool(request.tools)),
        (JSON_SCHEMA, request.response_format is not None),
    ]
    return [ability for ability, needed in needs if needed]


def check_abilities(name: str, abilities: frozenset[str], request: GenerationRequest) -> None:
    """Raise UnsupportedAbility naming the backend and what it lacks, when `request` needs it."""
    from ponder.errors import UnsupportedAbility

    missing = [a for a in needed_abilities(request) if a not in abilities]
    if missing:
        raise UnsupportedAbility(f"{name} does not support {', '.join(missing)} (the request asks for it)")


# Options an `openai:` spec may carry in a final `[name=value,...]` group, or get_model as keywords.
SPEC_OPTIONS = ("timeout", "connect_timeout", "retries", "backoff")

_GROUP = re.compile(r"\[([^\[\]]*)\]$")


def split_options(spec: str) -> tuple[str, dict[str, str]]:
    """(spec without its options group, {name: value as written}). A spec whose final bracket
    group is not all `name=value` items with option names is returned whole, with no options."""
    match = _GROUP.search(spec)
    if match is None:
        return spec, {}
    options: dict[str, str] = {}
    for item in match.group(1).split(","):
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or name not in SPEC_OPTIONS:
            return spec, {}
        if name in options:
            raise ConfigError(f"option {name} is given twice in model spec {redact_spec(spec)!r}")
        options[name] = value.strip()
    return spec[: match.start()], options


def get_model(spec: str | None = None, **options: Any) -> Model:
    """Build a backend from its spec string; raises ConfigError naming the spec when it is wrong.

    Keyword options named in SPEC_OPTIONS override the spec's own (None means not given).
    """
    spec = (spec or default_spec()).strip()
    shown = redact_spec(spec)
    base, spec_options = split_options(spec)
    given = {name: options.pop(name) for name in SPEC_OPTIONS if name in options}
    http_options: dict[str, Any] = {**spec_options, **{k: v for k, v in given.items() if v is not None}}
    kind, _, rest = base.partition(":")
    target = _BACKENDS.get(kind)
    if target is None:
        known = ", ".join(
            ["local", "local:NAME", "local:/path/model.gguf", "openai:MODEL@BASE_URL", "scripted", "stub"]
        )
        raise ConfigError(f"unknown model spec {shown!r}: expected one of {known}")
    if http_options and kind != "openai":
        names = ", ".join(n for n in SPEC_OPTIONS if n in http_options)
        raise ConfigError(f"{names}: these options apply to openai: specs only, not to {shown!r}")
    module_name, _, func = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        hint = _INSTALL_HINT.get(kind, "")
        raise ConfigError(f"model spec {shown!r} needs a missing package ({e.name}): {hint}") from e
    if kind == "openai":
        options = {**options, **http_options, "spec": spec}
    model: Model = getattr(module, func)(rest, **options)
    return model
