"""Monte-Carlo step labels (Math-Shepherd, Wang et al. 2024): for each step of a sampled chain, `m`
rollouts continue the chain from the end of that step; the share of them whose answer is the gold
answer is the step's soft label ("soft estimation"), and a threshold on it gives the hard label
(`hard_labels`; 0 < share is Math-Shepherd's "hard estimation"). The last step ends the chain: its
label is the chain's own correctness, with no rollouts.

The rollouts of all of an item's steps are sent at once, each step's `m` as one n-sample request
continuing the assistant's turn, so the local engine shares the common prefix (question and chain)
across them. Steps are lines, and sentences within a long line (`ponder.strategies.steps`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.datagen.rows import provenance_of, stepwise_row
from ponder.details import StepLabelDetails
from ponder.models import PREFIX, Model
from ponder.strategies.base import Budget, Recorder, TraceSink
from ponder.strategies.config import Configured
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.steps import split_steps
from ponder.tasks.answers import extract, same_answer
from ponder.types import Completion, Result, Task


def soft_label(answers: Sequence[str | None], gold: str, kind: str = "number") -> float:
    """The share of rollout answers equal to the gold answer (no answer counts as wrong)."""
    if not answers:
        raise ValueError("a soft label needs at least one rollout")
    return sum(same_answer(a, gold, kind) for a in answers) / len(answers)


def hard_labels(soft: Sequence[float], threshold: float = 0.0) -> list[bool]:
    """A step is good when its soft label is above `threshold` (0: some rollout reached the gold
    answer, Math-Shepherd's hard estimation)."""
    return [s > threshold for s in soft]


@dataclass
class StepLabeller(Configured):
    """Samples `chains` chains per item (zero-shot chain of thought at `temperature`), then labels
    each step of each with `m` rollouts of at most `rollout_tokens` tokens."""

    chains: int = 2
    m: int = 4
    temperature: float = 0.7
    rollout_temperature: float = 0.7
    max_tokens: int = 256
    rollout_tokens: int = 256
    seed: int = 0
    budget: Budget = field(default_factory=Budget)
    name: str = "step-labels"

    def __post_init__(self) -> None:
        self.cot = ChainOfThought(max_tokens=self.max_tokens, extract_call=False, seed=self.seed)

    def parts(self) -> dict[str, Any]:
        return {"cot": self.cot}

    async def rollouts(self, task: Task, rec: Recorder, prefix: str, step: int) -> list[str | None]:
        request = self.cot.request(
            task,
            n=self.m,
            temperature=self.rollout_temperature,
            seed=self.seed + 1 + step,
            max_tokens=self.rollout_tokens,
            prefix=prefix,
        )
        completions = await rec.generate(request, purpose="rollout")
        return [_answer(task, prefix + c.text, c) for c in completions]

    async def label(
        self, task: Task, rec: Recorder, chain: Completion
    ) -> tuple[list[str], list[float], bool]:
        text = chain.text
        ends = split_steps(text)
        starts = [0, *ends[:-1]]
        steps = [text[a:b].strip() for a, b in zip(starts, ends)]
        correct = task.answer is not None and same_answer(_answer(task, text, chain), task.answer, task.kind)
        rolled = await asyncio.gather(
            *(self.rollouts(task, rec, text[:end], i) for i, end in enumerate(ends[:-1]))
        )
        gold = task.answer or ""
        soft = [soft_label(answers, gold, task.kind) for answers in rolled]
        if steps:
            soft.append(1.0 if correct else 0.0)
        return steps, soft, correct

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = Recorder(model, self.budget, sink)
        rec.require(PREFIX, self.name)
        chains = await rec.generate(self.cot.request(task, n=self.chains, temperature=self.temperature))
        labelled = await asyncio.gather(*(self.label(task, rec, c) for c in chains))
        rollouts = sum(len(steps) - 1 for steps, _, _ in labelled if steps) * self.m
        details = StepLabelDetails(
            steps=tuple(tuple(s) for s, _, _ in labelled),
            soft=tuple(tuple(x) for _, x, _ in labelled),
            correct=tuple(ok for _, _, ok in labelled),
            rollouts=rollouts,
        )
        first = chains[0] if chains else None
        answer = _answer(task, first.text, first) if first is not None else None
        return rec.result(task, self.name, answer, first.text if first else "", details)


def _answer(task: Task, text: str, completion: Completion) -> str | None:
    return extract(text, task.kind, truncated=completion.finish_reason == "length").value


def step_rows(
    results: Sequence[Result], run: Mapping[str, Any], threshold: float = 0.0
) -> list[dict[str, Any]]:
    """TRL stepwise-supervision rows, one per labelled chain of each answered result."""
    rows = []
    for r in results:
        d = r.details
        if r.error is not None or not isinstance(d, StepLabelDetails):
            continue
        prompt = r.task.question
        for steps, soft in zip(d.steps, d.soft):
            if steps:
                rows.append(
                    stepwise_row(
                        prompt,
                        list(steps),
                        hard_labels(soft, threshold),
                        list(soft),
                        provenance_of(run, r.task.id),
                    )
                )
    return rows


def rollouts_made(results: Sequence[Result]) -> int:
    """Rollouts the results' calls made (cached completions left out)."""
    return sum(
        1
        for r in results
        for call in r.calls
        if call.purpose == "rollout"
        for c in call.completions
        if not c.cached
    )


def build_labeller(
    name: str, verifier_model: Any = None, data_dir: Any = None, **options: Any
) -> StepLabeller:
    """`evaluate`'s builder for the step labeller (it takes no verifier and no data folder)."""
    return StepLabeller(**options)


LABELLER_OPTIONS = {
    "chains",
    "m",
    "temperature",
    "rollout_temperature",
    "max_tokens",
    "rollout_tokens",
    "seed",
}
