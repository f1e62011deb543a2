"""The report's figures as PNG bytes: matplotlib `Figure` objects drawn without pyplot, so no
backend is chosen and no display is needed."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure

from ponder.eval.metrics import pareto_front
from ponder.report.data import RunSummary


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _first_colour(patches: Any) -> Any:
    """The face colour of a histogram's first bar."""
    return patches[0].get_facecolor()


def accuracy_vs_tokens(runs: list[RunSummary]) -> bytes:
    """Accuracy (with its 95% CI) against tokens per item; the Pareto frontier joined by a line."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    points = [(r.tokens, r.accuracy) for r in runs]
    for r in runs:
        ax.errorbar(
            r.tokens,
            r.accuracy * 100,
            yerr=[[max(0.0, (r.accuracy - r.ci[0]) * 100)], [max(0.0, (r.ci[1] - r.accuracy) * 100)]],
            fmt="o",
            capsize=3,
            label=r.label,
        )
    front = pareto_front(points)
    if len(front) > 1:
        ax.plot(
            [points[i][0] for i in front],
            [points[i][1] * 100 for i in front],
            "k--",
            lw=1,
            label="Pareto frontier",
        )
    logged = any(r.tokens > 0 for r in runs)  # runs that used no tokens (all cached) have none to log
    if logged:
        ax.set_xscale("log")
    ax.set_xlabel("tokens per item (prompt evaluated + completion" + (", log scale)" if logged else ")"))
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy versus compute")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return png(fig)


def maj_at_k(runs: list[RunSummary]) -> bytes | None:
    """maj@k and pass@k against k for the sampled strategies; None when no run has samples."""
    sampled = [(r, r.maj) for r in runs if r.maj]
    if not sampled:
        return None
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for r, maj in sampled:
        ks = list(range(1, len(maj) + 1))
        (line,) = ax.plot(ks, [m * 100 for m in maj], "o-", label=f"maj@k {r.label}")
        if r.pass_k:
            ax.plot(ks, [p * 100 for p in r.pass_k], "s:", color=line.get_color(), label=f"pass@k {r.label}")
    ax.set_xlabel("k (samples voting)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("maj@k and pass@k over all k-subsets of the samples")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return png(fig)


def overthinking(runs: list[RunSummary]) -> bytes | None:
    """Per question-length quintile: mean answer length and accuracy, one line per run."""
    shown = [r for r in runs if r.length_buckets]
    if not shown:
        return None
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    for r in shown:
        xs = [b["bucket"] for b in r.length_buckets]
        left.plot(xs, [b["completion_tokens"] for b in r.length_buckets], "o-", label=r.label)
        right.plot(xs, [b["accuracy"] * 100 for b in r.length_buckets], "o-", label=r.label)
    ticks = [
        f"Q{b['bucket']}\n{b['question_words_min']}-{b['question_words_max']}w"
        for b in shown[0].length_buckets
    ]
    for ax in (left, right):
        ax.set_xticks(range(1, len(ticks) + 1), ticks, fontsize=7)
        ax.set_xlabel("question length quintile (words)")
        ax.grid(alpha=0.3)
    left.set_ylabel("completion tokens per item")
    right.set_ylabel("accuracy (%)")
    left.set_title("Answer length by question length")
    right.set_title("Accuracy by question length")
    right.legend(fontsize=7)
    return png(fig)


def symbolic_sets(runs: list[RunSummary]) -> bytes | None:
    """GSM-Symbolic: accuracy of each instance set as a histogram, the originals' as a line."""
    shown = [(r, r.symbolic) for r in runs if r.symbolic]
    if not shown:
        return None
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for r, sym in shown:
        _, _, patches = ax.hist(
            [x * 100 for x in sym["per_set"]],
            bins=min(10, max(3, sym["sets"])),
            alpha=0.5,
            label=f"{r.label}: sets {sym['mean'] * 100:.1f} ± {sym['std'] * 100:.1f}%",
        )
        if sym["original"] is not None:
            ax.axvline(
                sym["original"] * 100,
                color=_first_colour(patches),
                ls="--",
                lw=1.5,
                label=f"{r.label}: originals {sym['original'] * 100:.1f}%",
            )
    ax.set_xlabel("accuracy of one instance set (%)")
    ax.set_ylabel("instance sets")
    ax.set_title("GSM-Symbolic: accuracy over instance sets vs the original problems")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return png(fig)
