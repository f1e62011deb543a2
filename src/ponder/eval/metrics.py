"""Pure estimators: accuracy with a bootstrap interval, pass@k and maj@k over all subsets, and the
exact McNemar test of two systems scored on the same items.

pass@k (Chen et al. 2021): with n samples of which c are correct, the probability that a
uniformly random k-subset holds at least one correct sample, 1 - C(n-c, k) / C(n, k).

maj@k: the probability that the majority vote of a uniformly random k-subset of the n sampled
answers is the gold answer, averaged exactly over all C(n, k) subsets (not just the first k
samples). Samples without an answer (None) are in the subset but do not vote; a subset whose
vote is tied between m answers counts 1/m if the gold answer is among them (the vote's expected
accuracy under a uniformly random tie-break); a subset with no votes counts 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from math import comb, exp, lgamma, log, sqrt
from statistics import NormalDist

import numpy as np


def accuracy(correct: Sequence[bool | None]) -> float:
    """Share of items that are correct; an unscored item (None) counts as wrong."""
    return float(np.mean([bool(c) for c in correct])) if len(correct) else 0.0


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`.

    For 0/1 values (correctness) the count of ones in a resample of n items is exactly
    Binomial(n, mean), which is drawn directly; other values are resampled in chunks. When every
    0/1 value is the same (0 of n or n of n correct) every resample is too, and the bootstrap
    interval collapses to a point; the Wilson score interval is given instead.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    if np.isin(x, (0.0, 1.0)).all() and x.min() == x.max():
        return wilson_ci(int(x.sum()), x.size, level)
    if np.isin(x, (0.0, 1.0)).all():
        means = rng.binomial(x.size, x.mean(), size=resamples) / x.size
    else:
        chunk = max(1, 2_000_000 // x.size)
        means = np.concatenate(
            [
                x[rng.integers(0, x.size, size=(min(chunk, resamples - i), x.size))].mean(axis=1)
                for i in range(0, resamples, chunk)
            ]
        )
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def wilson_ci(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `successes`/`n` (Wilson 1927)."""
    if n <= 0:
        return (0.0, 0.0)
    z = float(NormalDist().inv_cdf(1 - (1 - level) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def maj_at_k(
    answers: Sequence[str | None], gold: str | None, k: int, same: Callable[[str, str], bool] | None = None
) -> float:
    """Exact expected majority-vote accuracy over all k-subsets of `answers` (see module doc).

    `same(a, gold)` says whether an answer is the gold one (default: equality); answers are
    grouped by their value, so give them already normalised.
    """
    n = len(answers)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if gold is None:
        return 0.0
    is_gold = same or (lambda a, g: a == g)
    counts = Counter(a for a in answers if a is not None)
    g_n = sum(v for a, v in counts.items() if is_gold(a, gold))
    others = [v for a, v in counts.items() if not is_gold(a, gold)]
    blanks = n - g_n - sum(others)
    total = 0.0
    for g in range(1, min(g_n, k) + 1):
        # ways[t][m]: choices from the other answers using t samples, all below g except m tied at g
        ways = np.zeros((k + 1, len(others) + 1), dtype=object)
        ways[0][0] = 1
        for size in others:
            nxt = np.zeros_like(ways)
            for t in range(k + 1):
                for m in range(len(others) + 1):
                    w = ways[t][m]
                    if not w:
                        continue
                    for c in range(0, min(size, g, k - t) + 1):
                        nxt[t + c][m + (c == g)] += w * comb(size, c)
            ways = nxt
        for t in range(0, k - g + 1):
            fill = comb(blanks, k - g - t)
            if not fill:
                continue
            for m in range(len(others) + 1):
                if ways[t][m]:
                    total += comb(g_n, g) * ways[t][m] * fill / (m + 1)
    return float(total / comb(n, k))


def maj_curve(
    answers: Sequence[str | None], gold: str | None, same: Callable[[str, str], bool] | None = None
) -> list[float]:
    """maj@k for k = 1..n."""
    return [maj_at_k(answers, gold, k, same) for k in range(1, len(answers) + 1)]


def pass_curve(
    answers: Sequence[str | None], gold: str | None, same: Callable[[str, str], bool] | None = None
) -> list[float]:
    """pass@k for k = 1..n."""
    is_gold = same or (lambda a, g: a == g)
    c = sum(1 for a in answers if a is not None and gold is not None and is_gold(a, gold))
    return [pass_at_k(len(answers), c, k) for k in range(1, len(answers) + 1)]


def quantile_buckets(values: Sequence[float], buckets: int = 5) -> list[int]:
    """Bucket index (0..buckets-1) of each value by rank: equal-count buckets, ties kept together
    only as far as rank order allows."""
    order = np.argsort(np.asarray(values, dtype=float), kind="stable")
    out = [0] * len(values)
    for rank, i in enumerate(order):
        out[int(i)] = min(buckets - 1, rank * buckets // max(len(values), 1))
    return out


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: fewer or equal cost (x) with higher or equal
    accuracy (y), strictly better in one. Ordered by cost."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (x2 <= x and y2 >= y) and (x2 < x or y2 > y) for j, (x2, y2) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], points[i][1]))


def agreement_at(agreement: list[bool], fraction: float) -> bool:
    """Early answering's curve at `fraction`: whether the answer from the first floor(fraction × m)
    of a chain's m steps agreed with the full chain's (`agreement` holds m + 1 entries)."""
    m = len(agreement) - 1
    return agreement[min(m, int(fraction * m + 1e-9))]


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value of two systems scored on the same items: `only_a` items
    only the first got right, `only_b` only the second. Under no difference each discordant item
    is a fair coin, so p = min(1, 2 * P[Binomial(only_a + only_b, 1/2) <= min(only_a, only_b)]);
    1.0 when no item is discordant. The tail is summed in log space (lgamma), so thousands of
    discordant items cost milliseconds."""
    if only_a < 0 or only_b < 0:
        raise ValueError(f"need non-negative counts, got {only_a} and {only_b}")
    n = only_a + only_b
    if n == 0:
        return 1.0
    top = lgamma(n + 1) - n * log(2)
    logs = np.array([top - lgamma(i + 1) - lgamma(n - i + 1) for i in range(min(only_a, only_b) + 1)])
    peak = float(logs.max())
    return min(1.0, 2 * exp(peak + log(float(np.exp(logs - peak).sum()))))
