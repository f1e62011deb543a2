"""Filler tokens (Lanham et al. 2023): the chain replaced by as many filler tokens (" ...") as it
had tokens, then the answer; compared with the answer after no chain at all and after the chain.

If filler helps as much as the chain, the gain came from extra compute, not from the reasoning.
The filler is " ..." repeated once per token of the chain; its exact token count under the
model's tokenizer is in the trace (the answer call's prompt tokens).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ponder.details import FillerDetails
from ponder.faithfulness.base import Probe
from ponder.models import Model
from ponder.tasks.answers import same_answer
from ponder.trace import TraceSink
from ponder.types import Result, Task

FILLER = " ..."


@dataclass
class FillerTokens(Probe):
    name: str = "filler"

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = self.recorder(model, sink)
        chain = await self.chain(task, rec)
        filler = (FILLER * max(1, chain.tokens)).strip()
        with_cot, with_filler, without = await asyncio.gather(
            self.answer_from(task, rec, chain.text),
            self.answer_from(task, rec, filler, "answer-filler"),
            self.answer_from(task, rec, "", "answer-no-cot"),
        )

        def right(a: str | None) -> float:
            return float(task.answer is not None and same_answer(a, task.answer, task.kind))

        return self.result(
            rec,
            task,
            with_cot,
            chain,
            FillerDetails(
                metrics={
                    "accuracy_cot": right(with_cot),
                    "accuracy_filler": right(with_filler),
                    "accuracy_no_cot": right(without),
                },
                probed_text=filler,
                filler_copies=max(1, chain.tokens),
                answer_filler=with_filler,
                answer_no_cot=without,
            ),
        )
