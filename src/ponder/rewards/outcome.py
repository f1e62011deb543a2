"""Outcome rewards: the final answer's correctness and its explicit statement, read by ponder's
answer extraction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ponder.tasks.answers import KINDS, extract, same_answer


def completion_text(completion: Any) -> str:
    """A completion's text: the string itself (TRL's standard format), or the content of the last
    message of a conversational completion (a list of {"role", "content"} dicts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        if isinstance(last, dict) and isinstance(last.get("content"), str):
            return str(last["content"])
    raise TypeError(
        f"a completion must be a string or a list of messages with a 'content' string, got {type(completion).__name__}"
    )


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown answer kind {kind!r}: expected one of {', '.join(KINDS)}")
    return kind


class CorrectnessReward:
    """1.0 when the completion's answer equals the row's `answer` (numbers by value), else 0.0;
    None for a row without a gold answer (TRL then leaves that reward out)."""

    __name__ = "correctness"

    def __init__(self, kind: str = "number") -> None:
        self.kind = _kind(kind)

    def __call__(
        self, completions: Sequence[Any], answer: Sequence[str | None] | None = None, **kwargs: Any
    ) -> list[float | None]:
        if answer is None:
            raise ValueError("the correctness reward needs the dataset's 'answer' column")
        if len(answer) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(answer)} answers")
        out: list[float | None] = []
        for completion, gold in zip(completions, answer):
            if gold is None:
                out.append(None)
                continue
            found = extract(completion_text(completion), self.kind).value
            out.append(1.0 if same_answer(found, str(gold), self.kind) else 0.0)
        return out


class FormatReward:
    """1.0 when the completion states its answer explicitly (a box, "####", "The answer is",
    "Answer:"), else 0.0: the answer a grader reads is then the one the model meant, not the last
    number of unfinished reasoning."""

    __name__ = "answer_format"

    def __init__(self, kind: str = "number") -> None:
        self.kind = _kind(kind)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        out = []
        for completion in completions:
            found = extract(completion_text(completion), self.kind)
            out.append(1.0 if found.value is not None and found.explicit else 0.0)
        return out
