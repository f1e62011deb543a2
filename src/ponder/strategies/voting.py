"""The maths of sampling strategies, as pure functions.

Tie rule (everywhere): among answers with the same vote, the one that appeared first in sample
order wins. Samples are drawn with seeds s, s+1, … so the order, and the winner, is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ponder.types import TokenLogprob


@dataclass(frozen=True)
class Vote:
    winner: str | None
    tally: dict[str, float]  # answer -> votes (or summed weight), in order of first appearance
    voters: int  # chains that gave an answer

    @property
    def share(self) -> float:
        total = sum(self.tally.values())
        return self.tally[self.winner] / total if self.winner is not None and total > 0 else 0.0


def weighted_vote(answers: Sequence[str | None], weights: Sequence[float]) -> Vote:
    """Sum each answer's weights; chains without an answer do not vote."""
    if len(answers) != len(weights):
        raise ValueError(f"{len(answers)} answers but {len(weights)} weights")
    tally: dict[str, float] = {}
    for a, w in zip(answers, weights):
        if a is not None:
            tally[a] = tally.get(a, 0.0) + w
    winner = None
    for a, v in tally.items():  # first appearance wins ties: only a strictly larger vote overtakes
        if winner is None or v > tally[winner]:
            winner = a
    return Vote(winner, tally, sum(1 for a in answers if a is not None))


def majority_vote(answers: Sequence[str | None]) -> Vote:
    vote = weighted_vote(answers, [1.0] * len(answers))
    return Vote(vote.winner, {a: int(v) for a, v in vote.tally.items()}, vote.voters)


def mean_logprob(logprobs: Sequence[TokenLogprob]) -> float:
    return sum(t.logprob for t in logprobs) / len(logprobs) if logprobs else float("-inf")


def sequence_confidence(logprobs: Sequence[TokenLogprob]) -> float:
    """Normalised sequence probability: exp of the mean token logprob (0 for an empty chain)."""
    return math.exp(mean_logprob(logprobs)) if logprobs else 0.0


def span_tokens(logprobs: Sequence[TokenLogprob], span: tuple[int, int]) -> list[TokenLogprob]:
    """The tokens whose characters overlap `span` of the text the tokens spell out."""
    out, pos = [], 0
    for t in logprobs:
        end = pos + len(t.token)
        if end > span[0] and pos < span[1]:
            out.append(t)
        pos = end
    return out


def answer_span_confidence(logprobs: Sequence[TokenLogprob], span: tuple[int, int] | None) -> float:
    """exp of the mean logprob of the tokens that spell the answer; the whole chain's if no span."""
    tokens = span_tokens(logprobs, span) if span is not None else []
    return sequence_confidence(tokens or logprobs)


def aggregate(scores: Sequence[float], how: str = "last") -> float:
    """A partial solution's score from its steps' scores: the last, the minimum or the product."""
    if not scores:
        raise ValueError("no step scores to aggregate")
    if how == "last":
        return scores[-1]
    if how == "min":
        return min(scores)
    if how == "product":
        return math.prod(scores)
    raise ValueError(f"unknown aggregation {how!r}: expected last, min or product")


def beta_leader_probability(v1: int, v2: int) -> float:
    """P(p1 > p2) for the two leading answers with v1 and v2 votes (Aggarwal et al. 2023).

    Under a uniform prior, p1 / (p1 + p2) ~ Beta(v1 + 1, v2 + 1); this is P(that > 1/2),
    computed exactly with the binomial form of the regularised incomplete beta function:
    P(Beta(a, b) <= 1/2) = P(Binomial(a + b - 1, 1/2) >= a).
    """
    a, b = v1 + 1, v2 + 1
    m = a + b - 1
    below: float = sum(math.comb(m, j) for j in range(a, m + 1)) / 2**m
    return 1.0 - below


def dirichlet_leader_probability(counts: Sequence[int], draws: int = 20000, seed: int = 0) -> float:
    """P(the leading answer has the largest true share) under Dirichlet(counts + 1), by Monte Carlo.

    With a single answer seen, a second category with no votes stands for the others (then this
    equals the Beta rule). Seeded: deterministic.
    """
    if not counts:
        return 0.0
    alphas = [c + 1 for c in counts] + ([1] if len(counts) == 1 else [])
    leader = max(range(len(counts)), key=lambda i: (counts[i], -i))
    rng = random.Random(seed)
    wins = 0
    for _ in range(draws):
        g = [rng.gammavariate(a, 1.0) for a in alphas]
        if g[leader] >= max(g):
            wins += 1
    return wins / draws


def should_stop(tally: dict[str, int], rule: str = "beta", threshold: float = 0.95) -> bool:
    """Adaptive-consistency stopping: is the leading answer a clear winner?"""
    counts = sorted(tally.values(), reverse=True)
    if not counts:
        return False
    if rule == "beta":
        return beta_leader_probability(counts[0], counts[1] if len(counts) > 1 else 0) >= threshold
    if rule == "dirichlet":
        return dirichlet_leader_probability(counts) >= threshold
    raise ValueError(f"unknown stopping rule {rule!r}: expected beta or dirichlet")
