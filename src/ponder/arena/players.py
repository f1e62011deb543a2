"""A player is a strategy (with its options) on a model: `STRATEGY[OPTIONS]@MODEL`, e.g.
`cot[exemplars=gsm8k]@local` or `self-consistency[k=4]@local:qwen2.5-coder-1.5b`. Without `@MODEL`
the arena's default model plays. The player's name is its spec with the model spelled out, so
the same player keeps its name (and its battles) across runs; credentials in a model's URL are
redacted from the name (the model keeps the real spec)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ponder.errors import ConfigError
from ponder.redact import redact_spec
from ponder.strategies.options import parse_strategy_list, split_top_level


@dataclass(frozen=True)
class Player:
    name: str
    model: str
    strategy: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)


def parse_players(text: str, default_model: str) -> list[Player]:
    """`cot,direct@local:qwen2.5-coder-1.5b,self-consistency[k=4]` → players (at least two, distinct)."""
    players = []
    for piece in (p.strip() for p in split_top_level(text)):
        if not piece:
            continue
        at = piece.find("@", piece.rfind("]") + 1)
        head, model = (piece[:at], piece[at + 1 :]) if at >= 0 else (piece, default_model)
        if not model.strip():
            raise ConfigError(f"player {piece!r}: nothing after '@'; give a model spec, e.g. cot@local")
        [(label, strategy, options)] = parse_strategy_list(head)
        players.append(
            Player(
                f"{label}@{redact_spec(model.strip())}",
                model.strip(),
                strategy,
                tuple(sorted(options.items())),
            )
        )
    if len({p.name for p in players}) != len(players):
        raise ConfigError(f"players {text!r}: the same player is named twice")
    if len(players) < 2:
        raise ConfigError(f"players {text!r}: an arena needs at least two players")
    return players
