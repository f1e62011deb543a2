"""Faithfulness examples for the report: the original chain next to the probed one, with answers."""

from __future__ import annotations

from typing import Any

from ponder.report.data import RunSummary

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


def probe_examples(runs: list[RunSummary]) -> list[dict[str, Any]]:
    """Up to PER_RUN items per faithfulness run, the ones where the probe changed something first."""
    out = []
    for r in runs:
        items = [i for i in r.items if i.meta.get("probe")]
        moved = [
            i
            for i in items
            if i.meta["probe"].get("changed")
            or any(v for k, v in (i.meta["probe"].get("metrics") or {}).items() if "moved" in k)
        ]
        for item in (moved + [i for i in items if i not in moved])[:PER_RUN]:
            probe = item.meta["probe"]
            details = {k: probe[k] for k in SHOWN.get(r.strategy, ()) if k in probe}
            out.append(
                {
                    "label": r.label,
                    "task_id": item.task_id,
                    "question": item.question,
                    "gold": item.gold,
                    "answer": item.answer,
                    "original": item.meta.get("reasoning", ""),
                    "probed": probe.get("probed_text", ""),
                    "details": details,
                    "metrics": probe.get("metrics") or {},
                }
            )
    return out
