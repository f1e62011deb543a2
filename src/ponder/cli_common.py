"""What the `ponder` commands share: the consoles, the one-line error guard, the eval progress bars.
Kept apart from `cli.py` so that command modules (`cli_arena.py`) can import it without a cycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ponder.errors import PonderError

out = Console()
err = Console(stderr=True)
_state = {"debug": False}


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except PonderError as e:
        if _state["debug"]:
            raise
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


class _EvalProgress:
    """A live bar per strategy: items done, running accuracy, tokens so far."""

    def __init__(self) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("acc {task.fields[acc]:.1%}"), TextColumn("{task.fields[tokens]:,} tokens"),
                   TimeElapsedColumn())
        self.bars = Progress(*columns, console=err, transient=False)
        self.ids: dict[str, Any] = {}

    def __enter__(self) -> _EvalProgress:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.__exit__(*exc)

    def __call__(self, label: str, p: Any) -> None:
        if label not in self.ids:
            self.ids[label] = self.bars.add_task(escape(label), total=p.total, acc=0.0, tokens=0)
        self.bars.update(self.ids[label], completed=p.done, acc=p.accuracy, tokens=p.tokens)
