"""Probes by name, built from plain options (as strategies are). Importing it adds the probes'
section (`REPORT_SECTION`) to the reports written afterwards."""

from __future__ import annotations

from typing import Any

from ponder.faithfulness.ablations import Ablations
from ponder.faithfulness.biased import AlwaysA, SuggestedAnswer
from ponder.faithfulness.early import EarlyAnswering
from ponder.faithfulness.filler import FillerTokens
from ponder.faithfulness.mistakes import AddingMistakes
from ponder.faithfulness.paraphrase import Paraphrasing
from ponder.faithfulness.report import NAME as REPORT_SECTION
from ponder.strategies.registry import checked_options

__all__ = ["ALLOWED", "COMMON", "PROBES", "REPORT_SECTION", "build_probe"]

PROBES = {
    "early": EarlyAnswering,
    "mistakes": AddingMistakes,
    "filler": FillerTokens,
    "paraphrase": Paraphrasing,
    "suggested": SuggestedAnswer,
    "always-a": AlwaysA,
    "ablations": Ablations,
}
COMMON = {
    "max_tokens",
    "exemplars",
    "data_dir",
    "seed",
    "verifier_model",
    "per_call_budget",
    "per_task_budget",
}
ALLOWED = {name: COMMON | ({"fraction"} if name == "paraphrase" else set()) for name in PROBES}


def build_probe(name: str, **options: Any):
    """A probe by name; `verifier_model` is the editor (mistakes, paraphrases)."""
    opts, budget = checked_options("probe", name, ALLOWED, options)
    editor = opts.pop("verifier_model", None)
    return PROBES[name](budget=budget, editor=editor, **opts)
