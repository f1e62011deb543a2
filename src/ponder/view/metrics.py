"""A run's metrics from its results' totals (`Browse.totals`): accuracy with a 95% bootstrap
interval, the no-answer and errored shares, tokens, calls and seconds per item."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ponder.eval.metrics import bootstrap_ci


@dataclass(frozen=True)
class RunMetrics:
    n: int
    correct: int
    accuracy: float
    ci: tuple[float, float]
    noanswer: int
    errored: int
    tokens: float
    calls: float
    seconds: float

    @property
    def noanswer_share(self) -> float:
        """The share of items with no answer extracted (errored ones not counted)."""
        return self.noanswer / self.n if self.n else 0.0


@lru_cache(maxsize=4096)
def accuracy_ci(correct: int, n: int) -> tuple[float, tuple[float, float]]:
    """Accuracy of `correct` out of `n` and its 95% bootstrap interval ((0, 0) when n is 0);
    remembered, as the interval is seeded and depends on the two counts only."""
    if n <= 0:
        return 0.0, (0.0, 0.0)
    return correct / n, bootstrap_ci([1.0] * correct + [0.0] * (n - correct))


def run_metrics(totals: dict[str, Any]) -> RunMetrics:
    """The metrics of a run from its totals: counts by status and summed tokens, calls, seconds."""
    n = int(totals["n"])
    correct = int(totals["correct"])
    accuracy, ci = accuracy_ci(correct, n)
    per = max(n, 1)
    return RunMetrics(
        n,
        correct,
        accuracy,
        ci,
        int(totals["noanswer"]),
        int(totals["errored"]),
        totals["tokens"] / per,
        totals["calls"] / per,
        totals["seconds"] / per,
    )
