"""The strategy flags shared by `ponder solve`, `ponder eval` and `ponder compare`, declared once.

`@strategy_options` adds them to a command's signature and hands the command one `options`
dict (unset flags are None, which `build_strategy` reads as "the strategy's default").
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

Opt = typer.Option

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
                                   annotation=Annotated[flag[1], flag[2]]) for flag in flags]

        @functools.wraps(fn)
        def wrapper(**kw: Any) -> Any:
            return fn(**{into: {name: kw.pop(name) for name in names}}, **kw)

        wrapper.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + extra}
        return wrapper

    return decorate


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
    """`a,b[k=4,prompt=chain-of-draft],c` → [(label, name, options)], option values typed by flag."""
    from ponder.errors import ConfigError

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
        out.append((item, name.strip(), options))
    if not out:
        raise ConfigError("no strategies given: e.g. --strategies direct,cot,self-consistency[k=8]")
    return out


def _typed(value: str, typ: Any, item: str, key: str) -> Any:
    from ponder.errors import ConfigError

    base = typ.__args__[0] if hasattr(typ, "__args__") else typ
    try:
        if base is bool:
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "yes", "1")
        return base(value)
    except ValueError:
        raise ConfigError(f"strategy {item!r}: {key}={value!r} is not a {base.__name__}") from None
