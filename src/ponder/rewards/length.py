"""Length control for reasoning RL. Each reward returns only its length term; TRL adds it to the
correctness reward (`reward_funcs=[CorrectnessReward(), RelativeLengthReward()]`, weighted by
`reward_weights`). Lengths are token counts (`completion_ids`, which TRL passes). A group is the
completions of one prompt in the call: on one process GRPOTrainer hands a reward whole groups."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ponder.rewards.groups import groups_of
from ponder.rewards.outcome import CorrectnessReward


def relative_length_bonus(lengths: Sequence[int], correct: Sequence[bool], bonus: float = 0.5) -> list[float]:
    """The relative rule for one group: a correct completion shorter than the group's mean length
    earns `bonus`; a longer, equal or wrong one earns 0."""
    if not lengths:
        return []
    mean = sum(lengths) / len(lengths)
    return [bonus if ok and n < mean else 0.0 for n, ok in zip(lengths, correct)]


def kimi_length_scores(lengths: Sequence[int], correct: Sequence[bool]) -> list[float]:
    """Kimi 1.5's length reward for one group (Kimi Team 2025, section 2.3.3):
    lambda = 0.5 - (len - min_len) / (max_len - min_len); a correct completion scores lambda, a
    wrong one min(0, lambda). When every length is equal, all score 0."""
    if not lengths:
        return []
    lo, hi = min(lengths), max(lengths)
    if hi == lo:
        return [0.0] * len(lengths)
    out = []
    for n, ok in zip(lengths, correct):
        lam = 0.5 - (n - lo) / (hi - lo)
        out.append(lam if ok else min(0.0, lam))
    return out


def budget_penalty(length: int, budget: int, window: int) -> float:
    """An absolute token budget, DAPO's soft over-length punishment (Yu et al. 2025, eq. 13): 0 up
    to `budget - window` tokens, falling linearly to -1 at `budget`, -1 beyond it."""
    if length <= budget - window:
        return 0.0
    if length <= budget:
        return (budget - window - length) / window
    return -1.0


def _key(prompt: Any) -> str:
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, default=str)


def _lengths(completion_ids: Sequence[Sequence[int]] | None, n: int, name: str) -> list[int]:
    if completion_ids is None:
        raise ValueError(f"the {name} reward needs completion_ids (GRPOTrainer passes them)")
    if len(completion_ids) != n:
        raise ValueError(f"{n} completions but {len(completion_ids)} completion_ids")
    return [len(ids) for ids in completion_ids]


class _GroupLengthReward:
    __name__ = "length"

    def __init__(self, kind: str = "number") -> None:
        self.correctness = CorrectnessReward(kind)

    def scores(self, lengths: list[int], correct: list[bool]) -> list[float]:
        raise NotImplementedError

    def __call__(
        self,
        completions: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        answer: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        lengths = _lengths(completion_ids, len(completions), self.__name__)
        if prompts is None:
            raise ValueError(f"the {self.__name__} reward needs the prompts, to group completions by prompt")
        correct = [c == 1.0 for c in self.correctness(completions, answer)]
        out = [0.0] * len(completions)
        for group in groups_of([_key(p) for p in prompts]):
            for i, score in zip(group, self.scores([lengths[i] for i in group], [correct[i] for i in group])):
                out[i] = score
        return out


class RelativeLengthReward(_GroupLengthReward):
    """`bonus` for a correct completion shorter than its group's mean length (the relative rule)."""

    __name__ = "relative_length"

    def __init__(self, bonus: float = 0.5, kind: str = "number") -> None:
        super().__init__(kind)
        self.bonus = bonus

    def scores(self, lengths: list[int], correct: list[bool]) -> list[float]:
        return relative_length_bonus(lengths, correct, self.bonus)


class KimiLengthReward(_GroupLengthReward):
    """Kimi 1.5's length reward inside each group (`kimi_length_scores`)."""

    __name__ = "kimi_length"

    def scores(self, lengths: list[int], correct: list[bool]) -> list[float]:
        return kimi_length_scores(lengths, correct)


class BudgetReward:
    """An absolute budget of `budget` completion tokens (`budget_penalty`), the same for every
    completion whatever its group."""

    __name__ = "token_budget"

    def __init__(self, budget: int, window: int) -> None:
        if not 0 < window <= budget:
            raise ValueError(f"the budget's window must be in 1..{budget}, got {window}")
        self.budget, self.window = budget, window

    def __call__(
        self, completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None = None, **kwargs: Any
    ) -> list[float]:
        lengths = _lengths(completion_ids, len(completions), self.__name__)
        return [budget_penalty(n, self.budget, self.window) for n in lengths]
