"""A backend that answers every request at once with the same text: for measuring what a server
or a strategy costs around the model (`benchmarks/serve_load.py`) and for fuzzing the server.
Never a default.

Spec: `stub` (the text "The answer is 42."), or `stub:TEXT`. Usage counts words: the prompt's as
prompt tokens, the text's as completion tokens; samples after the first share the prompt.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ponder.contract import Delta
from ponder.models import JSON_SCHEMA, PREFIX, SHARED_SAMPLES, STREAM
from ponder.types import Completion, FinishReason, GenerationRequest, Usage

DEFAULT_TEXT = "The answer is 42."


@dataclass
class StubModel:
    text: str = DEFAULT_TEXT
    model_id: str = "stub"
    abilities: frozenset[str] = frozenset({PREFIX, SHARED_SAMPLES, STREAM, JSON_SCHEMA})

    def _prompt_tokens(self, request: GenerationRequest) -> int:
        if request.prompt is not None:
            return len(request.prompt.split())
        return sum(len(m.content.split()) for m in request.messages) + len(request.assistant_prefix.split())

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        words = self.text.split()
        text = " ".join(words[: request.max_tokens])
        finish: FinishReason = "length" if len(words) > request.max_tokens else "stop"
        prompt = self._prompt_tokens(request)
        return [
            Completion(
                text, finish, Usage(prompt, min(len(words), request.max_tokens), prompt if i else 0), index=i
            )
            for i in range(request.n)
        ]

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta | Completion]:
        [done] = await self.generate(request.with_n(1))
        for piece in re.findall(r"\s*\S+", done.text):
            yield Delta(piece)
        yield done


def from_spec(rest: str, **_: object) -> StubModel:
    if not rest:
        return StubModel()
    return StubModel(rest, f"stub:{rest}")
