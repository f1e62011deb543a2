"""Zero-shot chain-of-thought: one call, answer taken from the reasoning."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ponder.strategies import render
from ponder.tasks.answers import extract_number
from ponder.types import Call, Compute, GenerationRequest, Result, Task


@dataclass
class ZeroShotCoT:
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None
    name: str = "cot"

    async def run(self, task: Task, model) -> Result:
        t0 = time.perf_counter()
        request = GenerationRequest.chat(render("cot_zero_shot.j2", question=task.question),
                                         max_tokens=self.max_tokens, temperature=self.temperature,
                                         seed=self.seed)
        completions = await model.generate(request)
        call = Call(request, tuple(completions), time.perf_counter() - t0)
        text = completions[0].text
        answer = extract_number(text)
        correct = None if task.answer is None else answer == extract_number(task.answer)
        return Result(task=task, strategy=self.name, answer=answer, reasoning=text, correct=correct,
                      calls=(call,), compute=Compute.of((call,), time.perf_counter() - t0),
                      meta={"truncated": completions[0].finish_reason == "length"})
