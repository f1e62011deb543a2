"""A process verifier: a two-label token classifier on the model's transformer, trained on
stepwise-supervision rows (`ponder data steps`) with transformers' Trainer. Each row is laid out
by `ponder.strategies.prm.step_inputs` (the layout scoring uses), with each step's hard label on
its last token; the loss is cross-entropy over those positions only. The saved folder plugs into
beam search as `--verifier prm:FOLDER`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.errors import DataError
from ponder.strategies.prm import IGNORE, step_inputs
from ponder.train.common import make_config, read_rows, run_trainer, save_final, trainer_settings
from ponder.train.config import TrainConfig
from ponder.train.log import MetricsFile


def encoded_rows(
    tokenizer: Any, rows: list[dict[str, Any]], path: Path, max_length: int
) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows, 1):
        steps, labels = row["completions"], row["labels"]
        if (
            not isinstance(row["prompt"], str)
            or not isinstance(steps, list)
            or not isinstance(labels, list)
            or len(steps) != len(labels)
            or not all(isinstance(s, str) for s in steps)
            or not all(isinstance(x, (bool, int)) for x in labels)
        ):
            raise DataError(f"{path}: row {i}: expected a prompt string and as many step strings as labels")
        ids, marks = step_inputs(tokenizer, row["prompt"], steps, labels, max_length)
        if any(m != IGNORE for m in marks):
            out.append({"input_ids": ids, "labels": marks})
    if not out:
        raise DataError(f"{path}: no row has a labelled step within max_length")
    return out


def label_balance(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(good steps, bad steps) among the encoded rows."""
    marks = [m for r in rows for m in r["labels"] if m != IGNORE]
    return sum(1 for m in marks if m == 1), sum(1 for m in marks if m == 0)


def train_prm(config: TrainConfig, base: Path, callbacks: Sequence[Any] = (), resume: bool = False) -> Path:
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    from ponder.train.weights import token_classifier

    data = config.path(base, config.data)
    output = config.path(base, config.output)
    model, tokenizer = token_classifier(config.model, config.seed)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    rows = encoded_rows(
        tokenizer, read_rows(data, ("prompt", "completions", "labels"), config.limit), data, config.max_length
    )
    settings = {**trainer_settings(config, output), "remove_unused_columns": False}
    args = make_config(TrainingArguments, {**settings, **config.trainer}, "trainer")
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        data_collator=DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE),
        processing_class=tokenizer,
        callbacks=[MetricsFile(output / "metrics.jsonl", keep=resume), *callbacks],
    )
    run_trainer(trainer, output, resume)
    return save_final(trainer.model, tokenizer, output)
