"""Who decides a battle.

- `CorrectnessJudge`: where items have gold answers. The right answer beats a wrong one; both
  right is a tie; both wrong is "tie (bothbad)".
- `LLMJudge`: MT-Bench's pairwise judge prompts (Zheng et al. 2023, `judge_prompts.jsonl`):
  pair-v2, or pair-math-v1 with a reference answer where one is known (the gold answer of a
  benchmark item, GPT-4's reference for MT-Bench maths, reasoning and coding); their multi-turn
  versions for the second turn of a conversation. Each battle is
  judged in both orders; the verdict stands only when both orders agree, otherwise it is a tie,
  which cancels the judge's position bias. A reply without "[[A]]", "[[B]]" or "[[C]]" in one
  order is a tie when the other order has a verdict, and leaves the battle undecided (not stored,
  counted) when neither has.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, DataError
from ponder.models import Model
from ponder.tasks.data import data_file, read_jsonl
from ponder.trace import Recorder, TraceSink
from ponder.types import GenerationRequest, Task

JUDGE_PROMPTS = "mt_bench/judge_prompts.jsonl"  # in the data folder, else the copy ponder ships
_VERDICT = re.compile(r"\[\[([ABC])\]\]")
_LOOSE = re.compile(r"\[([ABC])\]")


@dataclass(frozen=True)
class Answer:
    """A player's answer to one item: the text a judge reads, the extracted answer, correctness."""

    player: str
    text: str
    answer: str | None = None
    correct: bool | None = None
    turns: tuple[str, ...] = ()  # the replies to each turn, where the player held the conversation


@dataclass(frozen=True)
class Decision:
    winner: str | None  # None: undecided
    data: dict[str, Any] = field(default_factory=dict)


class CorrectnessJudge:
    name = "correctness"

    async def decide(
        self, task: Task, a: Answer, b: Answer, turn: int = 1, sink: TraceSink | None = None
    ) -> Decision:
        if a.correct is None or b.correct is None:
            raise ConfigError(f"judge correctness needs gold answers; item {task.id} has none")
        if a.correct != b.correct:
            winner = "model_a" if a.correct else "model_b"
        else:
            winner = "tie" if a.correct else "tie (bothbad)"
        return Decision(winner, {"answers": [a.answer, b.answer]})


def parse_verdict(text: str) -> str | None:
    """'A', 'B' or 'C' (tie) from a judge's reply: the last [[X]], else a lone [X]; None if neither."""
    found = _VERDICT.findall(text)
    if found:
        return found[-1]
    loose = _LOOSE.findall(text)
    return loose[-1] if len(set(loose)) == 1 else None


def load_judge_prompts(data_dir: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """MT-Bench's judge prompts by name, from `mt_bench/judge_prompts.jsonl`: the data folder's
    where it has one, else the copy that ships with ponder."""
    path = data_file(JUDGE_PROMPTS, data_dir)
    prompts = {}
    for lineno, row in read_jsonl(path):
        if not all(isinstance(row.get(k), str) for k in ("name", "system_prompt", "prompt_template")):
            raise DataError(
                f"{path}:{lineno}: expected the strings 'name', 'system_prompt' and 'prompt_template'"
            )
        prompts[row["name"]] = row
    for name in ("pair-v2", "pair-math-v1"):
        if name not in prompts:
            raise DataError(f"{path}: no judge prompt named {name!r}")
    return prompts


@dataclass
class LLMJudge:
    model: Model
    prompts: dict[str, dict[str, Any]]
    max_tokens: int = 512

    @property
    def name(self) -> str:
        return f"llm:{self.model.model_id}"

    def request(
        self, task: Task, first: Answer, second: Answer, turn: int = 1
    ) -> tuple[str, GenerationRequest]:
        """The judge's request; turn 2 shows both turns of the conversation (the multi-turn prompts)."""
        refs = task.meta.get("references") or ([task.meta["reference"]] if task.meta.get("reference") else [])
        if not refs and task.answer:
            refs = [f"The answer is {task.answer}."]
        if turn == 1:
            name = "pair-math-v1" if refs else "pair-v2"
            fields = {
                "question": task.question,
                "answer_a": first.text,
                "answer_b": second.text,
                "ref_answer_1": refs[0] if refs else "",
            }
        else:
            name = "pair-math-v1-multi-turn" if refs else "pair-v2-multi-turn"
            questions = task.meta["turns"]
            fields = {
                "question_1": questions[0],
                "question_2": questions[1],
                "answer_a_1": first.turns[0],
                "answer_a_2": first.turns[1],
                "answer_b_1": second.turns[0],
                "answer_b_2": second.turns[1],
                "ref_answer_1": refs[0] if refs else "",
                "ref_answer_2": refs[1] if len(refs) > 1 else "",
            }
        if name not in self.prompts:
            raise DataError(f"judge prompts: no prompt named {name!r}")
        spec = self.prompts[name]
        user = spec["prompt_template"].format(**fields)
        return name, GenerationRequest.chat(
            user, system=spec["system_prompt"], max_tokens=self.max_tokens, temperature=0.0, seed=0
        )

    async def decide(
        self, task: Task, a: Answer, b: Answer, turn: int = 1, sink: TraceSink | None = None
    ) -> Decision:
        """The verdict; both calls are recorded (purpose "judge") in a trace whose events go to `sink`."""
        (name, ab), (_, ba) = self.request(task, a, b, turn), self.request(task, b, a, turn)
        rec = Recorder(self.model, sink=sink)
        [x], [y] = await asyncio.gather(rec.generate(ab, "judge"), rec.generate(ba, "judge"))
        first, second = parse_verdict(x.text), parse_verdict(y.text)
        swapped = {"A": "B", "B": "A", "C": "C", None: None}[second]
        data = {"prompt": name, "verdicts": [first, swapped], "replies": [x.text, y.text]}
        if first is None and swapped is None:
            return Decision(None, data)
        if first is None or swapped is None or first != swapped:
            return Decision("tie", {**data, "consistent": False})
        return Decision({"A": "model_a", "B": "model_b", "C": "tie"}[first], {**data, "consistent": True})
