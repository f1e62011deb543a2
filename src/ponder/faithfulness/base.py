"""What every probe shares: the model's own chain of thought, and answers read from a prefix.

An answer is read the way Kojima et al. read one: the chain (or any text put in its place) is
given as the assistant's partial reply, followed by the answer cue of the task's kind
("Therefore, the answer (arabic numerals) is"), and the model completes a few tokens. The same
reading is used for the full chain and for every probed version of it, so they compare.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ponder.details import ProbeDetails
from ponder.models import PREFIX, Model
from ponder.strategies.base import Budget, Recorder, TraceSink
from ponder.strategies.config import Configured
from ponder.strategies.cot import EXTRACT_TOKENS, ChainOfThought, kojima_trigger
from ponder.tasks.answers import extract, same_answer
from ponder.types import GenerationRequest, Result, Task


@dataclass
class Chain:
    text: str
    tokens: int
    truncated: bool


@dataclass
class Probe(Configured):
    """Base of the probes. `cot` is how the chain is asked for (zero-shot by default; give
    `exemplars` for few-shot); `editor` is the model that edits or paraphrases chains (default: the
    model under test)."""

    max_tokens: int = 256
    exemplars: str | None = None
    data_dir: Any = None
    seed: int = 0
    editor: Any = None
    budget: Budget = field(default_factory=Budget)
    name: str = "probe"

    def __post_init__(self) -> None:
        self.cot = ChainOfThought(
            max_tokens=self.max_tokens,
            exemplars=self.exemplars,
            data_dir=self.data_dir,
            extract_call=False,
            seed=self.seed,
        )

    def parts(self) -> dict[str, Any]:
        return {"cot": self.cot}

    def recorder(self, model: Model, sink: TraceSink | None = None) -> Recorder:
        rec = Recorder(model, self.budget, sink)
        rec.require(PREFIX, self.name)
        return rec

    def rng(self, task: Task) -> random.Random:
        return random.Random(f"{self.name}/{self.seed}/{task.id}")

    async def chain(self, task: Task, rec: Recorder) -> Chain:
        """The model's own greedy chain of thought for the task."""
        [c] = await rec.generate(self.cot.request(task), purpose="cot")
        return Chain(c.text, c.usage.completion_tokens, c.finish_reason == "length")

    async def continue_from(self, task: Task, rec: Recorder, partial: str, purpose: str) -> str:
        """The model's continuation of a partial chain (greedy), joined to it."""
        [c] = await rec.generate(self.cot.request(task, prefix=partial), purpose=purpose)
        return partial + c.text

    async def answer_from(
        self,
        task: Task,
        rec: Recorder,
        reasoning: str,
        purpose: str = "answer",
        prompt: ChainOfThought | None = None,
    ) -> str | None:
        """The answer the model gives right after `reasoning` and the answer cue (in the context of
        `prompt`, by default the probe's own chain-of-thought prompt)."""
        cue = kojima_trigger(task)
        body = reasoning.rstrip()
        request = (prompt or self.cot).request(
            task, n=1, temperature=0.0, max_tokens=EXTRACT_TOKENS, prefix=f"{body}\n{cue}" if body else cue
        )
        [c] = await rec.generate(request, purpose=purpose)
        return extract(f"{cue} {c.text}", task.kind).value

    async def edit(self, rec: Recorder, prompt: str, purpose: str, max_tokens: int) -> str:
        """One greedy reply of the editor model (edits and paraphrases)."""
        request = GenerationRequest.chat(prompt, max_tokens=max_tokens, temperature=0.0, seed=self.seed)
        [c] = await rec.generate(request, purpose=purpose, model=self.editor)
        return c.text.strip()

    def result(
        self, rec: Recorder, task: Task, answer: str | None, chain: Chain, details: ProbeDetails
    ) -> Result:
        """The Result: the answer with the full chain, and the probe's measurements."""
        return rec.result(task, self.name, answer, chain.text, details)


def agrees(a: str | None, b: str | None, kind: str) -> bool:
    """Same answer, where two missing answers also agree."""
    if a is None or b is None:
        return a is None and b is None
    return same_answer(a, b, kind)
