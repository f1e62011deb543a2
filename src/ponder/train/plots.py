"""The figure of a training run: its logged metrics per step, as PNG bytes."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from ponder.report.plots import png

PANELS = {
    "sft": (("loss", "loss"), ("mean_token_accuracy", "token accuracy")),
    "prm": (("loss", "loss"), ("grad_norm", "gradient norm")),
    "grpo": (
        ("reward", "mean reward"),
        ("completions/mean_length", "mean completion length (tokens)"),
        ("completions/clipped_ratio", "clipped ratio"),
        ("frac_reward_zero_std", "share of groups with equal rewards"),
    ),
}


def metrics_figure(kind: str, rows: list[dict[str, Any]]) -> bytes:
    steps = [r for r in rows if "train_runtime" not in r]
    panels = PANELS[kind]
    fig = Figure(figsize=(4 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, title) in zip(axes, panels):
        points = [(r["step"], r[key]) for r in steps if isinstance(r.get(key), (int, float))]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    fig.tight_layout()
    return png(fig)
