"""The faithfulness probes' section of the report of runs: each probe metric's mean with its bootstrap
interval, the early-answering curve, and examples with the original chain next to the probed one.
Registered with the report when this module is imported (`ponder.faithfulness.registry` imports it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ponder.details import EarlyAnsweringDetails, ProbeDetails
from ponder.eval.metrics import agreement_at, bootstrap_ci
from ponder.report.data import Item, RunSummary
from ponder.report.sections import SectionFigure, SectionSummary, register_section, render

NAME = "faithfulness"
EARLY_FRACTIONS = tuple(i / 10 for i in range(11))
PER_RUN = 4
SHOWN = {
    "early": ("answers", "agreement"),
    "mistakes": ("original_step", "corrupted_step", "answer_probed"),
    "filler": ("answer_filler", "answer_no_cot"),
    "paraphrase": ("paraphrase", "answer_probed"),
    "suggested": ("suggestion", "answer_biased"),
    "always-a": ("answer_biased",),
    "ablations": ("answers",),
}


def probed(run: RunSummary) -> list[tuple[Item, ProbeDetails]]:
    return [(i, i.details) for i in run.items if isinstance(i.details, ProbeDetails)]


def summarise(run: RunSummary) -> SectionSummary | None:
    """Each probe metric's mean, bootstrap interval and item count (`probe`, and a `probe_METRIC`
    column of means), and the early-answering curve (`early_curve`: share of the chain shown,
    agreement with the full chain's answer)."""
    probes = [p for _, p in probed(run)]
    if not probes:
        return None
    metrics: dict[str, dict[str, float]] = {}
    for name in sorted({k for p in probes for k in p.metrics}):
        values = [p.metrics[name] for p in probes if name in p.metrics]
        low, high = bootstrap_ci(values)
        metrics[name] = {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high, "n": len(values)}
    curves = [list(p.agreement) for p in probes if isinstance(p, EarlyAnsweringDetails) and p.agreement]
    curve = (
        [(f, float(np.mean([agreement_at(c, f) for c in curves]))) for f in EARLY_FRACTIONS]
        if curves
        else None
    )
    return SectionSummary(
        columns={f"probe_{k}": v["mean"] for k, v in metrics.items()},
        record={"probe": metrics, "early_curve": curve},
    )


def _summary(run: RunSummary) -> dict[str, Any]:
    summary = run.sections.get(NAME)
    return summary.record if summary is not None else {}


def figures(runs: Sequence[RunSummary]) -> list[SectionFigure]:
    """Early answering: share of answers equal to the full-chain answer against the share of the
    chain shown."""
    shown = [(r, _summary(r)) for r in runs if _summary(r).get("early_curve")]
    if not shown:
        return []
    from matplotlib.figure import Figure

    from ponder.report.plots import png

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for r, summary in shown:
        xs, ys = zip(*summary["early_curve"])
        ax.plot(
            [x * 100 for x in xs],
            [y * 100 for y in ys],
            "o-",
            drawstyle="steps-post",
            label=f"{r.label} ({r.model.split('@')[0]}), area over curve "
            f"{summary['probe'].get('area_over_curve', {}).get('mean', 0):.2f}",
        )
    ax.set_xlabel("share of the chain of thought shown (%)")
    ax.set_ylabel("same answer as with the full chain (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Early answering")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return [
        SectionFigure(
            "early_answering",
            "Early answering: the answer read after the first k of m steps, compared with "
            "the answer after all m, at each share k/m of the chain.",
            png(fig),
        )
    ]


def examples(runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    """Up to PER_RUN items per faithfulness run, the ones where the probe changed something first."""
    out = []
    for r in runs:
        items = probed(r)
        moved = [
            (i, p)
            for i, p in items
            if getattr(p, "changed", None) or any(v for k, v in p.metrics.items() if "moved" in k)
        ]
        for item, probe in (moved + [x for x in items if x not in moved])[:PER_RUN]:
            shown = {k: getattr(probe, k) for k in SHOWN.get(r.strategy, ()) if hasattr(probe, k)}
            out.append(
                {
                    "label": r.label,
                    "task_id": item.task_id,
                    "question": item.question,
                    "gold": item.gold,
                    "answer": item.answer,
                    "original": item.reasoning,
                    "probed": probe.probed_text,
                    "details": {k: list(v) if isinstance(v, tuple) else v for k, v in shown.items()},
                    "metrics": probe.metrics,
                }
            )
    return out


def html(runs: Sequence[RunSummary]) -> str:
    probes = [(r.label, _summary(r)["probe"]) for r in runs if _summary(r).get("probe")]
    shown = examples(runs)
    if not probes and not shown:
        return ""
    return render(Path(__file__).parent, "report.html.j2", probes=probes, examples=shown)


register_section(NAME, summarise, figures, html)
