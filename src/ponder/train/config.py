"""The config file of a training run (YAML), checked before anything is loaded.

Paths (`data` when it is a file, `output`) are relative to the current folder, as every path on
the command line is. `trainer` holds TRL
or transformers settings passed to the trainer's config as they are (for a GPU: `bf16: true`,
`use_vllm: true`, larger batch sizes); ponder's own fields set the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ponder.errors import ConfigError, DataError
from ponder.town.yaml_lines import read_yaml

REWARDS = ("correctness", "format", "relative_length", "kimi_length", "budget")


class RewardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Literal["correctness", "format", "relative_length", "kimi_length", "budget"]
    weight: float = 1.0
    bonus: float = Field(default=0.5, description="relative_length: the bonus")
    budget: int | None = Field(default=None, ge=1, description="budget: the token budget")
    window: int | None = Field(default=None, ge=1, description="budget: the soft window before it")


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["sft", "prm", "grpo"] | None = None
    model: str = "local"
    data: str
    output: str
    limit: int | None = Field(default=None, ge=1)
    max_steps: int = Field(default=10, ge=1)
    learning_rate: float = Field(default=1e-5, gt=0)
    batch_size: int = Field(default=2, ge=1, description="rows per step (grpo: prompts per step)")
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=512, ge=8, description="sft, prm: tokens of a row")
    seed: int = Field(default=0, ge=0)
    num_generations: int = Field(default=4, ge=2, description="grpo: completions per prompt")
    max_completion_length: int = Field(default=64, ge=1, description="grpo")
    temperature: float = Field(default=1.0, gt=0, description="grpo: sampling temperature")
    rewards: list[RewardSpec] = Field(default_factory=lambda: [RewardSpec(name="correctness")])
    trainer: dict[str, Any] = Field(default_factory=dict)

    def path(self, base: Path, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p


def _line(doc: Any, loc: tuple[Any, ...]) -> int:
    """The line of the YAML value at `loc` (as deep as the document goes)."""
    line, node = getattr(doc, "line", 1), doc
    for key in loc:
        lines = getattr(node, "lines", None)
        if isinstance(node, dict) and key in node and isinstance(lines, dict):
            line, node = lines[key], node[key]
        elif (
            isinstance(node, list)
            and isinstance(key, int)
            and 0 <= key < len(node)
            and isinstance(lines, list)
        ):
            line, node = lines[key], node[key]
        else:
            break
    return int(line)


def read_config(path: Path | str, kind: str | None = None) -> tuple[TrainConfig, Path]:
    """The config in the YAML file and the folder its relative paths start from (the current one); a ConfigError
    naming the file, the line and the field otherwise. `kind`: the command's (sft, prm, grpo); a
    config that names another is refused."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: a folder, not a config file")
    try:
        raw = read_yaml(path)
    except DataError as e:
        raise ConfigError(str(e)) from None
    if not isinstance(raw, dict):
        what = "a list" if isinstance(raw, list) else "nothing" if raw is None else type(raw).__name__
        raise ConfigError(f"{path}: expected a mapping of settings, got {what}")
    try:
        config = TrainConfig.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}:{_line(raw, tuple(first['loc']))}: {where}: {first['msg']}") from None
    if kind is not None:
        if config.kind not in (None, kind):
            raise ConfigError(
                f"{path}:{_line(raw, ('kind',))}: kind: the config is for {config.kind}, not {kind}"
            )
        config = config.model_copy(update={"kind": kind})
    for i, r in enumerate(config.rewards):
        if r.name == "budget" and (r.budget is None or r.window is None or r.window > r.budget):
            raise ConfigError(
                f"{path}:{_line(raw, ('rewards', i))}: rewards.{i}: the budget reward needs budget and a window of at most it"
            )
    return config, Path.cwd()
