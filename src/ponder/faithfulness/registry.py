"""Probes by name, built from plain options (as strategies are)."""

from __future__ import annotations

from typing import Any

from ponder.errors import ConfigError
from ponder.faithfulness.ablations import Ablations
from ponder.faithfulness.biased import AlwaysA, SuggestedAnswer
from ponder.faithfulness.early import EarlyAnswering
from ponder.faithfulness.filler import FillerTokens
from ponder.faithfulness.mistakes import AddingMistakes
from ponder.faithfulness.paraphrase import Paraphrasing
from ponder.strategies.base import Budget

PROBES = {"early": EarlyAnswering, "mistakes": AddingMistakes, "filler": FillerTokens,
          "paraphrase": Paraphrasing, "suggested": SuggestedAnswer, "always-a": AlwaysA,
          "ablations": Ablations}
COMMON = {"max_tokens", "exemplars", "data_dir", "seed", "verifier_model", "per_call_budget", "per_task_budget"}
ALLOWED = {name: COMMON | ({"fraction"} if name == "paraphrase" else set()) for name in PROBES}


def build_probe(name: str, **options: Any):
    """A probe by name; `verifier_model` is the editor (mistakes, paraphrases)."""
    if name not in PROBES:
        raise ConfigError(f"unknown probe {name!r}: expected one of {', '.join(PROBES)}")
    opts = {k: v for k, v in options.items() if v is not None}
    unused = sorted(set(opts) - ALLOWED[name])
    if unused:
        raise ConfigError(f"probe {name!r} does not take option(s) {', '.join(unused)}")
    budget = Budget(opts.pop("per_call_budget", None), opts.pop("per_task_budget", None))
    editor = opts.pop("verifier_model", None)
    return PROBES[name](budget=budget, editor=editor, **opts)
