"""`ponder report`: the runs' table, plots, HTML page, CSV and JSON, from the store alone."""

from __future__ import annotations

import base64
import csv
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from ponder.errors import ConfigError
from ponder.report import grids, plots
from ponder.report.data import RunSummary, load_runs
from ponder.report.sections import sections
from ponder.store import Store

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class Written:
    html: Path
    csv: Path
    json: Path
    figures: tuple[Path, ...]
    runs: tuple[RunSummary, ...]


def write_report(store_path: Path | str | None, run_ids: list[int], out_dir: Path | str) -> Written:
    """Write the report of `run_ids` into `out_dir`, with the sections registered so far (see
    `report.sections`; ARC-AGI's grids are one, always there); a folder that cannot be written is a
    ConfigError naming it."""
    grids.register()
    if not run_ids:
        raise ConfigError("no runs to report: give run ids (see `ponder runs`)")
    with Store(store_path, readonly=True) as store:
        runs = load_runs(store, run_ids)
        where = str(store.path)
    out = Path(out_dir)
    try:
        return _write(runs, where, out)
    except OSError as e:
        failed = f" ({e.filename})" if e.filename and str(e.filename) != str(out) else ""
        raise ConfigError(f"cannot write the report to {out}: {e.strerror or e}{failed}") from None


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    png: bytes


def figures_of(runs: list[RunSummary]) -> list[Figure]:
    """The report's plots of `runs`: the core ones that apply, then each registered section's."""
    found = []
    for name, caption, png in (
        (
            "accuracy_vs_tokens",
            "Accuracy (95% CI) against tokens per item; dashed: the Pareto frontier.",
            plots.accuracy_vs_tokens(runs),
        ),
        (
            "maj_at_k",
            "maj@k (solid) and pass@k (dotted), exact over all k-subsets of each item's samples.",
            plots.maj_at_k(runs),
        ),
        (
            "overthinking",
            "Items in five quintiles of question length: mean answer length and accuracy.",
            plots.overthinking(runs),
        ),
        (
            "symbolic_sets",
            "GSM-Symbolic: accuracy of each instance set (instance j of every template); "
            "dashed: the original GSM8K problems.",
            plots.symbolic_sets(runs),
        ),
    ):
        if png is not None:
            found.append(Figure(name, caption, png))
    for section in sections():
        found += [Figure(f.name, f.caption, f.png) for f in section.figures(runs)]
    return found


def report_html(runs: list[RunSummary], where: str, figures: list[Figure] | None = None) -> str:
    """The report page of `runs` (plots embedded), read from the store at `where`."""
    grids.register()
    shown = figures_of(runs) if figures is None else figures
    tasks = sorted({r.task for r in runs})
    return _TEMPLATES.get_template("report.html.j2").render(
        title=f"{', '.join(tasks)}: {len(runs)} run(s)",
        store=where,
        runs=runs,
        figures=[
            {"id": f.name, "caption": f.caption, "data": base64.b64encode(f.png).decode()} for f in shown
        ],
        any_buckets=any(r.length_buckets for r in runs),
        symbolic=[r for r in runs if r.symbolic],
        sections=[Markup(html) for section in sections() if (html := section.html(runs))],
    )


def _write(runs: list[RunSummary], where: str, out: Path) -> Written:
    out.mkdir(parents=True, exist_ok=True)
    figures = figures_of(runs)
    paths = []
    for figure in figures:
        path = out / f"{figure.name}.png"
        path.write_bytes(figure.png)
        paths.append(path)
    rows = [r.row() for r in runs]
    csv_path = out / "summary.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    json_path = out / "summary.json"
    json_path.write_text(
        json.dumps(
            {
                "store": where,
                "runs": [r.record() for r in runs],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    html_path = out / "report.html"
    html_path.write_text(report_html(runs, where, figures), encoding="utf-8")
    return Written(html_path, csv_path, json_path, tuple(paths), tuple(runs))
