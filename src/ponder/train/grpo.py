"""GRPO (Shao et al. 2024) through TRL's GRPOTrainer on a benchmark's items, with ponder's rewards.

Each item becomes a prompt in ponder's zero-shot chain-of-thought form (the question and "Let's
think step by step.") with its gold answer in the `answer` column the rewards read. The rewards
are the config's list (`ponder.rewards`), weighted by their `weight`. TRL logs per step the mean
reward and each reward's mean, the mean completion length, the share of completions cut at
`max_completion_length` (clipped ratio) and the share of groups whose rewards all agree
(`frac_reward_zero_std`: those groups train nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.rewards import (
    BudgetReward,
    CorrectnessReward,
    FormatReward,
    KimiLengthReward,
    RelativeLengthReward,
)
from ponder.train.common import make_config, run_trainer, save_final, trainer_settings
from ponder.train.config import RewardSpec, TrainConfig
from ponder.train.log import MetricsFile


def reward_function(spec: RewardSpec, kind: str = "number") -> Any:
    if spec.name == "correctness":
        return CorrectnessReward(kind)
    if spec.name == "format":
        return FormatReward(kind)
    if spec.name == "relative_length":
        return RelativeLengthReward(spec.bonus, kind)
    if spec.name == "kimi_length":
        return KimiLengthReward(kind)
    assert spec.budget is not None and spec.window is not None
    return BudgetReward(spec.budget, spec.window)


def prompts_of(task_spec: str, limit: int | None, data_dir: Path | None = None) -> list[dict[str, Any]]:
    """The benchmark's items as conversational prompts with their gold answers."""
    from ponder.strategies.cot import ChainOfThought
    from ponder.tasks.registry import load_tasks

    tasks = load_tasks(task_spec, limit, data_dir=data_dir)
    if not tasks:
        raise ConfigError(f"data: {task_spec!r} has no items")
    cot = ChainOfThought(extract_call=False)
    rows = []
    for t in tasks:
        if t.answer is None:
            raise ConfigError(f"data: item {t.id} has no gold answer to reward")
        messages = [m.to_dict() for m in cot.request(t).messages]
        rows.append(
            {"prompt": [{"role": m["role"], "content": m["content"]} for m in messages], "answer": t.answer}
        )
    return rows


def train_grpo(
    config: TrainConfig,
    base: Path,
    callbacks: Sequence[Any] = (),
    resume: bool = False,
    data_dir: Path | None = None,
) -> Path:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from ponder.train.weights import causal_lm

    output = config.path(base, config.output)
    rows = prompts_of(config.data, config.limit, data_dir)
    model, tokenizer = causal_lm(config.model, config.seed)
    settings = trainer_settings(config, output)
    settings.update(
        per_device_train_batch_size=config.batch_size * config.num_generations,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        reward_weights=[r.weight for r in config.rewards],
    )
    args = make_config(GRPOConfig, {**settings, **config.trainer}, "trainer")
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward_function(r) for r in config.rewards],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[MetricsFile(output / "metrics.jsonl", keep=resume), *callbacks],
    )
    run_trainer(trainer, output, resume)
    return save_final(trainer.model, tokenizer, output)
