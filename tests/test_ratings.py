"""Elo and Bradley-Terry against closed forms, an independent MM fit, and simulated battles."""

import math
import random

import numpy as np
import pytest

from ponder.arena.ratings import (
    bootstrap,
    bradley_terry,
    leaderboard,
    observed_matrix,
    online_elo,
    predicted_matrix,
    win_probability,
)


def battles(a, b, wins, losses, ties=0):
    return [(a, b, 1.0)] * wins + [(a, b, 0.0)] * losses + [(a, b, 0.5)] * ties


def simulate(true, n, seed):
    rng = random.Random(seed)
    names = list(true)
    out = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        out.append((a, b, 1.0 if rng.random() < win_probability(true[a], true[b]) else 0.0))
    return out


def mm_reference(outcomes, iters=20000):
    """Hunter (2004) minorisation-maximisation for Bradley-Terry: p_i = W_i / sum_j n_ij / (p_i + p_j)."""
    names = sorted({p for a, b, _ in outcomes for p in (a, b)})
    w = {p: 0.0 for p in names}
    n = {}
    for a, b, s in outcomes:
        w[a] += s
        w[b] += 1 - s
        n[a, b] = n.get((a, b), 0) + 1
        n[b, a] = n.get((b, a), 0) + 1
    p = {x: 1.0 for x in names}
    for _ in range(iters):
        p = {i: w[i] / sum(n.get((i, j), 0) / (p[i] + p[j]) for j in names if j != i) for i in names}
        g = math.exp(sum(math.log(v) for v in p.values()) / len(p))
        p = {k: v / g for k, v in p.items()}
    return {k: 1000 + 400 * math.log10(v) for k, v in p.items()}


@pytest.mark.parametrize("wins,losses,ties", [(30, 10, 0), (3, 1, 2), (7, 7, 5), (1, 9, 0)])
def test_two_players_gap_is_closed_form(wins, losses, ties):
    r = bradley_terry(battles("a", "b", wins, losses, ties))
    won, lost = wins + ties / 2, losses + ties / 2
    assert r["a"] - r["b"] == pytest.approx(400 * math.log10(won / lost), abs=1e-3)
    assert (r["a"] + r["b"]) / 2 == pytest.approx(1000)


def test_bt_matches_an_independent_mm_fit():
    true = {"p": 1200, "q": 1100, "r": 1000, "s": 950, "t": 750}
    outcomes = simulate(true, 600, seed=3) + battles("p", "t", 2, 1, 3)
    ours = bradley_terry(outcomes)
    ref = mm_reference(outcomes)
    for name in true:
        assert ours[name] == pytest.approx(ref[name], abs=1e-3)


def test_bt_recovers_simulated_ratings_within_the_ci():
    true = {"p": 1250, "q": 1100, "r": 1000, "s": 900, "t": 750}
    outcomes = simulate(true, 4000, seed=11)
    board = {row.player: row for row in leaderboard(outcomes, rounds=200, seed=0)}
    for name, rating in true.items():
        row = board[name]
        assert row.lower <= rating <= row.upper, (name, row)
        assert row.upper - row.lower < 60


def test_elo_and_bt_agree_in_order_on_a_large_consistent_sample():
    true = {"p": 1300, "q": 1150, "r": 1000, "s": 850, "t": 700}
    outcomes = simulate(true, 5000, seed=5)
    bt = bradley_terry(outcomes)
    elo = online_elo(outcomes, k=4)
    order = sorted(true, key=lambda x: -true[x])
    assert sorted(bt, key=lambda x: -bt[x]) == order
    assert sorted(elo, key=lambda x: -elo[x]) == order


def test_online_elo_worked_example():
    # two 1000-rated players, K = 32: the winner gains 16; then the 984 player beats the 1016 one
    r = online_elo([("a", "b", 1.0)], k=32)
    assert r == {"a": 1016.0, "b": 984.0}
    r = online_elo([("a", "b", 1.0), ("b", "a", 1.0)], k=32)
    expected_b = 1 / (1 + 10 ** ((1016 - 984) / 400))
    assert r["b"] == pytest.approx(984 + 32 * (1 - expected_b))
    assert r["a"] + r["b"] == pytest.approx(2000)
    # a tie between equals changes nothing; order matters
    assert online_elo([("a", "b", 0.5)], k=32) == {"a": 1000.0, "b": 1000.0}
    assert online_elo([("a", "b", 1.0), ("a", "b", 0.0)], k=32) != online_elo(
        [("a", "b", 0.0), ("a", "b", 1.0)], k=32
    )


def test_undefeated_player_stays_finite_and_on_top():
    outcomes = battles("a", "b", 5, 0) + battles("b", "c", 3, 3)
    r = bradley_terry(outcomes)
    assert all(math.isfinite(v) for v in r.values())
    assert r["a"] > r["b"] + 400
    assert r["b"] == pytest.approx(r["c"], abs=1e-3)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    outcomes = battles("a", "b", 20, 10, 4) + battles("b", "c", 12, 8)
    one = bootstrap(outcomes, bradley_terry, rounds=100, seed=1)
    two = bootstrap(outcomes, bradley_terry, rounds=100, seed=1)
    assert one == two
    point = bradley_terry(outcomes)
    for name, (lo, hi) in one.items():
        assert lo <= point[name] <= hi


def test_matrices():
    outcomes = battles("a", "b", 3, 1, 2) + battles("b", "c", 1, 0)
    names = ["a", "b", "c"]
    obs = observed_matrix(outcomes, names)
    assert obs[0, 1] == pytest.approx(4 / 6) and obs[1, 0] == pytest.approx(2 / 6)
    assert obs[1, 2] == 1.0 and np.isnan(obs[0, 2]) and np.isnan(obs[0, 0])
    pred = predicted_matrix({"a": 1400, "b": 1000, "c": 1000}, names)
    assert pred[0, 1] == pytest.approx(10 / 11) and pred[1, 2] == pytest.approx(0.5)
    off = ~np.eye(3, dtype=bool)
    assert np.allclose((pred + pred.T)[off], 1.0) and np.isnan(pred[1, 1])


def test_leaderboard_rows():
    outcomes = battles("a", "b", 6, 2, 2) + battles("c", "a", 1, 3)
    rows = leaderboard(outcomes, rounds=50)
    # a-b: 7 of 10 (ties halved) -> 147 points; a-c: 3 of 4 -> 191 points
    assert [r.player for r in rows] == ["a", "b", "c"]
    assert rows[0].rating - rows[1].rating == pytest.approx(400 * math.log10(7 / 3), abs=1e-3)
    top = rows[0]
    assert top.battles == 14 and top.win_rate == pytest.approx((6 + 1 + 3) / 14)
    with pytest.raises(ValueError, match="rating method"):
        leaderboard(outcomes, method="glicko")


@pytest.mark.parametrize("seed", [0, 3])
def test_the_counted_bt_bootstrap_draws_and_fits_what_the_plain_one_does(seed):
    from ponder.arena.ratings import bt_bootstrap

    outcomes = battles("a", "b", 20, 10, 4) + battles("b", "c", 12, 8) + battles("d", "a", 1, 0)
    plain = bootstrap(outcomes, bradley_terry, rounds=200, seed=seed)
    counted = bt_bootstrap(outcomes, rounds=200, seed=seed)
    assert counted.keys() == plain.keys()
    for name in plain:  # "d" is missing from some resamples: both leave it out of those rounds
        assert counted[name] == pytest.approx(plain[name], abs=1e-6)
