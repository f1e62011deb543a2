"""The options strategies take by name, each declared once (`OPTIONS`: its type, its range, what it
does), and the `a,b[k=4,prompt=cot],c` lists that name strategies with options (`ponder compare
--strategies`, arena players). The command line makes a flag of every option declared with
`flag=True`; which strategy takes which option is said where the strategy is registered
(`strategies.registry`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError


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
        low = (
            None if self.low is None else f"{'more than' if self.low_open else 'at least'} {_show(self.low)}"
        )
        high = (
            None
            if self.high is None
            else f"{'less than' if self.high_open else 'at most'} {_show(self.high)}"
        )
        if self.low is not None and self.high is not None and not self.low_open and not self.high_open:
            return f"from {_show(self.low)} to {_show(self.high)}"
        return " and ".join(part for part in (low, high) if part) or "a finite number"


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


COUNT = Bounds(low=1)  # items, samples, tokens, steps, rounds
SEED = Bounds(low=0)
POSITIVE = Bounds(low=0, low_open=True)  # seconds, factors
NON_NEGATIVE = Bounds(low=0)  # temperature
FRACTION = Bounds(low=0, high=1, low_open=True)  # (0, 1]
UNIT = Bounds(low=0, high=1)  # [0, 1]
PROBABILITY = Bounds(low=0, high=1, low_open=True, high_open=True)  # (0, 1)
PORT = Bounds(low=1, high=65535)


@dataclass(frozen=True)
class StrategyOption:
    """An option strategies may take: its name (`max_tokens`; the flag is `--max-tokens`), the type
    of its value, what it does (the flag's help), the range a number must fall in, and a short
    flag. With `flag=False` it is set another way (from a run flag such as --data-dir, or from
    Python only) and is neither a strategy flag nor a bracketed option."""

    name: str
    type: type
    help: str
    bounds: Bounds | None = None
    short: str | None = None
    flag: bool = True


OPTIONS: dict[str, StrategyOption] = {
    option.name: option
    for option in (
        StrategyOption(
            "prompt", str, "How sampling strategies ask: cot (default), direct or chain-of-draft."
        ),
        StrategyOption(
            "exemplars",
            str,
            "Few-shot exemplar set (gsm8k, date_understanding, sports_understanding) or a .json/.yaml path; none = zero-shot.",
        ),
        StrategyOption(
            "k",
            int,
            "Samples (self-consistency, weighted-vote, best-of-n; ceiling for adaptive-consistency).",
            COUNT,
            short="-k",
        ),
        StrategyOption("temperature", float, "Sampling temperature (default 0.7).", NON_NEGATIVE),
        StrategyOption("seed", int, "Seed of sample 0 (sample i uses seed + i).", SEED),
        StrategyOption("max_tokens", int, "Most tokens per chain.", COUNT),
        StrategyOption("per_call_budget", int, "Most completion tokens any one call may generate.", COUNT),
        StrategyOption(
            "per_task_budget",
            int,
            "Most completion tokens all calls of the task may generate, verifier included.",
            COUNT,
        ),
        StrategyOption("extract_call", bool, "Zero-shot cot: Kojima's second call that reads the answer."),
        StrategyOption("confidence", str, "weighted-vote weight: sequence or answer."),
        StrategyOption(
            "verifier",
            str,
            "best-of-n: judge or reward; beam-search: judge, mc or prm:PATH (a classifier from ponder train prm).",
        ),
        StrategyOption("reward_url", str, "URL of an HTTP reward model (verifier reward)."),
        StrategyOption("judge_mode", str, "Judge: auto, logprobs (P(Yes)) or rating (1-10)."),
        StrategyOption("width", int, "beam-search: beams kept per round.", COUNT),
        StrategyOption("expand", int, "beam-search: next steps sampled per beam.", COUNT),
        StrategyOption(
            "keep_fraction",
            float,
            "beam-search: keep this fraction of candidates instead of --width.",
            FRACTION,
        ),
        StrategyOption("max_steps", int, "beam-search: most steps.", COUNT),
        StrategyOption("step_tokens", int, "beam-search: most tokens per step.", COUNT),
        StrategyOption("aggregation", str, "beam-search: step-score aggregation last, min or product."),
        StrategyOption(
            "rollouts", int, "beam-search with --verifier mc: rollouts per partial solution.", COUNT
        ),
        StrategyOption("batch", int, "adaptive-consistency: samples per batch.", COUNT),
        StrategyOption("rule", str, "adaptive-consistency: stopping rule beta or dirichlet."),
        StrategyOption(
            "threshold", float, "adaptive-consistency: stop when P(leader wins) reaches this.", PROBABILITY
        ),
        StrategyOption(
            "max_turns",
            int,
            "agent strategies: most round trips (agent-math, agent-rag, agent-coding).",
            COUNT,
        ),
        StrategyOption("max_round", int, "agent-team: most messages of the group chat.", COUNT),
        StrategyOption(
            "reviewer", bool, "agent-coding: a reviewer agent checks the writer's code (default true)."
        ),
        StrategyOption("passages", int, "agent-rag: passages retrieved per search (default 3).", COUNT),
        StrategyOption("embedder", str, "agent-rag: embedder spec (default local; scripted in tests)."),
        StrategyOption("data_dir", Path, "Folder of benchmark and exemplar files (--data-dir).", flag=False),
        StrategyOption(
            "verifier_model",
            object,
            "The judge's model (--verifier-model; default: the solving model).",
            flag=False,
        ),
        StrategyOption(
            "delimiter", str, "beam-search: the text between steps (default a blank line).", flag=False
        ),
    )
}


def declare(option: StrategyOption) -> StrategyOption:
    """Add `option` to OPTIONS, where the registry and the command line find it."""
    if option.name in OPTIONS and OPTIONS[option.name] != option:
        raise ValueError(f"strategy option {option.name!r} is already declared differently")
    OPTIONS[option.name] = option
    return option


def text_options() -> dict[str, StrategyOption]:
    """The options given as text, by name: the strategy flags and the bracketed options."""
    return {name: option for name, option in OPTIONS.items() if option.flag}


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
    and checked against their ranges (see OPTIONS)."""
    known = text_options()
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
                if not eq or key not in known:
                    raise ConfigError(
                        f"strategy {item!r}: {pair!r} is not OPTION=VALUE with OPTION one "
                        f"of {', '.join(known)}"
                    )
                options[key] = _typed(value.strip(), known[key].type, item, key)
                bounds = known[key].bounds
                problem = bounds.problem(options[key]) if bounds else None
                if problem:
                    raise ConfigError(f"{item}: {key} {problem}")
        out.append((item, name.strip(), options))
    if not out:
        raise ConfigError("no strategies given: e.g. --strategies direct,cot,self-consistency[k=8]")
    return out


def _typed(value: str, base: type, item: str, key: str) -> Any:
    try:
        if base is bool:
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "yes", "1")
        return base(value)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(
            base, f"a {base.__name__}"
        )
        raise ConfigError(f"{item}: {key}={value!r} is not {kind}") from None
