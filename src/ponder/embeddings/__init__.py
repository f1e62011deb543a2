"""Embedding backends behind the `Embedder` contract (`ponder.models.Embedder`), chosen by a spec
string and imported only when chosen.

Specs:
    local                     the default packaged embedding model (all-MiniLM-L6-v2, in-process)
    local:NAME                a packaged embedding model from the registry (`local.REGISTRY`)
    openai:MODEL@BASE_URL     any OpenAI-compatible `/embeddings` endpoint; key from OPENAI_API_KEY
    scripted[:NAME]           a deterministic fake for unit tests (never a default)
`PONDER_EMBEDDER` sets the spec used when none is given. An `openai:` spec may end with the
model specs' options group (`[timeout=60,connect_timeout=5,retries=8,backoff=0.5]`).

Every backend returns L2-normalised vectors (a dot product is the cosine), in the texts' order.
`CachedEmbedder` (`cached.py`) puts any of them behind the store's embeddings table.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ponder.errors import ConfigError
from ponder.models import SPEC_OPTIONS, Embedder, split_options
from ponder.redact import redact_spec

DEFAULT_SPEC = "local"

_BACKENDS = {
    "local": "ponder.embeddings.local:from_spec",
    "openai": "ponder.embeddings.openai_compat:from_spec",
    "scripted": "ponder.embeddings.scripted:from_spec",
}

_KNOWN = "local, local:NAME, openai:MODEL@BASE_URL, scripted"


def default_spec() -> str:
    return os.environ.get("PONDER_EMBEDDER") or DEFAULT_SPEC


def get_embedder(spec: str | None = None, **options: Any) -> Embedder:
    """Build an embedder from its spec string; raises ConfigError naming the spec when it is wrong
    or when the package it needs is not installed (naming the pip extra)."""
    spec = (spec or default_spec()).strip()
    shown = redact_spec(spec)
    base, spec_options = split_options(spec)
    given = {name: options.pop(name) for name in SPEC_OPTIONS if name in options}
    http_options = {**spec_options, **{k: v for k, v in given.items() if v is not None}}
    kind, _, rest = base.partition(":")
    target = _BACKENDS.get(kind)
    if target is None:
        raise ConfigError(f"unknown embedder spec {shown!r}: expected one of {_KNOWN}")
    if http_options and kind != "openai":
        names = ", ".join(n for n in SPEC_OPTIONS if n in http_options)
        raise ConfigError(f"{names}: these options apply to openai: embedder specs only, not to {shown!r}")
    module_name, _, func = target.partition(":")
    module = importlib.import_module(module_name)
    if kind == "openai":
        options = {**options, **http_options, "spec": spec}
    embedder: Embedder = getattr(module, func)(rest, **options)
    return embedder


__all__ = ["DEFAULT_SPEC", "default_spec", "get_embedder"]
