"""What the `ponder` commands share: the consoles, the one-line error guard, the eval progress bars.
Kept apart from `cli.py` so that command modules (`cli_arena.py`) can import it without a cycle.

Every error the CLI prints is one line on stderr beginning `error:`, printed as text (never read
as rich markup): ponder's own errors through `_guard`, the parser's usage errors (a bad flag
value, a missing argument, an unknown option) through `OneLineGroup`, the class of the root app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from typer.core import TyperGroup

from ponder.errors import PonderError

try:  # typer >= 0.20 carries its own copy of click; earlier ones use click's exceptions
    from typer.exceptions import TyperException as UsageProblem
except ImportError:  # pragma: no cover
    from click import ClickException as UsageProblem  # type: ignore[assignment]

out = Console()
err = Console(stderr=True)
_state = {"debug": False}


def one_line(message: object) -> str:
    """`message` on one line: line breaks become spaces, other control characters escapes."""
    text = " ".join(str(message).splitlines()).replace("\t", " ")
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def print_error(message: object) -> None:
    err.print(Text.assemble(("error:", "bold red"), " ", one_line(message)), soft_wrap=True, highlight=False)


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except PonderError as e:
        if _state["debug"]:
            raise
        print_error(e)
        raise typer.Exit(getattr(e, "exit_code", 2)) from None


class OneLineGroup(TyperGroup):
    """The root command: runs the app with standalone mode off and prints what it raises
    as one `error:` line (exit status 2 for usage errors), so `ponder` and Typer's CliRunner
    behave alike."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except UsageProblem as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `ponder` alone: the help, not an error
                e.show()  # type: ignore[attr-defined]
            else:
                print_error(e.format_message())
            sys.exit(e.exit_code)
        except typer.Abort:
            print_error("interrupted")
            sys.exit(130)
        except PonderError as e:
            if _state["debug"]:
                raise
            print_error(e)
            sys.exit(getattr(e, "exit_code", 2))
        sys.exit(rv if isinstance(rv, int) else 0)


class _EvalProgress:
    """A live bar per strategy: items done, running accuracy, tokens so far. The bars appear
    with the first progress report, so a run refused before it starts prints only its error."""

    def __init__(self) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acc {task.fields[acc]:.1%}"),
            TextColumn("{task.fields[tokens]:,} tokens"),
            TimeElapsedColumn(),
        )
        self.bars = Progress(*columns, console=err, transient=False)
        self.ids: dict[str, Any] = {}
        self.started = False

    def __enter__(self) -> _EvalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bars.__exit__(*exc)

    def __call__(self, label: str, p: Any) -> None:
        if not self.started:
            self.bars.__enter__()
            self.started = True
        if label not in self.ids:
            self.ids[label] = self.bars.add_task(escape(label), total=p.total, acc=0.0, tokens=0)
        self.bars.update(self.ids[label], completed=p.finished, acc=p.accuracy, tokens=p.tokens)
