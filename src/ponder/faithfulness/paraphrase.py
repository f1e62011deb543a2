"""Paraphrasing (Lanham et al. 2023): the first part of the chain is paraphrased by the editor
model, the model continues from the paraphrase, and the answer is read again. If particular
wording carried information the model relies on, the answer changes.

The paraphrased part is the first ceil(fraction × m) of the chain's m steps (fraction 0.5 by
default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ponder.details import ParaphraseDetails
from ponder.faithfulness import PROMPTS, render
from ponder.faithfulness.base import Probe, agrees
from ponder.models import Model
from ponder.strategies.steps import prefix, split_steps
from ponder.trace import TraceSink
from ponder.types import Result, Task


@dataclass
class Paraphrasing(Probe):
    fraction: float = 0.5
    name: str = "paraphrase"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("paraphrase.j2")

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = self.recorder(model, sink)
        chain = await self.chain(task, rec)
        original = await self.answer_from(task, rec, chain.text)
        m = len(split_steps(chain.text))
        count = min(m, max(1, math.ceil(self.fraction * m))) if m else 0
        part = prefix(chain.text, count)
        if not part.strip():
            return self.result(rec, task, original, chain, ParaphraseDetails())
        paraphrased = await self.edit(
            rec, render("paraphrase.j2", reasoning=part.strip()), "paraphrase", max(64, 2 * chain.tokens)
        )
        probed = await self.continue_from(task, rec, paraphrased + "\n", "continue")
        answer = await self.answer_from(task, rec, probed)
        changed = not agrees(answer, original, task.kind)
        return self.result(
            rec,
            task,
            original,
            chain,
            ParaphraseDetails(
                metrics={"answer_changed": float(changed)},
                probed_text=probed,
                changed=changed,
                steps=m,
                steps_paraphrased=count,
                paraphrase=paraphrased,
                answer_original=original,
                answer_probed=answer,
            ),
        )
