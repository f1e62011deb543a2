"""Self-consistency (Wang et al. 2023) and its confidence-weighted vote.

k chains are sampled from one `n=k` request (the backend shares the prompt across them where it
can), the answer of each is extracted, and the normalised answers vote. Chains without an answer
do not vote. The weighted vote weighs each chain by its confidence from token logprobs: the
normalised sequence probability exp(mean token logprob), or the same over the answer's tokens.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import ClassVar

from ponder.details import SelfConsistencyDetails, WeightedVoteDetails
from ponder.errors import ConfigError, UnsupportedAbility
from ponder.models import LOGPROBS, Model
from ponder.strategies.base import Budget, BudgetExhausted, Recorder, TraceSink
from ponder.strategies.chain import ChainPrompt
from ponder.strategies.config import Configured
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.voting import (
    Vote,
    answer_span_confidence,
    majority_vote,
    sequence_confidence,
    weighted_vote,
)
from ponder.tasks.answers import Extracted
from ponder.types import Completion, Result, Task

CONFIDENCES = ("sequence", "answer")


@dataclass
class Chains:
    """Sampled chains and their extracted answers, in sample order."""

    completions: list[Completion] = field(default_factory=list)
    found: list[Extracted] = field(default_factory=list)

    @property
    def answers(self) -> list[str | None]:
        return [f.value for f in self.found]


async def sample_chains(
    prompt: ChainPrompt,
    task: Task,
    rec: Recorder,
    n: int,
    temperature: float,
    seed: int | None,
    logprobs: bool = False,
) -> Chains:
    """One n-sample request, then every chain's answer (extraction calls run concurrently)."""
    completions = await rec.generate(
        prompt.request(task, n=n, temperature=temperature, seed=seed, logprobs=logprobs),
        hold=n * prompt.answer_tokens(),
    )
    found = await asyncio.gather(
        *(prompt.answer(task, c.text, c.finish_reason == "length", rec) for c in completions)
    )
    return Chains(list(completions), list(found))


def winning_chain(chains: Chains, vote: Vote) -> str:
    for c, a in zip(chains.completions, chains.answers):
        if a is not None and a == vote.winner:
            return c.text
    return chains.completions[0].text if chains.completions else ""


@dataclass
class SelfConsistency(Configured):
    prompt: ChainPrompt = field(default_factory=ChainOfThought)
    k: int = 8
    temperature: float = 0.7
    seed: int | None = 0
    budget: Budget = field(default_factory=Budget)
    name: str = "self-consistency"
    needs_logprobs: ClassVar[bool] = False

    def tally(self, chains: Chains) -> Vote:
        return majority_vote(chains.answers)

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = Recorder(model, self.budget, sink)
        self.check(rec)
        try:
            chains = await sample_chains(
                self.prompt, task, rec, self.k, self.temperature, self.seed, logprobs=self.needs_logprobs
            )
        except BudgetExhausted:
            return rec.result(task, self.name, None, "", self.details(Chains(), Vote(None, {}, 0)))
        vote = self.tally(chains)
        return rec.result(
            task, self.name, vote.winner, winning_chain(chains, vote), self.details(chains, vote)
        )

    def check(self, rec: Recorder) -> None:
        pass

    def details(self, chains: Chains, vote: Vote) -> SelfConsistencyDetails:
        """The vote, the chains' answers and the prompt's name."""
        return SelfConsistencyDetails(
            dict(vote.tally), vote.voters, len(chains.completions), tuple(chains.answers), self.prompt.name
        )


@dataclass
class WeightedVote(SelfConsistency):
    confidence: str = "sequence"
    name: str = "weighted-vote"
    needs_logprobs: ClassVar[bool] = True

    def check(self, rec: Recorder) -> None:
        if self.confidence not in CONFIDENCES:
            raise ConfigError(f"unknown confidence {self.confidence!r}: expected sequence or answer")
        rec.require(LOGPROBS, self.name)

    def weights(self, chains: Chains) -> list[float]:
        out = []
        for c, f in zip(chains.completions, chains.found):
            if c.logprobs is None:
                raise UnsupportedAbility(f"{self.name}: the backend returned no token logprobs")
            out.append(
                sequence_confidence(c.logprobs)
                if self.confidence == "sequence"
                else answer_span_confidence(c.logprobs, f.span)
            )
        return out

    def tally(self, chains: Chains) -> Vote:
        return weighted_vote(chains.answers, self.weights(chains))

    def details(self, chains: Chains, vote: Vote) -> WeightedVoteDetails:
        base = super().details(chains, vote)
        return WeightedVoteDetails(
            base.votes,
            base.voters,
            base.k,
            base.answers,
            base.prompt,
            tuple(self.weights(chains)),
            self.confidence,
        )
