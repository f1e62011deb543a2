"""Backends behind one contract, chosen by a spec string and imported only when chosen.

Specs:
    local                   the embedded default model (llama.cpp in-process)
    local:NAME              a model from the registry (`ponder models`)
    local:/path/model.gguf  any GGUF file
    openai:MODEL@BASE_URL   any OpenAI-compatible server; key from OPENAI_API_KEY
    scripted                the strict fake for tests (never a default)
`PONDER_MODEL` sets the spec used when none is given.
"""

from __future__ import annotations

import importlib
import os
from typing import Protocol, runtime_checkable

from ponder.errors import ConfigError
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


# Abilities a backend may declare in `abilities`.
LOGPROBS = "logprobs"            # token logprobs on generated text
PREFIX = "assistant_prefix"      # continue a partial assistant turn
SHARED_SAMPLES = "shared_samples"  # n samples pay for the prompt once

DEFAULT_SPEC = "local"

_BACKENDS = {
    "local": "ponder.models.llamacpp:from_spec",
    "openai": "ponder.models.openai_compat:from_spec",
    "scripted": "ponder.models.scripted:from_spec",
}

_INSTALL_HINT = {
    "local": "pip install 'ponder[local]'  (builds llama-cpp-python; see README)",
}


def default_spec() -> str:
    return os.environ.get("PONDER_MODEL") or DEFAULT_SPEC


def get_model(spec: str | None = None, **options) -> Model:
    """Build a backend from its spec string; raises ConfigError naming the spec when it is wrong."""
    spec = (spec or default_spec()).strip()
    kind, _, rest = spec.partition(":")
    target = _BACKENDS.get(kind)
    if target is None:
        known = ", ".join(["local", "local:NAME", "local:/path/model.gguf", "openai:MODEL@BASE_URL",
                           "scripted"])
        raise ConfigError(f"unknown model spec {spec!r}: expected one of {known}")
    module_name, _, func = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        hint = _INSTALL_HINT.get(kind, "")
        raise ConfigError(f"model spec {spec!r} needs a missing package ({e.name}): {hint}") from e
    return getattr(module, func)(rest, **options)
