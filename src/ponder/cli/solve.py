"""`ponder solve`: one question, answered by a strategy; the reasoning, the answer, the compute."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ponder.cli.common import guard, in_session, out
from ponder.cli.options import CacheOpt, DataDirOpt, ModelOpt, StoreOpt, StrategyOpt, VerifierModelOpt
from ponder.cli.strategy_flags import strategy_options
from ponder.details import SelfConsistencyDetails

if TYPE_CHECKING:
    from ponder.types import Result


def compute_line(result: Result) -> str:
    """The compute of a result on one line: tokens, calls, cache and verifier shares, seconds."""
    c = result.compute
    parts = [
        f"{c.prompt_tokens} prompt tokens ({c.prompt_tokens_evaluated} evaluated)",
        f"{c.completion_tokens} completion tokens",
        f"{c.calls} call{'s' if c.calls != 1 else ''}",
    ]
    if c.cached_calls:
        parts.append(f"{c.cached_calls} from cache ({c.cached_tokens} tokens)")
    if c.verifier_calls:
        parts.append(
            f"verifier {c.verifier_calls} calls, "
            f"{c.verifier_prompt_tokens + c.verifier_completion_tokens} tokens"
        )
    parts.append(f"{c.seconds:.2f} s")
    return "compute: " + ", ".join(parts)


def solve(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    strategy: StrategyOpt = "cot",
    model: ModelOpt = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    kind: Annotated[str, typer.Option(help="Answer kind: number, choice, yesno, math or text.")] = "number",
    verifier_model: VerifierModelOpt = None,
    cache: CacheOpt = True,
) -> None:
    """Answer a question with a reasoning strategy; print the reasoning, answer and compute."""
    from ponder.solve import solve as run_solve

    options = {**strategy_options(ctx), "data_dir": data_dir}
    result = guard(
        lambda: in_session(
            lambda session: run_solve(session, question, strategy, kind, **options),
            model,
            store,
            verifier_model,
            cache,
        )
    )
    out.rule(Text(f"reasoning ({result.strategy})"))
    out.print(result.reasoning, markup=False, highlight=False)
    out.rule()
    out.print(
        Text.assemble(
            ("answer:", "bold"), f" {result.answer if result.answer is not None else '(no answer)'}"
        ),
        highlight=False,
    )
    if isinstance(result.details, SelfConsistencyDetails) and result.details.votes:
        votes = ", ".join(f"{a}: {v:g}" for a, v in result.details.votes.items())
        out.print(f"votes: {votes}", markup=False, highlight=False)
    if result.budget is not None and result.budget.hit:
        out.print("budget: reached; the answer is what the strategy had by then", markup=False)
    out.print(f"{compute_line(result)}  ({result.model})", markup=False, highlight=False, soft_wrap=True)
