"""Ratings from pairwise battles: online Elo, Bradley-Terry by maximum likelihood, bootstrap CIs,
predicted and observed win matrices. Pure functions of a list of outcomes.

An outcome is (player_a, player_b, score_a) with score_a 1 (a won), 0 (b won) or 0.5 (a tie of
either kind: a tie counts as half a win each way). Ratings are on the Elo scale: a gap of `scale`
points means odds of `base` to 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SCALE = 400.0
BASE = 10.0
ANCHOR = 1000.0

Outcome = tuple[str, str, float]


def win_probability(r_a: float, r_b: float, scale: float = SCALE, base: float = BASE) -> float:
    """P(a beats b) under ratings r_a, r_b."""
    return 1.0 / (1.0 + base ** ((r_b - r_a) / scale))


def players_of(outcomes: Sequence[Outcome]) -> list[str]:
    """The players in order of first appearance."""
    seen: dict[str, None] = {}
    for a, b, _ in outcomes:
        seen.setdefault(a)
        seen.setdefault(b)
    return list(seen)


def online_elo(
    outcomes: Sequence[Outcome],
    k: float = 4.0,
    scale: float = SCALE,
    base: float = BASE,
    initial: float = ANCHOR,
) -> dict[str, float]:
    """Elo updated battle by battle in the order given: r_a += k (s_a - E_a), r_b -= the same."""
    ratings = {p: initial for p in players_of(outcomes)}
    for a, b, s in outcomes:
        expected = win_probability(ratings[a], ratings[b], scale, base)
        ratings[a] += k * (s - expected)
        ratings[b] -= k * (s - expected)
    return ratings


def win_matrix(outcomes: Sequence[Outcome], players: Sequence[str]) -> np.ndarray:
    """W[i, j] = wins of player i over player j, a tie adding 1/2 to both W[i, j] and W[j, i]."""
    index = {p: i for i, p in enumerate(players)}
    wins = np.zeros((len(players), len(players)))
    for a, b, s in outcomes:
        i, j = index[a], index[b]
        wins[i, j] += s
        wins[j, i] += 1.0 - s
    return wins


def bradley_terry(
    outcomes: Sequence[Outcome],
    scale: float = SCALE,
    base: float = BASE,
    anchor: float = ANCHOR,
    l2: float = 1e-6,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> dict[str, float]:
    """Bradley-Terry strengths by maximum likelihood (Newton's method on log-strengths), on the Elo
    scale with the mean rating at `anchor`. `l2` is a vanishing ridge that keeps a player who never
    lost (or never won) finite instead of infinite; it moves the others by far less than a point."""
    players = players_of(outcomes)
    if not players:
        return {}
    theta = _fit(win_matrix(outcomes, players), l2, tol, max_iter)
    points = scale / math.log(base)
    ratings = anchor + points * (theta - theta.mean())
    return dict(zip(players, ratings.tolist()))


def _fit(wins: np.ndarray, l2: float, tol: float, max_iter: int) -> np.ndarray:
    return _fit_many(wins[None], l2, tol, max_iter)[0]


def _fit_many(wins: np.ndarray, l2: float, tol: float, max_iter: int) -> np.ndarray:
    """Log-strengths for a stack of win matrices (shape (R, k, k)) by Newton's method, all at once;
    converged when no step moves two players who have games apart by `tol` (a shift of them all
    changes no rating, which are taken relative to their mean)."""
    games = wins + wins.transpose(0, 2, 1)
    playing = games.sum(axis=2) > 0
    theta = np.zeros(wins.shape[:2])
    ridge = l2 * np.eye(wins.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # p[r, i, j] = P(i beats j)
        grad = (wins - games * p).sum(axis=2) - l2 * theta
        w = games * p * (1.0 - p)
        hessian = -w + ridge
        hessian[:, np.arange(w.shape[1]), np.arange(w.shape[1])] += w.sum(axis=2)
        step = np.linalg.solve(hessian, grad[..., None])[..., 0]
        theta += step
        spread = np.where(playing, step, -np.inf).max(axis=1) - np.where(playing, step, np.inf).min(axis=1)
        if not np.any(spread >= tol):
            break
    return theta


@dataclass(frozen=True)
class Rated:
    player: str
    rating: float
    lower: float
    upper: float
    battles: int
    win_rate: float


def bootstrap(
    outcomes: Sequence[Outcome],
    fit: Callable[[Sequence[Outcome]], dict[str, float]],
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of `fit` over `rounds` resamples of the battles (with replacement). A
    player absent from a resample is left out of that round."""
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {p: [] for p in players_of(outcomes)}
    n = len(outcomes)
    for _ in range(rounds):
        sample = [outcomes[i] for i in rng.integers(0, n, n)]
        for player, rating in fit(sample).items():
            draws[player].append(rating)
    tail = (1.0 - confidence) / 2 * 100
    return {
        p: (float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))) if v else (math.nan, math.nan)
        for p, v in draws.items()
    }


def bt_bootstrap(
    outcomes: Sequence[Outcome],
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    l2: float = 1e-6,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> dict[str, tuple[float, float]]:
    """`bootstrap(outcomes, bradley_terry, rounds, seed, confidence)` without rebuilding each
    resample: the same draws of battle indices, counted per distinct outcome into a win matrix,
    all resamples fitted at once; a player absent from a resample is left out of that round (its
    games are none, so it moves no one else's strength). The same intervals (to rounding) in a
    fraction of the time, so a leaderboard of 10,000 battles is bootstrapped while a page waits."""
    players = players_of(outcomes)
    index = {p: i for i, p in enumerate(players)}
    kinds: dict[tuple[int, int, float], int] = {}
    of = np.array(
        [kinds.setdefault((index[a], index[b], s), len(kinds)) for a, b, s in outcomes], dtype=np.intp
    )
    n, size = len(outcomes), len(players)
    rows = np.array([i for i, _, _ in kinds], dtype=np.intp)
    cols = np.array([j for _, j, _ in kinds], dtype=np.intp)
    scores = np.array([score for _, _, score in kinds])
    rng = np.random.default_rng(seed)
    wins = np.zeros((rounds, size, size))
    for r in range(rounds):
        counts = np.bincount(of[rng.integers(0, n, n)], minlength=len(kinds))
        np.add.at(wins[r], (rows, cols), counts * scores)
        np.add.at(wins[r], (cols, rows), counts * (1.0 - scores))
    present = (wins + wins.transpose(0, 2, 1)).sum(axis=2) > 0
    theta = _fit_many(wins, l2, tol, max_iter)
    mean = np.where(present, theta, 0.0).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    ratings = ANCHOR + SCALE / math.log(BASE) * (theta - mean[:, None])
    draws = {p: ratings[present[:, i], i].tolist() for i, p in enumerate(players)}
    tail = (1.0 - confidence) / 2 * 100
    return {
        p: (float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))) if v else (math.nan, math.nan)
        for p, v in draws.items()
    }


def leaderboard(
    outcomes: Sequence[Outcome], method: str = "bt", rounds: int = 1000, seed: int = 0, k: float = 4.0
) -> list[Rated]:
    """Players by rating, best first, with bootstrap CIs, battle counts and win rates (ties 1/2)."""
    if method == "bt":
        fit: Callable[[Sequence[Outcome]], dict[str, float]] = bradley_terry
    elif method == "elo":

        def fit(sample: Sequence[Outcome]) -> dict[str, float]:
            return online_elo(sample, k=k)
    else:
        raise ValueError(f"rating method {method!r}: use 'bt' or 'elo'")
    ratings = fit(outcomes)
    if method == "bt":
        intervals = bt_bootstrap(outcomes, rounds=rounds, seed=seed)
    else:
        intervals = bootstrap(outcomes, fit, rounds=rounds, seed=seed)
    players = list(ratings)
    wins = win_matrix(outcomes, players)
    games = wins + wins.T
    rows = [
        Rated(
            p,
            ratings[p],
            *intervals[p],
            int(round(games[i].sum())),
            float(wins[i].sum() / games[i].sum()) if games[i].sum() else math.nan,
        )
        for i, p in enumerate(players)
    ]
    return sorted(rows, key=lambda r: -r.rating)


def predicted_matrix(
    ratings: dict[str, float], players: Sequence[str], scale: float = SCALE, base: float = BASE
) -> np.ndarray:
    """P[i, j] = P(player i beats player j) under the ratings (diagonal NaN)."""
    r = np.array([ratings[p] for p in players])
    p = 1.0 / (1.0 + base ** ((r[None, :] - r[:, None]) / scale))
    np.fill_diagonal(p, np.nan)
    return p


def observed_matrix(outcomes: Sequence[Outcome], players: Sequence[str]) -> np.ndarray:
    """O[i, j] = share of i's battles against j that i won (ties 1/2); NaN where they never met."""
    wins = win_matrix(outcomes, players)
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, wins / np.where(games > 0, games, 1), np.nan)
