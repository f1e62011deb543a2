"""`ponder train sft|prm|grpo CONFIG`: training runs through TRL, configured by a YAML file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from ponder.cli.common import guard, out

train_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Train on reasoning data through TRL: SFT, a process verifier, GRPO with ponder's rewards.",
)
ConfigArg = Annotated[Path, typer.Argument(help="The run's YAML config (see docs/training.md).")]
ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Go on from the latest checkpoint the run saved (trainer: save_steps)."),
]
DataDirArg = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of benchmark files (grpo's data), as for ponder eval."),
]
# (metric as logged, column header); grpo's table adds a column per reward after "reward"
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "sft": (("loss", "loss"), ("mean_token_accuracy", "token acc"), ("num_tokens", "tokens")),
    "prm": (("loss", "loss"), ("grad_norm", "grad norm")),
    "grpo": (
        ("reward", "reward"),
        ("completions/mean_length", "length"),
        ("completions/clipped_ratio", "clipped"),
        ("frac_reward_zero_std", "zero-std groups"),
        ("step_time", "s"),
    ),
}
REWARD_MEAN = re.compile(r"^rewards/(.+)/mean$")


def columns(kind: str, steps: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The table's columns for `kind`: grpo's with each reward's mean, in the order logged."""
    cols = list(COLUMNS[kind])
    if kind == "grpo":
        names = dict.fromkeys(m.group(1) for r in steps for k in r if (m := REWARD_MEAN.match(k)))
        cols[1:1] = [(f"rewards/{n}/mean", n.replace("_", " ")) for n in names]
    return cols


def _run(kind: str, config_path: Path, resume: bool, data_dir: Path | None = None) -> None:
    from ponder.train.config import read_config

    config, base = guard(lambda: read_config(config_path, kind))

    def go() -> Path:
        if kind == "sft":
            from ponder.train.sft import train_sft

            return train_sft(config, base, resume=resume)
        if kind == "prm":
            from ponder.train.prm import train_prm

            return train_prm(config, base, resume=resume)
        from ponder.train.grpo import train_grpo

        return train_grpo(config, base, resume=resume, data_dir=data_dir)

    saved = guard(go)
    output = config.path(base, config.output)
    _report(kind, output)
    out.print(f"saved the model to {saved}", markup=False, highlight=False, soft_wrap=True)


def _report(kind: str, output: Path) -> None:
    from ponder.train.log import read_metrics
    from ponder.train.plots import metrics_figure

    rows = read_metrics(output / "metrics.jsonl")
    steps = [r for r in rows if "train_runtime" not in r]
    cols = columns(kind, steps)
    table = Table("step", title=f"{kind}: per step", box=box.SIMPLE_HEAD)
    for _, header in cols:
        table.add_column(header, min_width=max(len(word) for word in header.split()))
    for r in steps:
        table.add_row(str(r["step"]), *(_cell(r.get(key)) for key, _ in cols))
    out.print(table)
    summary = next((r for r in rows if "train_runtime" in r), None)
    if summary is not None:
        out.print(
            f"{summary['step']} steps in {summary['train_runtime']:.0f} s", markup=False, highlight=False
        )
    (output / "metrics.png").write_bytes(metrics_figure(kind, rows))
    out.print(
        f"metrics: {output / 'metrics.jsonl'}, plot: {output / 'metrics.png'}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


@train_app.command()
def sft(config: ConfigArg, resume: ResumeOpt = False) -> None:
    """Supervised fine-tuning on conversational rows (ponder data reject|backtrack)."""
    _run("sft", config, resume)


@train_app.command()
def prm(config: ConfigArg, resume: ResumeOpt = False) -> None:
    """A process verifier: a token classifier on stepwise rows (ponder data steps); use it as
    beam search's --verifier prm:OUTPUT/model."""
    _run("prm", config, resume)


@train_app.command()
def grpo(config: ConfigArg, resume: ResumeOpt = False, data_dir: DataDirArg = None) -> None:
    """GRPO on a benchmark's items with ponder's rewards (correctness, format, length)."""
    _run("grpo", config, resume, data_dir)


@train_app.command()
def export(
    folder: Annotated[Path, typer.Argument(help="A saved model folder (OUTPUT/model of a training run).")],
    out_file: Annotated[Path, typer.Option("--out", help="The GGUF file to write.")] = Path("model.gguf"),
    base: Annotated[
        str, typer.Option("--base", help="The local model it was trained from (its GGUF gives the metadata).")
    ] = "local",
    quantize: Annotated[
        str, typer.Option("--quantize", help="q4_k_m (the shipped type), q8_0 or f16.")
    ] = "q4_k_m",
) -> None:
    """Write a trained model as a GGUF file for the local backend: ponder eval -m local:FILE.gguf."""
    from ponder.train.export import export_gguf

    written = guard(lambda: export_gguf(folder, out_file, base, quantize))
    out.print(
        f"wrote {written} ({written.stat().st_size / 2**20:.0f} MiB); evaluate it with -m local:{written}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
