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
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from ponder.errors import ConfigError
from ponder.eval.limits import DEFAULT_MAX_ERRORS, parse_max_errors

Opt = typer.Option


@dataclass(frozen=True)
class Bounds:
    """The values a number may take: `low`/`high` (None: unbounded), each included unless
    `*_open`; NaN and infinities are always refused."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, value: Any) -> str | None:
        """What is wrong with `value` ("must be at least 1, got 0"), or None when it fits."""
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return f"must be {self.describe()}, got {_show(value)}" if too_low or too_high else None

    def describe(self) -> str:
        low = None if self.low is None else f"{'more than' if self.low_open else 'at least'} {_show(self.low)}"
        high = None if self.high is None else f"{'less than' if self.high_open else 'at most'} {_show(self.high)}"
        if low and high and not self.low_open and not self.high_open:
            return f"from {_show(self.low)} to {_show(self.high)}"
        return " and ".join(part for part in (low, high) if part) or "a finite number"


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


COUNT = Bounds(low=1)  # items, samples, tokens, steps, rounds
SEED = Bounds(low=0)
POSITIVE = Bounds(low=0, low_open=True)  # seconds, factors
NON_NEGATIVE = Bounds(low=0)  # temperature
FRACTION = Bounds(low=0, high=1, low_open=True)  # (0, 1]
PROBABILITY = Bounds(low=0, high=1, low_open=True, high_open=True)  # (0, 1)
PORT = Bounds(low=1, high=65535)

BOUNDS: dict[str, Bounds] = {
    "k": COUNT, "temperature": NON_NEGATIVE, "seed": SEED, "max_tokens": COUNT, "per_call_budget": COUNT,
    "per_task_budget": COUNT, "width": COUNT, "expand": COUNT, "keep_fraction": FRACTION,
    "max_steps": COUNT, "step_tokens": COUNT, "rollouts": COUNT, "batch": COUNT,
    "threshold": PROBABILITY, "limit": COUNT, "concurrency": COUNT, "count": COUNT,
    "timeout": POSITIVE, "connect_timeout": POSITIVE, "fraction": FRACTION,
}


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


TASK_HELP = ("Benchmark: gsm8k[:train], svamp, aqua[:dev], date, sports, strategyqa, math500, "
             "last-letter[:WORDS], coin-flip[:FLIPS], gsm-symbolic[:p1|p2|noop], arc-agi-1[:train], "
             "arc-agi-2[:train], mt-bench (open-ended), jsonl:PATH.")
STRATEGY_HELP = ("direct, cot, chain-of-draft, self-consistency, weighted-vote, best-of-n, "
                 "adaptive-consistency or beam-search.")

FLAGS: list[tuple[str, Any, Any]] = [
    ("prompt", Optional[str], Opt(help="How sampling strategies ask: cot (default), direct or chain-of-draft.")),
    ("exemplars", Optional[str], Opt(help="Few-shot exemplar set (gsm8k, date_understanding, sports_understanding) or a .json/.yaml path; none = zero-shot.")),
    ("k", Optional[int], Opt("--k", "-k", help="Samples (self-consistency, weighted-vote, best-of-n; ceiling for adaptive-consistency).")),
    ("temperature", Optional[float], Opt(help="Sampling temperature (default 0.7).")),
    ("seed", Optional[int], Opt(help="Seed of sample 0 (sample i uses seed + i).")),
    ("max_tokens", Optional[int], Opt(help="Most tokens per chain.")),
    ("per_call_budget", Optional[int], Opt(help="Most completion tokens any one call may generate.")),
    ("per_task_budget", Optional[int], Opt(help="Most completion tokens all calls of the task may generate, verifier included.")),
    ("extract_call", Optional[bool], Opt("--extract-call/--no-extract-call", help="Zero-shot cot: Kojima's second call that reads the answer.")),
    ("confidence", Optional[str], Opt(help="weighted-vote weight: sequence or answer.")),
    ("verifier", Optional[str], Opt(help="best-of-n: judge or reward; beam-search: judge or mc.")),
    ("reward_url", Optional[str], Opt(help="URL of an HTTP reward model (verifier reward).")),
    ("judge_mode", Optional[str], Opt(help="Judge: auto, logprobs (P(Yes)) or rating (1-10).")),
    ("width", Optional[int], Opt(help="beam-search: beams kept per round.")),
    ("expand", Optional[int], Opt(help="beam-search: next steps sampled per beam.")),
    ("keep_fraction", Optional[float], Opt(help="beam-search: keep this fraction of candidates instead of --width.")),
    ("max_steps", Optional[int], Opt(help="beam-search: most steps.")),
    ("step_tokens", Optional[int], Opt(help="beam-search: most tokens per step.")),
    ("aggregation", Optional[str], Opt(help="beam-search: step-score aggregation last, min or product.")),
    ("rollouts", Optional[int], Opt(help="beam-search with --verifier mc: rollouts per partial solution.")),
    ("batch", Optional[int], Opt(help="adaptive-consistency: samples per batch.")),
    ("rule", Optional[str], Opt(help="adaptive-consistency: stopping rule beta or dirichlet.")),
    ("threshold", Optional[float], Opt(help="adaptive-consistency: stop when P(leader wins) reaches this.")),
]
NAMES = [name for name, _, _ in FLAGS]


def _add_flags(flags: list[tuple], into: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `flags` (name, type, typer.Option[, default]) to a command's CLI signature; the command
    receives them as one dict `into` (None for flags not given and without a default)."""
    names = [flag[0] for flag in flags]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != into]
        extra = [inspect.Parameter(flag[0], inspect.Parameter.KEYWORD_ONLY,
                                   default=flag[3] if len(flag) > 3 else None,
                                   annotation=Annotated[flag[1], _with_bounds(flag[0], flag[2])]) for flag in flags]

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
    ("model", Optional[str], Opt("--model", "-m", help="Model spec (default: $PONDER_MODEL or 'local').")),
    ("store", Optional[Path], Opt(help="SQLite store (default: $PONDER_STORE or ~/.local/share/ponder/ponder.sqlite).")),
    ("limit", Optional[int], Opt("--limit", "-n", help="Only the first N items.")),
    ("concurrency", int, Opt("--concurrency", "-c", help="Items in flight at once."), 1),
    ("data_dir", Optional[Path], Opt(help="Folder of benchmark files (default: $PONDER_DATA_DIR).")),
    ("verifier_model", Optional[str], Opt(help="Model spec of the judge (default: the solving model).")),
    ("cache", bool, Opt("--cache/--no-cache", help="Reuse stored completions of identical requests."), True),

    ("question_field", Optional[str], Opt(help="jsonl task: the field holding the question (default question).")),
    ("answer_field", Optional[str], Opt(help="jsonl task: the field holding the gold answer (default answer).")),
    ("scorer", Optional[str], Opt(help="jsonl task: numeric (default) or exact.")),
    ("count", Optional[int], Opt(help="last-letter, coin-flip: items (default 500); gsm-symbolic: instances per template (default 10).")),
    ("timeout", Optional[float], Opt(metavar="SECONDS", help="HTTP backends: read timeout of one request (default 300).")),
    ("connect_timeout", Optional[float], Opt(metavar="SECONDS", help="HTTP backends: connect timeout (default 10).")),
    ("max_errors", str, Opt(metavar="N|P%", callback=_check_max_errors,
                            help="A run fails as a whole when more than this many of its items errored: a count or a percentage of the items."),
     DEFAULT_MAX_ERRORS),
    ("retry_errors", bool, Opt("--retry-errors/--no-retry-errors", help="A resumed run tries its errored items again."), True),
]
TASK_OPTIONS = ("question_field", "answer_field", "scorer", "count")

strategy_options = _add_flags(FLAGS, "options")
run_flags = _add_flags(RUN_FLAGS, "run")


ModelOpt = Annotated[Optional[str], Opt("--model", "-m", help="Model spec (default: $PONDER_MODEL or 'local').")]
StoreOpt = Annotated[Optional[Path], Opt("--store", help="SQLite store (default: $PONDER_STORE or ~/.local/share/ponder/ponder.sqlite).")]
DataDirOpt = Annotated[Optional[Path], Opt(help="Folder of benchmark files (default: $PONDER_DATA_DIR).")]
VerifierModelOpt = Annotated[Optional[str], Opt(help="Model spec of the judge (default: the solving model).")]

def split_top_level(text: str) -> list[str]:
    """`a,b[x=1,y=2],c` → ["a", "b[x=1,y=2]", "c"]: commas inside brackets do not split."""
    items, depth, cur = [], 0, ""
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    return items


def parse_strategy_list(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """`a,b[k=4,prompt=chain-of-draft],c` → [(label, name, options)], option values typed by flag
    and checked against their ranges (BOUNDS)."""
    types = {name: typ for name, typ, _ in FLAGS}
    items = split_top_level(text)
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, _, rest = item.partition("[")
        options: dict[str, Any] = {}
        if rest:
            if not rest.endswith("]"):
                raise ConfigError(f"strategy {item!r}: options go in brackets, e.g. self-consistency[k=8]")
            for pair in filter(None, (p.strip() for p in rest[:-1].split(","))):
                key, eq, value = pair.partition("=")
                key = key.strip().replace("-", "_")
                if not eq or key not in types:
                    raise ConfigError(f"strategy {item!r}: {pair!r} is not OPTION=VALUE with OPTION one "
                                      f"of {', '.join(NAMES)}")
                options[key] = _typed(value.strip(), types[key], item, key)
                problem = BOUNDS[key].problem(options[key]) if key in BOUNDS else None
                if problem:
                    raise ConfigError(f"{item}: {key} {problem}")
        out.append((item, name.strip(), options))
    if not out:
        raise ConfigError("no strategies given: e.g. --strategies direct,cot,self-consistency[k=8]")
    return out


def _typed(value: str, typ: Any, item: str, key: str) -> Any:
    base = typ.__args__[0] if hasattr(typ, "__args__") else typ
    try:
        if base is bool:
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "yes", "1")
        return base(value)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(base, f"a {base.__name__}")
        raise ConfigError(f"{item}: {key}={value!r} is not {kind}") from None
