"""Figures of the generated data, as PNG bytes."""

from __future__ import annotations

from matplotlib.figure import Figure

from ponder.datagen.rejection import Report
from ponder.report.plots import png


def length_histogram(report: Report) -> bytes:
    """Token lengths of all sampled chains against the kept ones."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    lengths = list(report.all_lengths) or [0]
    bins = min(30, max(5, len(set(lengths))))
    top = max(lengths)
    ax.hist(lengths, bins=bins, range=(0, top), alpha=0.5, label=f"all chains ({report.chains})")
    if report.kept_lengths:
        ax.hist(report.kept_lengths, bins=bins, range=(0, top), alpha=0.7, label=f"kept ({report.kept})")
    ax.set_xlabel("chain length (tokens)")
    ax.set_ylabel("chains")
    ax.legend()
    return png(fig)
