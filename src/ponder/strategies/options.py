"""Strategy options as text: their types and ranges, and the `a,b[k=4,prompt=cot],c` lists that
name strategies with options (`ponder compare --strategies`, arena players). The command line
builds its flags from these tables; the library parses lists with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ponder.errors import ConfigError

# Every option a strategy may take by name, with its type (see registry.ALLOWED for which takes which).
OPTION_TYPES: dict[str, type] = {
    "prompt": str,
    "exemplars": str,
    "k": int,
    "temperature": float,
    "seed": int,
    "max_tokens": int,
    "per_call_budget": int,
    "per_task_budget": int,
    "extract_call": bool,
    "confidence": str,
    "verifier": str,
    "reward_url": str,
    "judge_mode": str,
    "width": int,
    "expand": int,
    "keep_fraction": float,
    "max_steps": int,
    "step_tokens": int,
    "aggregation": str,
    "rollouts": int,
    "batch": int,
    "rule": str,
    "threshold": float,
}


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

OPTION_BOUNDS: dict[str, Bounds] = {
    "k": COUNT,
    "temperature": NON_NEGATIVE,
    "seed": SEED,
    "max_tokens": COUNT,
    "per_call_budget": COUNT,
    "per_task_budget": COUNT,
    "width": COUNT,
    "expand": COUNT,
    "keep_fraction": FRACTION,
    "max_steps": COUNT,
    "step_tokens": COUNT,
    "rollouts": COUNT,
    "batch": COUNT,
    "threshold": PROBABILITY,
}


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
    and checked against their ranges (OPTION_BOUNDS)."""
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
                if not eq or key not in OPTION_TYPES:
                    raise ConfigError(
                        f"strategy {item!r}: {pair!r} is not OPTION=VALUE with OPTION one "
                        f"of {', '.join(OPTION_TYPES)}"
                    )
                options[key] = _typed(value.strip(), OPTION_TYPES[key], item, key)
                problem = OPTION_BOUNDS[key].problem(options[key]) if key in OPTION_BOUNDS else None
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
