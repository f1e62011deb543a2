"""`ponder report`, and the table and report files that `compare` and `faithfulness` end with."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table

from ponder.cli.common import guard, out
from ponder.cli.options import OpenOpt, OutOpt, RunIdsArg, StoreOpt


def report(
    runs: RunIdsArg,
    store: StoreOpt = None,
    out_dir: OutOpt = Path("ponder-report"),
    open_report: OpenOpt = False,
) -> None:
    """Table, plots and HTML report of stored runs; reads the store only, never calls a model."""
    show_report(runs, store, out_dir, open_report)


def show_report(run_ids: list[int], store: Path | None, out_dir: Path, open_report: bool) -> None:
    """Write the report of the runs into `out_dir`, print their table and where the report is."""
    import ponder.faithfulness.report  # noqa: F401
    from ponder.report.write import write_report

    written = guard(lambda: write_report(store, run_ids, out_dir))
    table = Table(
        title="per item: prompt tokens evaluated, completion tokens, calls, seconds",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("run", "strategy", "n", "acc", "95% CI", "no ans", "prompt", "compl", "calls", "s"):
        table.add_column(
            col,
            justify="left" if col == "strategy" else "right",
            no_wrap=col != "strategy",
            min_width=14 if col == "strategy" else None,
        )
    for r in written.runs:
        table.add_row(
            str(r.run_id),
            escape(r.label),
            str(r.n),
            f"{r.accuracy:.1%}",
            f"{r.ci[0]:.0%}-{r.ci[1]:.0%}",
            f"{r.parse_failure:.0%}",
            f"{r.prompt_tokens_evaluated:,.0f}",
            f"{r.completion_tokens:,.0f}",
            f"{r.calls:.1f}",
            f"{r.seconds:.1f}",
        )
    out.print(table)
    out.print(
        f"report: {written.html} (also {written.csv.name}, {written.json.name}, "
        f"{len(written.figures)} plots)",
        markup=False,
        highlight=False,
    )
    if open_report:
        import webbrowser

        webbrowser.open(written.html.resolve().as_uri())
