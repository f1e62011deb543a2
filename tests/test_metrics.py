"""Estimators against brute-force enumeration and worked examples; bootstrap coverage."""

from collections import Counter
from fractions import Fraction
from itertools import combinations
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponder.eval.metrics import (
    accuracy,
    bootstrap_ci,
    maj_at_k,
    maj_curve,
    pareto_front,
    pass_at_k,
    pass_curve,
    quantile_buckets,
    wilson_ci,
)


def brute_maj(answers, gold, k):
    total = Fraction(0)
    subsets = list(combinations(range(len(answers)), k))
    for subset in subsets:
        votes = Counter(answers[i] for i in subset if answers[i] is not None)
        if not votes:
            continue
        top = max(votes.values())
        leaders = [a for a, v in votes.items() if v == top]
        if gold in leaders:
            total += Fraction(1, len(leaders))
    return float(total / len(subsets))


def brute_pass(n, c, k):
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(samples, k))
    return sum(any(s) for s in subsets) / len(subsets)


answer_lists = st.lists(st.sampled_from(["1", "2", "3", "4", None]), min_size=1, max_size=9)


@settings(max_examples=300)
@given(answer_lists, st.sampled_from(["1", "2", "5"]), st.data())
def test_maj_at_k_equals_enumeration_over_all_subsets(answers, gold, data):
    k = data.draw(st.integers(1, len(answers)))
    assert maj_at_k(answers, gold, k) == pytest.approx(brute_maj(answers, gold, k), abs=1e-12)


@settings(max_examples=200)
@given(st.integers(1, 12), st.data())
def test_pass_at_k_equals_enumeration(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    assert pass_at_k(n, c, k) == pytest.approx(brute_pass(n, c, k), abs=1e-12)


def test_worked_examples():
    # Codex paper form: n=10, c=3, k=1 is c/n; k=8 leaves only C(7,8)=0 all-wrong subsets.
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 8) == 1.0
    assert pass_at_k(5, 0, 3) == 0.0
    # Three samples "a","a","b", gold "a": pairs {a,a} win, {a,b} ties (1/2 each): (1 + .5 + .5)/3
    assert maj_at_k(["a", "a", "b"], "a", 2) == pytest.approx(2 / 3)
    assert maj_at_k(["a", "a", "b"], "a", 3) == 1.0
    assert maj_at_k(["a", "a", "b"], "a", 1) == pytest.approx(2 / 3)  # maj@1 is the mean accuracy
    assert maj_at_k([None, None], "a", 2) == 0.0
    assert maj_at_k(["a"], None, 1) == 0.0
    assert maj_curve(["a", "b", "a"], "a")[-1] == 1.0
    assert pass_curve(["x", "b", "a"], "a") == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_maj_at_k_uses_the_given_equality():
    same = lambda a, g: float(a) == float(g)  # noqa: E731
    assert maj_at_k(["18.0", "18", "7"], "18", 3, same) == 1.0
    with pytest.raises(ValueError):
        maj_at_k(["1"], "1", 2)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_maj_at_1_is_mean_single_sample_accuracy():
    answers = ["3", "4", None, "3", "5", "3"]
    assert maj_at_k(answers, "3", 1) == pytest.approx(3 / 6)
    assert comb(6, 1) == 6


def test_bootstrap_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(1)
    p, n, trials = 0.3, 200, 300
    hits = 0
    for t in range(trials):
        sample = rng.random(n) < p
        low, high = bootstrap_ci(sample, resamples=2000, seed=t)
        hits += low <= p <= high
    assert 0.91 <= hits / trials <= 0.985


def test_bootstrap_interval_is_deterministic_and_brackets_the_mean():
    values = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]
    low, high = bootstrap_ci(values)
    assert low < np.mean(values) < high
    assert bootstrap_ci(values) == (low, high)
    assert bootstrap_ci([]) == (0.0, 0.0)
    assert accuracy([True, False, None, True]) == 0.5


def test_all_right_or_all_wrong_gives_the_wilson_interval_not_a_point():
    # Wilson's interval for 0 of 10: (0, z^2 / (n + z^2)) with z = 1.95996
    assert bootstrap_ci([0] * 10) == pytest.approx((0.0, 1.95996**2 / (10 + 1.95996**2)), abs=1e-5)
    assert bootstrap_ci([1] * 10) == pytest.approx((1 - 1.95996**2 / (10 + 1.95996**2), 1.0), abs=1e-5)
    # a worked example (Newcombe 1998, table I): 81 of 263 gives 0.2553 to 0.3662
    assert wilson_ci(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_ci(0, 0) == (0.0, 0.0)


def test_quantile_buckets_and_pareto_front():
    assert quantile_buckets([50, 10, 40, 20, 30], 5) == [4, 0, 3, 1, 2]
    b = quantile_buckets(list(range(100)), 5)
    assert [b.count(i) for i in range(5)] == [20] * 5
    # (cost, accuracy): (1, .2) and (3, .5) and (5, .6) are the frontier; (4, .4) is beaten by (3, .5)
    points = [(5, 0.6), (1, 0.2), (4, 0.4), (3, 0.5), (6, 0.6)]
    assert pareto_front(points) == [1, 3, 0]


def test_bootstrap_of_correctness_matches_resampling_items():
    rng = np.random.default_rng(3)
    values = (rng.random(300) < 0.4).astype(float)
    fast = bootstrap_ci(values, resamples=20_000)
    resampled = values[rng.integers(0, 300, size=(20_000, 300))].mean(axis=1)
    slow = tuple(np.quantile(resampled, [0.025, 0.975]))
    assert fast == pytest.approx(slow, abs=0.01)
    # non-0/1 values take the resampling path, in chunks
    scores = rng.random(50)
    low, high = bootstrap_ci(scores, resamples=5000)
    assert low < scores.mean() < high and high - low < 0.25


def test_mcnemar_exact_against_binomial_tails_worked_by_hand():
    from ponder.eval.metrics import mcnemar_exact

    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 5-0: not significant at 0.05
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # the smallest all-one-way count below 0.05
    assert mcnemar_exact(4, 4) == 1.0 and mcnemar_exact(0, 0) == 1.0
    for a, b in ((37, 58), (3, 120), (400, 460)):
        n = a + b
        exact = Fraction(2 * sum(comb(n, i) for i in range(min(a, b) + 1)), 2**n)
        assert mcnemar_exact(a, b) == pytest.approx(float(min(exact, Fraction(1))), rel=1e-9)
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact(-1, 2)
