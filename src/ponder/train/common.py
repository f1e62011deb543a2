"""What every training run shares: the trainer settings from the config, the device, the
dataset read from JSONL, and saving the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, DataError
from ponder.train.config import TrainConfig


def device_settings() -> dict[str, Any]:
    """`use_cpu` where no GPU is visible; on a GPU machine the trainer's defaults stand."""
    import torch

    return {} if torch.cuda.is_available() else {"use_cpu": True}


def trainer_settings(config: TrainConfig, output: Path) -> dict[str, Any]:
    """The settings every TRL config takes from ponder's fields; `config.trainer` overrides them."""
    base = {
        "output_dir": str(output / "checkpoints"),
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "seed": config.seed,
        "data_seed": config.seed,
        "dataloader_num_workers": 0,
        **device_settings(),
    }
    return {**base, **config.trainer}


def make_config(cls: Any, settings: dict[str, Any], where: str) -> Any:
    """A TRL/transformers config; an unknown or bad setting is a ConfigError naming it."""
    try:
        return cls(**settings)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None
    except ValueError as e:
        raise ConfigError(f"{where}: {str(e).splitlines()[0]}") from None


def read_rows(path: Path, columns: tuple[str, ...], limit: int | None = None) -> list[dict[str, Any]]:
    """The JSONL rows of a data file, each checked to hold `columns`; DataError naming the line."""
    if not path.is_file():
        raise ConfigError(f"data: {path}: no such file")
    rows: list[dict[str, Any]] = []
    with path.open("rb") as f:
        for i, raw in enumerate(f, 1):
            if limit is not None and len(rows) >= limit:
                break
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise DataError(f"{path}:{i}: not UTF-8") from None
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{i}: not JSON ({e.msg})") from None
            if not isinstance(row, dict) or any(c not in row for c in columns):
                raise DataError(f"{path}:{i}: expected a JSON object with {', '.join(columns)}")
            rows.append(row)
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def save_final(model: Any, tokenizer: Any, output: Path) -> Path:
    from ponder.train.weights import save

    folder = output / "model"
    save(model, tokenizer, folder)
    return folder


def run_trainer(trainer: Any, output: Path, resume: bool) -> None:
    """Train; with `resume`, from the latest checkpoint under OUTPUT/checkpoints (kept when the
    config's trainer settings save some: `save_strategy: steps`, `save_steps: N`)."""
    if resume and not list((output / "checkpoints").glob("checkpoint-*")):
        raise ConfigError(
            f"--resume: no checkpoint under {output / 'checkpoints'} (set trainer: save_strategy: steps, save_steps: N)"
        )
    trainer.train(resume_from_checkpoint=True if resume else None)
