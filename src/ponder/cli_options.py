"""The strategy flags shared by `ponder solve`, `ponder eval` and `ponder compare`, declared once.

`@strategy_options` adds them to a command's signature and hands the command one `options`
dict (unset flags are None, which `build_strategy` reads as "the strategy's default").
Every number is checked against its range (`BOUNDS`) where it is parsed, before any run exists:
a flag by its option callback, a bracketed option (`self-consistency[k=8]`) in `parse_strategy_list`.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ponder.errors import ConfigError
from ponder.eval.limits import DEFAULT_MAX_ERRORS, parse_max_errors
from ponder.strategies.options import (
    COUNT,
    FRACTION,
    OPTION_BOUNDS,
    OPTION_TYPES,
    PORT,
    POSITIVE,
    SEED,
    Bounds,
    parse_strategy_list,
    split_top_level,
)

Opt = typer.Option

BOUNDS: dict[str, Bounds] = {
    **OPTION_BOUNDS,
    "limit": COUNT,
    "concurrency": COUNT,
    "count": COUNT,
    "timeout": POSITIVE,
    "connect_timeout": POSITIVE,
    "fraction": FRACTION,
}
__all__ = [
    "BOUNDS",
    "COUNT",
    "FRACTION",
    "PORT",
    "POSITIVE",
    "SEED",
    "Bounds",
    "parse_strategy_list",
    "split_top_level",
]


def _flag_name(param: typer.CallbackParam) -> str:
    return "/".join(param.opts) or str(param.name)


def checked(bounds: Bounds) -> Callable[..., Any]:
    """A typer option callback refusing values outside `bounds` as they are parsed, before the
    command runs: a ConfigError naming the flag."""

    def callback(param: typer.CallbackParam, value: Any) -> Any:
        problem = bounds.problem(value)
        if problem:
            raise ConfigError(f"{_flag_name(param)} {problem}")
        return value

    return callback


def _check_max_errors(param: typer.CallbackParam, value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_max_errors(value).text
    except ConfigError as e:
        raise ConfigError(f"{_flag_name(param)}: {str(e).partition(': ')[2]}") from None


TASK_HELP = (
    "Benchmark: gsm8k[:train], svamp, aqua[:dev], date, sports, strategyqa, math500, "
    "last-letter[:WORDS], coin-flip[:FLIPS], gsm-symbolic[:p1|p2|noop], arc-agi-1[:train], "
    "arc-agi-2[:train], mt-bench (open-ended), jsonl:PATH."
)
STRATEGY_HELP = (
    "direct, cot, chain-of-draft, self-consistency, weighted-vote, best-of-n, "
    "adaptive-consistency or beam-search."
)

_FLAG_OPTIONS: list[tuple[str, Any]] = [
    ("prompt", Opt(help="How sampling strategies ask: cot (default), direct or chain-of-draft.")),
    (
        "exemplars",
        Opt(
            help="Few-shot exemplar set (gsm8k, date_understanding, sports_understanding) or a .json/.yaml path; none = zero-shot."
        ),
    ),
    (
        "k",
        Opt(
            "--k",
            "-k",
            help="Samples (self-consistency, weighted-vote, best-of-n; ceiling for adaptive-consistency).",
        ),
    ),
    ("temperature", Opt(help="Sampling temperature (default 0.7).")),
    ("seed", Opt(help="Seed of sample 0 (sample i uses seed + i).")),
    ("max_tokens", Opt(help="Most tokens per chain.")),
    ("per_call_budget", Opt(help="Most completion tokens any one call may generate.")),
    (
        "per_task_budget",
        Opt(help="Most completion tokens all calls of the task may generate, verifier included."),
    ),
    (
        "extract_call",
        Opt(
            "--extract-call/--no-extract-call",
            help="Zero-shot cot: Kojima's second call that reads the answer.",
        ),
    ),
    ("confidence", Opt(help="weighted-vote weight: sequence or answer.")),
    ("verifier", Opt(help="best-of-n: judge or reward; beam-search: judge or mc.")),
    ("reward_url", Opt(help="URL of an HTTP reward model (verifier reward).")),
    ("judge_mode", Opt(help="Judge: auto, logprobs (P(Yes)) or rating (1-10).")),
    ("width", Opt(help="beam-search: beams kept per round.")),
    ("expand", Opt(help="beam-search: next steps sampled per beam.")),
    ("keep_fraction", Opt(help="beam-search: keep this fraction of candidates instead of --width.")),
    ("max_steps", Opt(help="beam-search: most steps.")),
    ("step_tokens", Opt(help="beam-search: most tokens per step.")),
    ("aggregation", Opt(help="beam-search: step-score aggregation last, min or product.")),
    ("rollouts", Opt(help="beam-search with --verifier mc: rollouts per partial solution.")),
    ("batch", Opt(help="adaptive-consistency: samples per batch.")),
    ("rule", Opt(help="adaptive-consistency: stopping rule beta or dirichlet.")),
    ("threshold", Opt(help="adaptive-consistency: stop when P(leader wins) reaches this.")),
]
# (name, type, typer option) of every strategy flag; the types are the strategies' own (OPTION_TYPES).
FLAGS: list[tuple[str, Any, Any]] = [(name, OPTION_TYPES[name] | None, opt) for name, opt in _FLAG_OPTIONS]


def _add_flags(flags: list[tuple], into: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `flags` (name, type, typer.Option[, default]) to a command's CLI signature; the command
    receives them as one dict `into` (None for flags not given and without a default)."""
    names = [flag[0] for flag in flags]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != into]
        extra = [
            inspect.Parameter(
                flag[0],
                inspect.Parameter.KEYWORD_ONLY,
                default=flag[3] if len(flag) > 3 else None,
                annotation=Annotated[flag[1], _with_bounds(flag[0], flag[2])],
            )
            for flag in flags
        ]

        @functools.wraps(fn)
        def wrapper(**kw: Any) -> Any:
            return fn(**{into: {name: kw.pop(name) for name in names}}, **kw)

        wrapper.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + extra}
        return wrapper

    return decorate


def _with_bounds(name: str, info: Any) -> Any:
    """The option `info` with the range check of `name` (see BOUNDS), if it has one."""
    if name not in BOUNDS or info.callback is not None:
        return info
    info = copy.copy(info)
    info.callback = checked(BOUNDS[name])
    return info


RUN_FLAGS: list[tuple] = [
    ("model", str | None, Opt("--model", "-m", help="Model spec (default: $PONDER_MODEL or 'local').")),
    (
        "store",
        Path | None,
        Opt(help="SQLite store (default: $PONDER_STORE or ~/.local/share/ponder/ponder.sqlite)."),
    ),
    ("limit", int | None, Opt("--limit", "-n", help="Only the first N items.")),
    ("concurrency", int, Opt("--concurrency", "-c", help="Items in flight at once."), 1),
    (
        "data_dir",
        Path | None,
        Opt(
            help="Folder of benchmark files overriding the shipped ones file by file (default: $PONDER_DATA_DIR); GSM-Symbolic comes from here."
        ),
    ),
    ("verifier_model", str | None, Opt(help="Model spec of the judge (default: the solving model).")),
    ("cache", bool, Opt("--cache/--no-cache", help="Reuse stored completions of identical requests."), True),
    (
        "question_field",
        str | None,
        Opt(help="jsonl task: the field holding the question (default question)."),
    ),
    ("answer_field", str | None, Opt(help="jsonl task: the field holding the gold answer (default answer).")),
    ("scorer", str | None, Opt(help="jsonl task: numeric (default) or exact.")),
    (
        "count",
        int | None,
        Opt(
            help="last-letter, coin-flip: items (default 500); gsm-symbolic: instances per template (default 10)."
        ),
    ),
    (
        "timeout",
        float | None,
        Opt(metavar="SECONDS", help="HTTP backends: read timeout of one request (default 300)."),
    ),
    (
        "connect_timeout",
        float | None,
        Opt(metavar="SECONDS", help="HTTP backends: connect timeout (default 10)."),
    ),
    (
        "max_errors",
        str,
        Opt(
            metavar="N|P%",
            callback=_check_max_errors,
            help="A run fails as a whole when more than this many of its items errored: a count or a percentage of the items.",
        ),
        DEFAULT_MAX_ERRORS,
    ),
    (
        "retry_errors",
        bool,
        Opt("--retry-errors/--no-retry-errors", help="A resumed run tries its errored items again."),
        True,
    ),
]
TASK_OPTIONS = ("question_field", "answer_field", "scorer", "count")

strategy_options = _add_flags(FLAGS, "options")
run_flags = _add_flags(RUN_FLAGS, "run")


ModelOpt = Annotated[str | None, Opt("--model", "-m", help="Model spec (default: $PONDER_MODEL or 'local').")]
StoreOpt = Annotated[
    Path | None,
    Opt("--store", help="SQLite store (default: $PONDER_STORE or ~/.local/share/ponder/ponder.sqlite)."),
]
DataDirOpt = Annotated[
    Path | None,
    Opt(
        help="Folder of benchmark files overriding the shipped ones file by file (default: $PONDER_DATA_DIR); GSM-Symbolic comes from here."
    ),
]
VerifierModelOpt = Annotated[str | None, Opt(help="Model spec of the judge (default: the solving model).")]
