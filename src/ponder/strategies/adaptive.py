"""Adaptive-consistency (Aggarwal et al. 2023): sample in small batches and stop as soon as the
leading answer is a clear winner under a Beta (or Dirichlet) stopping rule; k is the ceiling.

Each batch is drawn with seeds s + (samples drawn so far), …: the seeds of self-consistency's
samples with seed s, so stopping early saves samples rather than drawing different ones (texts can
still differ slightly where a backend's numerics depend on the batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ponder.details import AdaptiveDetails
from ponder.errors import ConfigError
from ponder.models import Model
from ponder.strategies.base import Budget, BudgetExhausted, Recorder, TraceSink
from ponder.strategies.chain import ChainPrompt
from ponder.strategies.config import Configured
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.self_consistency import Chains, sample_chains, winning_chain
from ponder.strategies.voting import Vote, majority_vote, should_stop
from ponder.types import Result, Task


@dataclass
class AdaptiveConsistency(Configured):
    prompt: ChainPrompt = field(default_factory=ChainOfThought)
    k: int = 16
    batch: int = 2
    rule: str = "beta"
    threshold: float = 0.95
    temperature: float = 0.7
    seed: int | None = 0
    budget: Budget = field(default_factory=Budget)
    name: str = "adaptive-consistency"

    def __post_init__(self) -> None:
        if self.rule not in ("beta", "dirichlet"):
            raise ConfigError(f"unknown stopping rule {self.rule!r}: expected beta or dirichlet")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.batch < 1 or self.k < 1:
            raise ConfigError("k and batch must be at least 1")

    def tally(self, chains: Chains) -> Vote:
        return majority_vote(chains.answers)

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = Recorder(model, self.budget, sink)
        chains = Chains()
        stopped, history = False, []
        while len(chains.completions) < self.k:
            m = min(self.batch, self.k - len(chains.completions))
            seed = None if self.seed is None else self.seed + len(chains.completions)
            try:
                more = await sample_chains(self.prompt, task, rec, m, self.temperature, seed)
            except BudgetExhausted:
                break
            chains.completions += more.completions
            chains.found += more.found
            vote = self.tally(chains)
            counts = {a: int(v) for a, v in vote.tally.items()}
            history.append(counts)
            if should_stop(counts, self.rule, self.threshold):
                stopped = True
                break
        vote = self.tally(chains)
        return rec.result(
            task,
            self.name,
            vote.winner,
            winning_chain(chains, vote),
            AdaptiveDetails(
                dict(vote.tally),
                vote.voters,
                len(chains.completions),
                tuple(chains.answers),
                self.prompt.name,
                stopped_by_rule=stopped,
                rule=self.rule,
                threshold=self.threshold,
                history=tuple(history),
            ),
        )
