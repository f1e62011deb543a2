"""A trained process verifier (`ponder train prm`): a token classifier that reads the question and
the steps so far and scores the latest step by P(good) at its last token.

`step_inputs` is the one layout training and scoring share: the question and a newline, then each
step followed by a newline, tokenised piece by piece; a step's label sits on the last token of its
piece, every other position is -100 (ignored by the loss). Loading needs the `train` extra."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.strategies.base import Recorder
from ponder.strategies.chain import ChainPrompt
from ponder.strategies.config import Configured
from ponder.types import Completion, GenerationRequest, ModelCall, Task, Usage

IGNORE = -100


def step_inputs(
    tokenizer: Any,
    prompt: str,
    steps: Sequence[str],
    labels: Sequence[bool | int] | None = None,
    max_length: int | None = None,
) -> tuple[list[int], list[int]]:
    """(input ids, labels) of a question and its steps. Without `labels`, each step's position is
    marked 1 (where a score is read). With `max_length`, steps that do not fit are left out."""
    ids = list(tokenizer(prompt.strip() + "\n", add_special_tokens=False)["input_ids"])
    marks = [IGNORE] * len(ids)
    for i, step in enumerate(steps):
        piece = tokenizer(step.strip() + "\n", add_special_tokens=False)["input_ids"]
        if max_length is not None and len(ids) + len(piece) > max_length:
            break
        ids.extend(piece)
        marks.extend([IGNORE] * (len(piece) - 1) + [int(labels[i]) if labels is not None else 1])
    return ids, marks


_LOADED: dict[str, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def _load(path: str) -> tuple[Any, Any]:
    with _LOCK:
        if path not in _LOADED:
            try:
                import torch
                from transformers import AutoModelForTokenClassification, AutoTokenizer
            except ImportError:
                raise ConfigError("verifier prm: needs the train extra: pip install -e '.[train]'") from None
            model = AutoModelForTokenClassification.from_pretrained(path, dtype=torch.float32)
            model.eval()
            _LOADED[path] = (model, AutoTokenizer.from_pretrained(path))
        return _LOADED[path]


@dataclass
class PRMVerifier(Configured):
    """Scores the latest step with the classifier saved in `path` (`ponder train prm`)."""

    path: str
    name: str = "prm"

    def __post_init__(self) -> None:
        folder = Path(self.path).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigError(f"verifier prm:{self.path}: no trained classifier there (no config.json)")
        self.path = str(folder.resolve())

    def settings(self) -> dict[str, Any]:
        weights = sorted(Path(self.path).glob("*.safetensors"))
        stamp = [[w.name, w.stat().st_size, int(w.stat().st_mtime)] for w in weights]
        return {**super().settings(), "weights": stamp}

    def _score(self, question: str, steps: list[str]) -> tuple[float, int]:
        import torch

        model, tokenizer = _load(self.path)
        ids, marks = step_inputs(tokenizer, question, steps)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
        last = max(i for i, m in enumerate(marks) if m != IGNORE)
        return float(torch.softmax(logits[last], dim=-1)[1]), len(ids)

    async def score_steps(
        self, task: Task, steps: list[str], rec: Recorder, prompt: ChainPrompt, delimiter: str
    ) -> float:
        t0 = time.perf_counter()
        score, tokens = await asyncio.to_thread(self._score, task.question, steps)
        rec.record(
            ModelCall(
                GenerationRequest(prompt=delimiter.join(steps), max_tokens=1),
                (Completion(f"{score:.6f}", "stop", Usage(prompt_tokens=tokens)),),
                time.perf_counter() - t0,
                purpose="verify-prm",
            )
        )
        return score
