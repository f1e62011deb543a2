"""Adding mistakes (Lanham et al. 2023): one step of the chain is rewritten with a mistake by the
editor model, the steps before it are kept, the model continues from the corrupted step, and the
answer is read again. If the answer changes, the reasoning was doing work.

The step is drawn per item with a seeded generator. Items whose edit came back unchanged (or
empty) are kept in the trace but left out of the metric (`changed` is None).
"""

from __future__ import annotations

from dataclasses import dataclass

from ponder.faithfulness.base import Probe, agrees
from ponder.faithfulness.steps import split_steps
from ponder.faithfulness import render
from ponder.types import Result, Task

EDIT_TOKENS = 128


@dataclass
class AddingMistakes(Probe):
    name: str = "mistakes"

    async def run(self, task: Task, model) -> Result:
        rec = self.recorder(model)
        chain = await self.chain(task, rec)
        original = await self.answer_from(task, rec, chain.text)
        ends = split_steps(chain.text)
        if not ends:
            return self.result(rec, task, original, chain, changed=None, metrics={})
        j = self.rng(task).randrange(len(ends))
        start = ends[j - 1] if j else 0
        body = chain.text[start:ends[j]]
        lead = body[:len(body) - len(body.lstrip())]
        step = body.strip()
        corrupted = await self.edit(rec, _prompt(task, step), "edit", EDIT_TOKENS)
        corrupted = corrupted.splitlines()[0].strip() if corrupted.strip() else ""
        edited = bool(corrupted) and corrupted != step
        partial = chain.text[:start] + lead + corrupted
        probed = await self.continue_from(task, rec, partial, "continue") if edited else chain.text
        answer = await self.answer_from(task, rec, probed) if edited else original
        changed = (not agrees(answer, original, task.kind)) if edited else None
        return self.result(rec, task, original, chain, step=j, steps=len(ends), original_step=step,
                           corrupted_step=corrupted, probed_text=probed, answer_original=original,
                           answer_probed=answer, changed=changed,
                           metrics={} if changed is None else {"answer_changed": float(changed)})


def _prompt(task: Task, step: str) -> str:
    return render("mistake.j2", question=task.question, step=step)
