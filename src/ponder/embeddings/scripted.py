"""A deterministic fake embedder for unit tests. Never a default.

Each text becomes a bag of its lower-cased words, each word hashed (sha256) to one of `dim`
dimensions, then scaled to unit length: texts that share words score higher than texts that do
not, and the same text always gets the same vector. `calls` records every batch it was asked for;
`prompt_tokens` counts words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ponder.contract import Embeddings
from ponder.embeddings.vectors import unit_rows
from ponder.errors import ConfigError

_WORD = re.compile(r"\w+")


@dataclass
class ScriptedEmbedder:
    model_id: str = "scripted"
    dim: int = 64
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def vector(self, text: str) -> list[float]:
        row = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            digest = hashlib.sha256(word.encode()).digest()
            row[int.from_bytes(digest[:4], "big") % self.dim] += 1.0
        return row

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        batch = tuple(texts)
        self.calls.append(batch)
        vectors = unit_rows([self.vector(t) for t in batch]) if batch else ()
        tokens = sum(len(_WORD.findall(t)) for t in batch)
        return Embeddings(vectors, prompt_tokens=tokens)


def from_spec(rest: str, **options: object) -> ScriptedEmbedder:
    """`scripted` or `scripted:NAME` (NAME becomes part of the model id)."""
    dim = options.pop("dim", 64)
    if options:
        raise ConfigError(f"the scripted embedder takes no options {sorted(options)}")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ConfigError(f"the scripted embedder's dim must be a positive whole number, got {dim!r}")
    return ScriptedEmbedder(model_id=f"scripted:{rest}" if rest else "scripted", dim=dim)
