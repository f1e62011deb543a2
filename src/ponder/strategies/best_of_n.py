"""Best-of-n with an outcome verifier (Cobbe et al. 2021; Lightman et al. 2023).

n complete solutions come from one n-sample request; the verifier scores all of them
concurrently and the highest score wins. Solutions without an extractable answer only win when
no solution has one; among equal scores the earlier sample wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ponder.details import BestOfNDetails
from ponder.models import Model
from ponder.strategies.base import Budget, BudgetExhausted, Recorder, TraceSink, gather_within_budget
from ponder.strategies.chain import ChainPrompt
from ponder.strategies.config import Configured
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.self_consistency import sample_chains
from ponder.strategies.verifiers import LLMJudge, OutcomeVerifier
from ponder.types import Result, Task


def best_index(scores: list[float | None], answered: list[bool]) -> int | None:
    """Index of the highest score, answered candidates first, earliest on ties; None if none scored."""
    best = None
    for i, s in enumerate(scores):
        if s is None:
            continue
        key = (answered[i], s)
        if best is None or key > (answered[best], scores[best]):
            best = i
    return best


@dataclass
class BestOfN(Configured):
    prompt: ChainPrompt = field(default_factory=ChainOfThought)
    verifier: OutcomeVerifier = field(default_factory=LLMJudge)
    n: int = 4
    temperature: float = 0.7
    seed: int | None = 0
    budget: Budget = field(default_factory=Budget)
    name: str = "best-of-n"

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = Recorder(model, self.budget, sink)
        try:
            chains = await sample_chains(self.prompt, task, rec, self.n, self.temperature, self.seed)
        except BudgetExhausted:
            return rec.result(
                task,
                self.name,
                None,
                "",
                BestOfNDetails(verifier=self.verifier.name, prompt=self.prompt.name),
            )
        scores = await gather_within_budget(
            self.verifier.score(task, c.text, rec) for c in chains.completions
        )
        answers = chains.answers
        i = best_index(scores, [a is not None for a in answers])
        if i is None:  # the budget left nothing for the verifier: fall back to the first sample
            i = 0
        return rec.result(
            task,
            self.name,
            answers[i],
            chains.completions[i].text,
            BestOfNDetails(tuple(scores), tuple(answers), i, self.verifier.name, self.prompt.name),
        )
