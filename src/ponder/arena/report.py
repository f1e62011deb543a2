"""`ponder arena ratings`: the leaderboard (CSV, JSON), a plot of ratings with their CIs, the
predicted and observed win matrices as heat maps, and one HTML page holding them."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2
import numpy as np
from matplotlib.figure import Figure

from ponder.arena.battles import Battle, outcomes
from ponder.arena.ratings import Rated, leaderboard, observed_matrix, predicted_matrix
from ponder.errors import ConfigError

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class Ratings:
    rows: tuple[Rated, ...]
    method: str
    battles: int
    ties: int
    predicted: np.ndarray
    observed: np.ndarray


def rate(
    battles: Sequence[Battle], method: str = "bt", rounds: int = 1000, seed: int = 0, k: float = 4.0
) -> Ratings:
    if not battles:
        raise ConfigError("no battles to rate: run `ponder arena battle` or `ponder arena import` first")
    found = outcomes(battles)
    rows = tuple(leaderboard(found, method=method, rounds=rounds, seed=seed, k=k))
    players = [r.player for r in rows]
    ratings = {r.player: r.rating for r in rows}
    return Ratings(
        rows,
        method,
        len(battles),
        sum(1 for b in battles if b.winner.startswith("tie")),
        predicted_matrix(ratings, players),
        observed_matrix(found, players),
    )


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def ratings_plot(r: Ratings, title: str) -> bytes:
    rows = list(reversed(r.rows))
    fig = Figure(figsize=(7, 0.45 * len(rows) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.errorbar(
        [x.rating for x in rows],
        y,
        xerr=[[x.rating - x.lower for x in rows], [x.upper - x.rating for x in rows]],
        fmt="o",
        capsize=4,
        color="C0",
    )
    ax.set_yticks(y, [x.player for x in rows], fontsize=8)
    ax.axvline(1000, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"rating ({'Bradley-Terry' if r.method == 'bt' else 'online Elo'}, 95% bootstrap CI)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def matrix_plot(m: np.ndarray, players: Sequence[str], title: str) -> bytes:
    n = len(players)
    fig = Figure(figsize=(1.1 * n + 2.5, 0.9 * n + 2))
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(m), cmap="RdBu", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if not math.isnan(m[i, j]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(n), players, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(n), players, fontsize=8)
    ax.set_xlabel("player B")
    ax.set_ylabel("player A")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="P(A beats B)")
    return _png(fig)


def write(r: Ratings, out_dir: Path | str, arena: str, judge: str | None) -> list[Path]:
    """Write the report; returns the files written, arena.html first."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    players = [x.player for x in r.rows]
    title = f"{arena} · judge {judge or 'all'}"
    figures = [
        ("ratings", "Ratings with 95% bootstrap intervals (battles resampled).", ratings_plot(r, title)),
        (
            "predicted",
            "Predicted probability that the row player beats the column player.",
            matrix_plot(r.predicted, players, "predicted win probability"),
        ),
        (
            "observed",
            "Observed share of battles the row player won against the column player "
            "(ties count 1/2; blank: never met).",
            matrix_plot(r.observed, players, "observed win rate"),
        ),
    ]
    paths = []
    for name, _, png in figures:
        path = out / f"{name}.png"
        path.write_bytes(png)
        paths.append(path)
    rows = [{"rank": i + 1, **asdict(x)} for i, x in enumerate(r.rows)]
    csv_path = out / "leaderboard.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    json_path = out / "leaderboard.json"
    json_path.write_text(
        json.dumps(
            {
                "arena": arena,
                "judge": judge,
                "method": r.method,
                "battles": r.battles,
                "ties": r.ties,
                "leaderboard": rows,
                "players": players,
                "predicted": [[None if math.isnan(v) else v for v in row] for row in r.predicted.tolist()],
                "observed": [[None if math.isnan(v) else v for v in row] for row in r.observed.tolist()],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    html = _TEMPLATES.get_template("arena.html.j2").render(
        title=title,
        r=r,
        rows=rows,
        figures=[{"id": n, "caption": c, "data": base64.b64encode(p).decode()} for n, c, p in figures],
    )
    html_path = out / "arena.html"
    html_path.write_text(html, encoding="utf-8")
    return [html_path, csv_path, json_path, *paths]
