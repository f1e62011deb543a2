"""The strategy flags of `ponder solve`, `ponder eval` and `ponder compare`: one per option in
`strategies.options.OPTIONS` that is given as text (`--k`, `--temperature`, `--verifier`, …),
named, typed, ranged and explained there.

A command made with `cls=StrategyCommand` gets these flags after its own. Typer makes them, as it
makes any option, from a dataclass generated from the option table (a field per option, typed
`Annotated[T | None, typer.Option(...)]`); the command reads their values, None where a flag was
not given, with `strategy_options(ctx)`. The flags are made each time the command is, so an option
declared in the table is a flag with no other edit.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ponder.cli.options import checked
from ponder.strategies.options import StrategyOption, text_options

_GIVEN = "ponder.strategy_options"


def flag_type(option: StrategyOption) -> Any:
    """The option as a typer parameter type: `Annotated[T | None, typer.Option(...)]`."""
    dashed = option.name.replace("_", "-")
    if option.type is bool:
        decls: tuple[str, ...] = (f"--{dashed}/--no-{dashed}",)
    else:
        decls = (f"--{dashed}", option.short) if option.short else (f"--{dashed}",)
    callback = checked(option.bounds) if option.bounds else None
    return Annotated[option.type | None, typer.Option(*decls, help=option.help, callback=callback)]


def flag_group() -> type:
    """A dataclass with a field per strategy flag, each defaulting to None."""
    fields = [
        (option.name, flag_type(option), dataclasses.field(default=None))
        for option in text_options().values()
    ]
    return dataclasses.make_dataclass("StrategyFlags", fields, frozen=True)


def strategy_params() -> list[Any]:
    """The click parameters of the strategy flags, as Typer makes them."""
    maker = typer.Typer(add_completion=False)
    maker.command()(flag_group())
    return list(typer.main.get_command(maker).params)


class StrategyCommand(TyperCommand):
    """A command that takes the strategy flags after its own parameters."""

    def __init__(self, name: str | None, *, params: list[Any] | None = None, **settings: Any) -> None:
        self.strategy_params = strategy_params()
        super().__init__(name, params=[*(params or []), *self.strategy_params], **settings)

    def invoke(self, ctx: Any) -> Any:
        ctx.meta[_GIVEN] = {p.name: ctx.params.pop(p.name) for p in self.strategy_params}
        return super().invoke(ctx)


def strategy_options(ctx: typer.Context) -> dict[str, Any]:
    """The strategy flags of the command running in `ctx`, by option name (None: not given)."""
    return dict(ctx.meta[_GIVEN])
