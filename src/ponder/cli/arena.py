"""`ponder arena …`: battles between players, ratings, JSONL export and import, the voting page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ponder.cli.common import EvalProgress, err, guard, in_session, out
from ponder.cli.options import (
    CacheOpt,
    ConcurrencyOpt,
    DataDirOpt,
    HostOpt,
    LimitOpt,
    PortOpt,
    StoreOpt,
    TaskArg,
    checked,
)
from ponder.strategies.options import COUNT, POSITIVE, SEED

Opt = typer.Option
arena_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Pairwise battles between players (strategy@model), judged by a model, by "
    "correctness or by people; Elo and Bradley-Terry ratings with CIs.",
)

ArenaOpt = Annotated[str | None, Opt("--arena", help="Arena name (default: the task spec, e.g. gsm8k:test).")]
PlayersModelOpt = Annotated[
    str | None,
    Opt("--model", "-m", help="Default model of the players (default: $PONDER_MODEL or 'local')."),
]


@arena_app.command()
def battle(
    task: TaskArg,
    players: Annotated[
        str,
        Opt(
            "--players",
            help="Comma-separated STRATEGY[OPTIONS]@MODEL, e.g. 'direct,cot[exemplars=gsm8k],self-consistency[k=4]@local:qwen2.5-coder-1.5b'; without @MODEL, --model plays.",
        ),
    ],
    judge: Annotated[
        str,
        Opt(
            "--judge",
            help="correctness (items with gold answers) or a model spec (MT-Bench's pairwise judge prompt, both orders).",
        ),
    ] = "correctness",
    model: PlayersModelOpt = None,
    judge_max_tokens: Annotated[
        int,
        Opt(
            "--judge-max-tokens",
            help="Most tokens of a judge's reply (explanation, then the verdict).",
            callback=checked(COUNT),
        ),
    ] = 512,
    pairs: Annotated[
        int | None, Opt("--pairs", help="Pairs drawn per item (default: all pairs).", callback=checked(COUNT))
    ] = None,
    seed: Annotated[
        int,
        Opt("--seed", help="Seed of the pair draws and of which player is model_a.", callback=checked(SEED)),
    ] = 0,
    limit: LimitOpt = None,
    store: StoreOpt = None,
    arena: ArenaOpt = None,
    data_dir: DataDirOpt = None,
    concurrency: ConcurrencyOpt = None,
    cache: CacheOpt = True,
) -> None:
    """Players answer the items (stored eval runs, reused by later battles), then each pair is
    judged once per item; every battle is stored as it is decided. Rerun to resume or to add players."""
    from ponder.arena.play import play
    from ponder.arena.players import parse_players
    from ponder.models import default_spec

    found = guard(lambda: parse_players(players, model or default_spec()))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    judged = Progress(*columns, console=err)
    bar = judged.add_task("battles", total=None)

    def on_battle(done: int, total: int) -> None:
        if not judged.live.is_started:
            judged.start()
        judged.update(bar, completed=done, total=total)

    def run():
        with EvalProgress() as bars:
            try:
                return in_session(
                    lambda session: play(
                        session,
                        task,
                        found,
                        limit=limit,
                        data_dir=data_dir,
                        pairs=pairs,
                        seed=seed,
                        concurrency=concurrency,
                        arena=arena,
                        on_progress=bars,
                        on_battle=on_battle,
                        judge_max_tokens=judge_max_tokens,
                    ),
                    None,
                    store,
                    None if judge == "correctness" else judge,
                    cache,
                )
            finally:
                if judged.live.is_started:
                    judged.stop()

    played = guard(run)
    out.print(
        f"arena {played.arena}, judge {played.judge}: {played.new} new battles, {played.kept} already "
        f"stored, {played.undecided} undecided (no verdict in either order)",
        markup=False,
        highlight=False,
    )
    out.print(
        f"next: ponder arena ratings {played.arena} --judge {played.judge}", markup=False, highlight=False
    )


@arena_app.command()
def ratings(
    arena: Annotated[str | None, typer.Argument(help="Arena name (see `ponder arena list`).")] = None,
    judge: Annotated[
        str | None, Opt("--judge", help="Only this judge's battles (e.g. correctness, human, llm:MODEL).")
    ] = None,
    method: Annotated[
        str,
        Opt("--method", help="bt (Bradley-Terry, maximum likelihood) or elo (online, in recorded order)."),
    ] = "bt",
    rounds: Annotated[
        int, Opt("--rounds", help="Bootstrap rounds (battles resampled).", callback=checked(COUNT))
    ] = 1000,
    seed: Annotated[int, Opt("--seed", help="Seed of the bootstrap.", callback=checked(SEED))] = 0,
    k: Annotated[float, Opt("--k", help="Elo K factor.", callback=checked(POSITIVE))] = 4.0,
    store: StoreOpt = None,
    out_dir: Annotated[
        Path, Opt("--out", help="Folder for arena.html, leaderboard.csv/json and the plots.")
    ] = Path("ponder-arena"),
) -> None:
    """The leaderboard with 95% bootstrap intervals, then the HTML report with the ratings plot and
    the predicted and observed win matrices. Reads the store only."""
    from ponder.arena import report
    from ponder.errors import ConfigError
    from ponder.store import Store

    def run():
        if method not in ("bt", "elo"):
            raise ConfigError(f"--method {method!r}: use bt or elo")
        with Store(store, readonly=True) as s:
            battles = s.battles(arena, judge)
        rated = report.rate(battles, method, rounds, seed, k)
        try:
            return rated, report.write(rated, out_dir, arena or "all arenas", judge)
        except OSError as e:
            raise ConfigError(f"--out {out_dir}: cannot write the report there ({e.strerror or e})") from None

    rated, written = guard(run)
    table = Table(
        title=escape(
            f"{arena or 'all arenas'} · judge {judge or 'all'} · "
            f"{'Bradley-Terry' if method == 'bt' else f'online Elo (K={k:g})'} · "
            f"{rated.battles} battles ({rated.ties} ties)"
        )
    )
    for col in ("rank", "player", "rating", "95% CI", "battles", "win rate"):
        table.add_column(col, justify="left" if col == "player" else "right", overflow="fold")
    for i, r in enumerate(rated.rows, 1):
        table.add_row(
            str(i),
            escape(r.player),
            f"{r.rating:.0f}",
            f"{r.lower:.0f} to {r.upper:.0f}",
            str(r.battles),
            f"{r.win_rate:.1%}",
        )
    out.print(table)
    html, *others = written
    out.print(f"report: {html} (also {', '.join(p.name for p in others)})", markup=False, highlight=False)


@arena_app.command("list")
def list_arenas(store: StoreOpt = None) -> None:
    """Arenas in the store, per judge: battles, first and last."""
    import datetime

    from ponder.store import Store

    def rows():
        with Store(store, readonly=True) as s:
            return s.arenas()

    table = Table(title="arenas")
    for col in ("arena", "judge", "battles", "first", "last"):
        table.add_column(col)
    for r in guard(rows):
        when = [datetime.datetime.fromtimestamp(r[c]).strftime("%Y-%m-%d %H:%M") for c in ("first", "last")]
        table.add_row(escape(r["arena"]), escape(r["judge"]), str(r["battles"]), *when)
    out.print(table)


@arena_app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="JSONL file to write.")],
    arena: Annotated[str | None, Opt("--arena", help="Only this arena (default: all).")] = None,
    judge: Annotated[str | None, Opt("--judge", help="Only this judge's battles.")] = None,
    store: StoreOpt = None,
) -> None:
    """Write battles as JSONL in the arena's public format (model_a, model_b, winner, judge, turn,
    question_id)."""
    from ponder.arena.battles import write_jsonl
    from ponder.errors import ConfigError
    from ponder.store import Store

    def run() -> int:
        with Store(store, readonly=True) as s:
            battles = s.battles(arena, judge)
        try:
            return write_jsonl(battles, path)
        except OSError as e:
            raise ConfigError(f"{path}: cannot write the battles there ({e.strerror or e})") from None

    n = guard(run)
    out.print(f"{n} battles → {path}", markup=False, highlight=False)


@arena_app.command("import")
def import_battles(
    path: Annotated[
        Path,
        typer.Argument(help="JSONL file of battles (model_a, model_b, winner, judge, turn, question_id)."),
    ],
    arena: Annotated[str, Opt("--arena", help="Arena to add them to.")],
    store: StoreOpt = None,
) -> None:
    """Add battles from a JSONL file; the whole file is checked before anything is stored, and a
    machine judge's verdict already stored for the same pair and question is kept, not doubled."""
    from ponder.arena.battles import read_jsonl
    from ponder.store import Store

    def run() -> tuple[int, int]:
        battles = read_jsonl(path)
        with Store(store) as s:
            return s.import_battles(arena, battles)

    added, skipped = guard(run)
    out.print(f"{added} battles added to {arena}, {skipped} already there", markup=False, highlight=False)


@arena_app.command()
def vote(
    task: TaskArg,
    players: Annotated[
        str, Opt("--players", help="Comma-separated STRATEGY[OPTIONS]@MODEL, as for `ponder arena battle`.")
    ],
    model: PlayersModelOpt = None,
    limit: LimitOpt = None,
    store: StoreOpt = None,
    arena: ArenaOpt = None,
    data_dir: DataDirOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    seed: Annotated[
        int | None, Opt("--seed", help="Seed of the battles drawn (default: random).", callback=checked(SEED))
    ] = None,
) -> None:
    """Serve a page where people judge battles between the players' stored answers (answering
    first whatever is not stored yet); each vote is stored at once with judge "human"."""
    import uvicorn

    from ponder.arena.play import answer_all, load_answers
    from ponder.arena.players import parse_players
    from ponder.arena.vote import Ballot
    from ponder.models import default_spec
    from ponder.store import Store, default_store_path
    from ponder.tasks.registry import canonical_spec, load_tasks
    from ponder.view.app import create_app
    from ponder.view.vote import Voting

    def prepare():
        found = parse_players(players, model or default_spec())
        tasks = load_tasks(task, limit, data_dir=data_dir)
        with EvalProgress() as bars:
            runs = in_session(
                lambda session: answer_all(session, task, found, limit, data_dir, on_progress=bars),
                None,
                store,
            )
        path = store if store is not None else default_store_path()
        with Store(path, readonly=True) as s:
            answers = load_answers(s, runs)
        name = arena or canonical_spec(task)
        return name, create_app(path, vote=Voting(name, Ballot(tasks, answers, seed, runs)))

    name, web = guard(prepare)
    out.print(
        f"voting on {name}: http://{host}:{port}/vote  (Ctrl-C to stop; votes are stored as judge 'human')",
        markup=False,
        highlight=False,
    )
    uvicorn.run(web, host=host, port=port, log_level="warning")
