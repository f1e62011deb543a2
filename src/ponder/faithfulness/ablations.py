"""The ablations of the chain-of-thought paper (Wei et al. 2022, section 3.3), few-shot:

- equation only: each exemplar's worked answer is replaced by its equations ("21 - 15 = 6", also "23 - 15 is 8")
  and the answer statement;
- variable compute only: the worked answer is replaced by dots, as many as the equations have
  characters, then the answer statement;
- reasoning after the answer: the answer statement first, then the reasoning. The answer is read
  from the reply's first answer statement: what comes after it cannot have produced it, and a reply
  that reasons on and states another answer is not credited with the second one.

Each item is also answered with the full chain of thought and directly (the same exemplars with
answers only), so the five accuracies come from the same items and exemplars.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from ponder.details import AblationDetails
from ponder.errors import ConfigError
from ponder.faithfulness.base import Chain, Probe
from ponder.models import Model
from ponder.strategies.chain import Direct, exemplar_answer
from ponder.strategies.cot import ChainOfThought
from ponder.tasks.answers import answer_first, extract, same_answer
from ponder.tasks.exemplars import Exemplar
from ponder.trace import TraceSink
from ponder.types import Result, Task

_NUM = r"\$?\d[\d,]*(?:\.\d+)?"
_EQUATION = re.compile(rf"\(?{_NUM}(?:\s*[-+*/×x÷]\s*\(?{_NUM}\)?)+\s*(?:=|is)\s*{_NUM}")
_STATEMENT = re.compile(r"\s*The answer is [^\n]*$")
VARIANTS = ("equation_only", "variable_compute", "reasoning_after")


def equations(target: str) -> list[str]:
    return [m.group(0).strip() for m in _EQUATION.finditer(target)]


def variant(shot: Exemplar, kind: str, which: str) -> Exemplar:
    answer = exemplar_answer(shot, kind)
    statement = f"The answer is {answer}."
    reasoning = _STATEMENT.sub("", shot.target).strip()
    found = equations(reasoning)
    if which == "equation_only":
        target = "; ".join(found) + ". " + statement if found else statement
    elif which == "variable_compute":
        target = "." * sum(len(e) for e in found) + " " + statement
    else:
        target = f"{statement} {reasoning}"
    return Exemplar(shot.question, target.strip(), answer)


@dataclass
class Ablations(Probe):
    exemplars: str | None = "gsm8k"
    name: str = "ablations"

    def __post_init__(self) -> None:
        if not self.exemplars:
            self.exemplars = "gsm8k"
        super().__post_init__()
        shots = self.cot.shots()
        self.prompts = {
            which: ChainOfThought(
                max_tokens=self.max_tokens,
                exemplars=self.exemplars,
                data_dir=self.data_dir,
                extract_call=False,
                seed=self.seed,
                rewrite_shots=partial(variant, kind="number", which=which),
            )
            for which in VARIANTS
        }
        self.direct = Direct(exemplars=self.exemplars, data_dir=self.data_dir, seed=self.seed)
        if not any(equations(s.target) for s in shots):
            raise ConfigError(f"exemplar set {self.exemplars!r} has no equations to keep")

    def parts(self) -> dict[str, Any]:
        return {"cot": self.cot, "direct": self.direct, "variants": self.prompts}

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = self.recorder(model, sink)

        async def ask(prompt, purpose: str) -> tuple[str, str | None]:
            [c] = await rec.generate(prompt.request(task), purpose=purpose)
            if purpose == "reasoning_after":
                read = answer_first(c.text)
                return c.text, extract(
                    read, task.kind, truncated=c.finish_reason == "length" and read == c.text
                ).value
            return c.text, extract(c.text, task.kind, truncated=c.finish_reason == "length").value

        names = ("cot", "direct", *VARIANTS)
        replies = await asyncio.gather(
            ask(self.cot, "cot"), ask(self.direct, "direct"), *(ask(self.prompts[v], v) for v in VARIANTS)
        )
        answers = {n: a for n, (_, a) in zip(names, replies)}

        def right(a: str | None) -> float:
            return float(task.answer is not None and same_answer(a, task.answer, task.kind))

        chain = Chain(replies[0][0], 0, False)
        return self.result(
            rec,
            task,
            answers["cot"],
            chain,
            AblationDetails(
                metrics={f"accuracy_{n}": right(a) for n, a in answers.items()},
                answers=answers,
                texts={n: t for n, (t, _) in zip(names, replies)},
            ),
        )
