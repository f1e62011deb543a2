"""Supervised fine-tuning on conversational rows (`ponder data reject`, `ponder data backtrack`):
each row's last assistant message is the completion, the messages before it the prompt, so the
loss falls on the reply only (TRL's prompt-completion format)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.train.common import make_config, read_rows, run_trainer, save_final, trainer_settings
from ponder.train.config import TrainConfig
from ponder.train.log import MetricsFile


def prompt_completion(rows: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Conversational rows as TRL's conversational prompt-completion rows."""
    out = []
    for i, row in enumerate(rows, 1):
        messages = row["messages"]
        if (
            not isinstance(messages, list)
            or len(messages) < 2
            or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)
            or messages[-1].get("role") != "assistant"
        ):
            raise DataError(f"{path}: row {i}: 'messages' must be messages ending with the assistant's")
        out.append({"prompt": messages[:-1], "completion": [messages[-1]]})
    return out


def train_sft(config: TrainConfig, base: Path, callbacks: Sequence[Any] = (), resume: bool = False) -> Path:
    """Train; the saved model's folder."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from ponder.train.weights import causal_lm

    data = config.path(base, config.data)
    output = config.path(base, config.output)
    rows = prompt_completion(read_rows(data, ("messages",), config.limit), data)
    model, tokenizer = causal_lm(config.model, config.seed)
    settings = {**trainer_settings(config, output), "max_length": config.max_length}
    args = make_config(SFTConfig, {**settings, **config.trainer}, "trainer")
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[MetricsFile(output / "metrics.jsonl", keep=resume), *callbacks],
    )
    run_trainer(trainer, output, resume)
    return save_final(trainer.model, tokenizer, output)
