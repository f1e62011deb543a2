"""The options several commands share, each declared once as an `Annotated` type that a command
names in its signature (`model: ModelOpt = None`), and `checked`, the range check of a number.

Every number is checked against its range where it is parsed, before any run exists: a flag by
its option callback (`checked`), a bracketed option (`self-consistency[k=8]`) in
`parse_strategy_list`. The strategy flags are not here: they follow from the option table
(see `cli.strategy_flags`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ponder.errors import ConfigError
from ponder.eval.limits import parse_max_errors
from ponder.strategies.options import COUNT, PORT, POSITIVE, Bounds
from ponder.strategies.registry import STRATEGIES

Opt = typer.Option


def flag_name(param: typer.CallbackParam) -> str:
    """How an error names the flag: all its spellings (`--limit/-n`)."""
    return "/".join(param.opts) or str(param.name)


def checked(bounds: Bounds) -> Callable[[typer.CallbackParam, Any], Any]:
    """A typer option callback refusing values outside `bounds` as they are parsed, before the
    command runs: a ConfigError naming the flag."""

    def callback(param: typer.CallbackParam, value: Any) -> Any:
        problem = bounds.problem(value)
        if problem:
            raise ConfigError(f"{flag_name(param)} {problem}")
        return value

    return callback


def one_of(*values: str) -> Callable[[typer.CallbackParam, Any], Any]:
    """A typer option callback refusing a value not among `values`: a ConfigError naming the flag."""

    def callback(param: typer.CallbackParam, value: Any) -> Any:
        if value is not None and value not in values:
            raise ConfigError(f"{flag_name(param)} {value!r}: expected one of {', '.join(values)}")
        return value

    return callback


def _check_max_errors(param: typer.CallbackParam, value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_max_errors(value).text
    except ConfigError as e:
        raise ConfigError(f"{flag_name(param)}: {str(e).partition(': ')[2]}") from None


TASK_HELP = (
    "Benchmark: gsm8k[:train], svamp, aqua[:dev], date, sports, strategyqa, math500, "
    "last-letter[:WORDS], coin-flip[:FLIPS], gsm-symbolic[:p1|p2|noop], arc-agi-1[:train], "
    "arc-agi-2[:train], mt-bench (open-ended), jsonl:PATH."
)
STRATEGY_HELP = f"{', '.join(STRATEGIES[:-1])} or {STRATEGIES[-1]}."

TaskArg = Annotated[str, typer.Argument(help=TASK_HELP)]
RunIdsArg = Annotated[list[int], typer.Argument(help="Run ids (see `ponder runs`).")]
StrategyOpt = Annotated[str, Opt("--strategy", "-s", help=STRATEGY_HELP)]

ModelOpt = Annotated[str | None, Opt("--model", "-m", help="Model spec (default: $PONDER_MODEL or 'local').")]
StoreOpt = Annotated[
    Path | None,
    Opt("--store", help="SQLite store (default: $PONDER_STORE or ~/.local/share/ponder/ponder.sqlite)."),
]
DataDirOpt = Annotated[
    Path | None,
    Opt(
        "--data-dir",
        help="Folder of benchmark files overriding the shipped ones file by file (default: $PONDER_DATA_DIR); GSM-Symbolic comes from here.",
    ),
]
VerifierModelOpt = Annotated[
    str | None, Opt("--verifier-model", help="Model spec of the judge (default: the solving model).")
]
LimitOpt = Annotated[
    int | None, Opt("--limit", "-n", help="Only the first N items.", callback=checked(COUNT))
]
ConcurrencyOpt = Annotated[
    int | None,
    Opt(
        "--concurrency",
        "-c",
        help="Items in flight at once (default: what the model serves best: 16 in-process, 1 over HTTP).",
        callback=checked(COUNT),
    ),
]
CacheOpt = Annotated[bool, Opt("--cache/--no-cache", help="Reuse stored completions of identical requests.")]
OutOpt = Annotated[Path, Opt("--out", help="Folder for the report (HTML, CSV, JSON, plots).")]
OpenOpt = Annotated[bool, Opt("--open/--no-open", help="Open the HTML report in a browser.")]
HostOpt = Annotated[str, Opt("--host", help="Address to serve on (loopback by default).")]
PortOpt = Annotated[int, Opt("--port", help="Port to serve on.", callback=checked(PORT))]

# Options of some benchmarks' loaders.
QuestionFieldOpt = Annotated[
    str | None, Opt("--question-field", help="jsonl task: the field holding the question (default question).")
]
AnswerFieldOpt = Annotated[
    str | None,
    Opt("--answer-field", help="jsonl task: the field holding the gold answer (default answer)."),
]
ScorerOpt = Annotated[str | None, Opt("--scorer", help="jsonl task: numeric (default) or exact.")]
CountOpt = Annotated[
    int | None,
    Opt(
        "--count",
        help="last-letter, coin-flip: items (default 500); gsm-symbolic: instances per template (default 10).",
        callback=checked(COUNT),
    ),
]

# HTTP backends' timeouts, and what a run does with items that error.
TimeoutOpt = Annotated[
    float | None,
    Opt(
        "--timeout",
        metavar="SECONDS",
        help="HTTP backends: read timeout of one request (default 300).",
        callback=checked(POSITIVE),
    ),
]
ConnectTimeoutOpt = Annotated[
    float | None,
    Opt(
        "--connect-timeout",
        metavar="SECONDS",
        help="HTTP backends: connect timeout (default 10).",
        callback=checked(POSITIVE),
    ),
]
MaxErrorsOpt = Annotated[
    str,
    Opt(
        "--max-errors",
        metavar="N|P%",
        callback=_check_max_errors,
        help="A run fails as a whole when more than this many of its items errored: a count or a percentage of the items.",
    ),
]
RetryErrorsOpt = Annotated[
    bool, Opt("--retry-errors/--no-retry-errors", help="A resumed run tries its errored items again.")
]
