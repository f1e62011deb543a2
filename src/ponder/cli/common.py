"""What the `ponder` commands share: the consoles, the one-line error guard, the eval progress bars.

Every error the CLI prints is one line on stderr beginning `error:`, printed as text (never read
as rich markup): ponder's own errors through `guard`, the parser's usage errors (a bad flag
value, a missing argument, an unknown option) through `OneLineGroup`, the class of the root app.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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

if TYPE_CHECKING:
    from ponder.eval.session import Session

T = TypeVar("T")

out = Console()
err = Console(stderr=True)
state = {"debug": False}  # --debug: errors raise with their traceback


def one_line(message: object) -> str:
    """`message` on one line: line breaks become spaces, other control characters escapes."""
    text = " ".join(str(message).splitlines()).replace("\t", " ")
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def print_error(message: object) -> None:
    err.print(Text.assemble(("error:", "bold red"), " ", one_line(message)), soft_wrap=True, highlight=False)


def guard(fn: Callable[[], T]) -> T:
    """`fn()`; a PonderError it raises is printed as one line and exits with the error's status
    (2 unless it has its own)."""
    try:
        return fn()
    except PonderError as e:
        if state["debug"]:
            raise
        print_error(e)
        raise typer.Exit(getattr(e, "exit_code", 2)) from None


def in_session(
    work: Callable[[Session], Awaitable[T]],
    model: str | None,
    store: Path | None,
    judge: str | None = None,
    cache: bool = True,
    model_options: Mapping[str, Any] | None = None,
) -> T:
    """`work(session)` in a session opened from the flags, closed when it ends (however it ends)."""
    from ponder.eval.session import Session

    async def main() -> T:
        async with Session.open(model, store, judge, cache, model_options) as session:
            return await work(session)

    return asyncio.run(main())


class OneLineGroup(TyperGroup):
    """The root command: runs the app with standalone mode off and prints what it raises
    as one `error:` line (exit status 2 for usage errors), so `ponder` and Typer's CliRunner
    behave alike."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run() -> Any:
            return super(OneLineGroup, self).main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )

        if not standalone_mode:
            return run()
        try:
            rv = run()
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
            if state["debug"]:
                raise
            print_error(e)
            sys.exit(getattr(e, "exit_code", 2))
        sys.exit(rv if isinstance(rv, int) else 0)


class EvalProgress:
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

    def __enter__(self) -> EvalProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            self.bars.__exit__(*exc)

    def __call__(self, label: str, p: Any) -> None:
        if not self.started:
            self.bars.__enter__()
            self.started = True
        if label not in self.ids:
            self.ids[label] = self.bars.add_task(escape(label), total=p.total, acc=0.0, tokens=0)
        self.bars.update(self.ids[label], completed=p.finished, acc=p.accuracy, tokens=p.tokens)
