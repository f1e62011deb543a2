"""Chain-of-thought (Wei et al. 2022; Kojima et al. 2022).

Few-shot: worked exemplars (an exemplar set from the data folder) before the question; the
answer is read from the chain ("The answer is N."). Zero-shot: "Let's think step by step.",
then Kojima et al.'s second call: the chain is continued with an answer trigger such as
"Therefore, the answer (arabic numerals) is" and the answer read from that short reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ponder.models import PREFIX
from ponder.strategies import PROMPTS, render
from ponder.strategies.base import BudgetExhausted, Recorder
from ponder.strategies.chain import ChainPrompt
from ponder.tasks.answers import Extracted, extract_async
from ponder.types import GenerationRequest, Task

# Answer-extraction triggers of Kojima et al. 2022 (Table 9), by answer kind.
KOJIMA_TRIGGERS = {
    "number": "Therefore, the answer (arabic numerals) is",
    "choice": "Therefore, among A through E, the answer is",
    "yesno": "Therefore, the answer (Yes or No) is",
    "math": "Therefore, the final answer is",
    "text": "Therefore, the answer is",
    "grid": "Therefore, the output grid is",
}
EXTRACT_TOKENS = 32


def kojima_trigger(task: Task) -> str:
    """The answer-extraction cue for the task's answer kind; for choices, up to the last option
    letter shown in the question (date understanding has six, A through F)."""
    trigger = KOJIMA_TRIGGERS.get(task.kind, KOJIMA_TRIGGERS["number"])
    if task.kind == "choice":
        last = max(re.findall(r"\(([A-H])\)", task.question), default="E")
        trigger = trigger.replace("A through E", f"A through {last}")
    return trigger


@dataclass
class ChainOfThought(ChainPrompt):
    """`exemplars=None` is zero-shot; `extract_call` makes Kojima's second call (zero-shot only)."""

    extract_call: bool = True
    name: str = "cot"

    def templates(self) -> dict[str, str]:
        if self.shots():
            return {}
        return PROMPTS.hashes("cot_zero_shot.j2", *(["kojima_fallback.j2"] if self.extract_call else []))

    def user(self, task: Task) -> str:
        return task.question if self.shots() else render("cot_zero_shot.j2", question=task.question)

    def answer_tokens(self) -> int:
        return 0 if self.shots() or not self.extract_call else EXTRACT_TOKENS

    async def answer(self, task: Task, text: str, truncated: bool, rec: Recorder) -> Extracted:
        if self.shots() or not self.extract_call or task.kind == "open":
            return await extract_async(text, task.kind, truncated=truncated)
        trigger = kojima_trigger(task)
        if PREFIX in rec.model.abilities:
            request = self.request(
                task, n=1, temperature=0.0, max_tokens=EXTRACT_TOKENS, prefix=f"{text.rstrip()}\n{trigger}"
            )
        else:
            request = GenerationRequest.chat(
                render("kojima_fallback.j2", question=task.question, reasoning=text, trigger=trigger),
                max_tokens=EXTRACT_TOKENS,
                temperature=0.0,
                seed=self.seed,
            )
        try:
            [c] = await rec.generate(request, purpose="extract")
        except BudgetExhausted:
            return await extract_async(text, task.kind, truncated=True)
        found = await extract_async(f"{trigger} {c.text}", task.kind)
        # The answer lives in the extraction reply, not in the chain: no span in the chain.
        return Extracted(found.value, None, found.explicit)
