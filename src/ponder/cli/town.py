"""`ponder town …`: Generative Agents in a small town: run it, interview its agents, speak to them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ponder.cli.common import err, guard, in_session, out
from ponder.cli.options import ModelOpt, StoreOpt, checked
from ponder.strategies.options import COUNT, POSITIVE

Opt = typer.Option
town_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Generative Agents (memory, reflection, planning, dialogue) living in a small town.",
)
TownOpt = Annotated[
    Path | None,
    Opt(
        "--town",
        help="Folder of the town (map.txt, areas.yaml, agents.yaml, scenario.yaml); default: Millbrook.",
    ),
]
EmbedderOpt = Annotated[
    str | None, Opt("--embedder", help="Embedder spec for the memory streams (default: local).")
]


@town_app.command()
def run(
    hours: Annotated[
        float,
        Opt(
            "--hours", help="Run until this many simulated hours from the start.", callback=checked(POSITIVE)
        ),
    ] = 2.0,
    resume: Annotated[
        int | None,
        Opt("--resume", help="Go on with this town run from its last step.", callback=checked(COUNT)),
    ] = None,
    town: TownOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
    step_minutes: Annotated[
        int, Opt("--step-minutes", help="Simulated minutes a step.", callback=checked(COUNT))
    ] = 10,
    tokens: Annotated[
        int | None, Opt("--tokens", help="Stop after this many tokens in this run.", callback=checked(COUNT))
    ] = None,
    tokens_per_hour: Annotated[
        int | None,
        Opt(
            "--tokens-per-hour",
            help="Stop when a simulated hour costs this many tokens.",
            callback=checked(COUNT),
        ),
    ] = None,
    measure_every: Annotated[
        float | None,
        Opt(
            "--measure-every",
            help="Measure diffusion (ponder town measure) every this many simulated hours.",
            callback=checked(POSITIVE),
        ),
    ] = None,
    measure_acquaintance: Annotated[
        bool,
        Opt(
            "--measure-acquaintance",
            help="With --measure-every, also ask every agent about each other (relationship density).",
        ),
    ] = False,
) -> None:
    """Run the town, storing every step and memory; rerun with --resume RUN to go on."""
    from ponder.town.runs import run_town
    from ponder.town.simulate import TownBudget

    total = max(1, round(hours * 60 / step_minutes))
    bars = Progress(
        TextColumn("town"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[now]}"),
        TimeElapsedColumn(),
        console=err,
    )
    task = bars.add_task("town", total=total, now="")
    with bars:
        result = guard(
            lambda: in_session(
                lambda s: run_town(
                    s,
                    hours,
                    folder=town,
                    resume=resume,
                    embedder=embedder,
                    step_minutes=step_minutes,
                    budget=TownBudget(tokens_per_hour, tokens),
                    on_step=lambda step, now: bars.update(
                        task, completed=min(step, total), now=f"{now:%a %H:%M}"
                    ),
                    measure_every=measure_every,
                    measure_acquaintance=measure_acquaintance,
                ),
                model,
                store,
            )
        )
    out.print(
        f"run {result.run_id}: {result.steps} steps, at {result.time:%Y-%m-%d %H:%M}, {result.tokens:,} tokens "
        f"this time; stopped: {result.stopped_by}",
        markup=False,
        highlight=False,
    )


@town_app.command()
def interview(
    run_id: Annotated[int, typer.Argument(help="The town run.")],
    agent: Annotated[str, typer.Argument(help="The agent's name.")],
    question: Annotated[str, typer.Argument(help="What to ask.")],
    town: TownOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Ask an agent a question as of its run's last step (the run is not changed)."""
    from ponder.town.runs import ask_agent

    now, answer = guard(
        lambda: in_session(
            lambda s: ask_agent(s, run_id, agent, question, folder=town, embedder=embedder), model, store
        )
    )
    out.print(f"[{now:%a %H:%M}] {agent}: {answer}", markup=False, highlight=False)


@town_app.command()
def tell(
    run_id: Annotated[int, typer.Argument(help="The town run.")],
    agent: Annotated[str, typer.Argument(help="The agent's name.")],
    text: Annotated[str, typer.Argument(help="What the agent observes, or (with --inner-voice) thinks.")],
    inner_voice: Annotated[
        bool, Opt("--inner-voice", help="A thought of its own, which it takes as its wish.")
    ] = False,
    town: TownOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Put an observation or an inner-voice thought into an agent's memory; it acts on it when
    the run goes on (--resume)."""
    from ponder.town.runs import tell_agent

    now = guard(
        lambda: in_session(
            lambda s: tell_agent(
                s, run_id, agent, text, inner_voice=inner_voice, folder=town, embedder=embedder
            ),
            model,
            store,
        )
    )
    out.print(f"{agent} remembers it from {now:%a %H:%M}", markup=False, highlight=False)


@town_app.command()
def measure(
    run_id: Annotated[int, typer.Argument(help="The town run.")],
    acquaintance: Annotated[
        bool,
        Opt("--acquaintance/--no-acquaintance", help="Also ask every agent whether it knows each other one."),
    ] = True,
    town: TownOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Interview the agents as of the run's last step (the run is not changed) and print the
    diffusion of each seeded fact, the relationship density and who came to each event reached."""
    from ponder.town.runs import measure_town

    m = guard(
        lambda: in_session(
            lambda s: measure_town(s, run_id, folder=town, embedder=embedder, acquaintance=acquaintance),
            model,
            store,
        )
    )
    say = lambda text: out.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    say(f"as of {m.time:%a %Y-%m-%d %H:%M}; the interviews are stored as run {m.run_id}")
    for fact, share in m.diffusion.items():
        vetoed = [j.agent for j in m.judged if j.about == fact and j.vetoed]
        but = f" (the judge also passed {', '.join(vetoed)}, naming none of its keys)" if vetoed else ""
        say(f"{fact}: known by {share:.0%} of the agents{but}")
    if m.density is not None:
        say(f"relationship density: {m.density:.0%} of ordered pairs")
    for fact, (knew, came) in m.attendance.items():
        say(f"{fact}: {len(came)} of the {len(knew)} who knew of it were there ({', '.join(came) or 'none'})")


@town_app.command()
def ablate(
    run_id: Annotated[int, typer.Argument(help="The town run.")],
    judge_model: Annotated[
        str | None, Opt("--judge-model", help="The judge's model spec (default: the run's model, -m).")
    ] = None,
    agent: Annotated[
        list[str] | None, Opt("--agent", help="Interview this agent only (repeat for several; default: all).")
    ] = None,
    town: TownOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Interview every agent under the four ablation conditions as of the run's last step, judge
    the answers pairwise (both orders), store the battles as arena `town-ablation/RUN`, and print
    the conditions' Bradley-Terry ratings with 95% intervals."""
    from ponder.arena.battles import outcomes
    from ponder.arena.ratings import leaderboard
    from ponder.cli.town_ablate import ablate_and_judge

    arena, battles = guard(
        lambda: in_session(
            lambda s: ablate_and_judge(s, run_id, judge_model, folder=town, embedder=embedder, agents=agent),
            model,
            store,
        )
    )
    out.print(f"{len(battles)} battles in arena {arena}", markup=False, highlight=False)
    for r in leaderboard(outcomes(battles)):
        out.print(
            f"{r.player}: {r.rating:.0f} ({r.lower:.0f}-{r.upper:.0f}), {r.battles} battles, win rate {r.win_rate:.0%}",
            markup=False,
            highlight=False,
        )


@town_app.command()
def measures(
    run_id: Annotated[int, typer.Argument(help="The town run.")],
    town: TownOpt = None,
    store: StoreOpt = None,
) -> None:
    """The diffusion of each seeded fact, and the relationship density where it was asked, at every
    measurement of the run (--measure-every, or ponder town measure), in time order."""
    from ponder.store import Store, default_store_path
    from ponder.town.runs import Measurement, measurements_of

    def read() -> list[Measurement]:
        with Store(store or default_store_path(), readonly=True) as s:
            return measurements_of(s, run_id, town)

    rows = guard(read)
    if not rows:
        out.print(f"run {run_id} has no measurements yet", markup=False, highlight=False)
    for m in rows:
        facts = ", ".join(f"{fact} {share:.0%}" for fact, share in m.diffusion.items())
        dense = f", density {m.density:.0%}" if m.density is not None else ""
        out.print(f"{m.at:%a %H:%M}  {facts}{dense}", markup=False, highlight=False, soft_wrap=True)


@town_app.command()
def costs(
    run_id: Annotated[int, typer.Argument(help="The town run.")],
    store: StoreOpt = None,
) -> None:
    """What the run cost per simulated hour: steps, wall time, model calls (from the cache) and
    tokens, with the totals and the median wall time of a full simulated hour."""
    from statistics import median

    from ponder.store import Store, default_store_path
    from ponder.town.costs import HourCost
    from ponder.town.runs import costs_of

    def read() -> list[HourCost]:
        with Store(store or default_store_path(), readonly=True) as s:
            return costs_of(s, run_id)

    rows = guard(read)
    if not rows:
        out.print(f"run {run_id} has no steps yet", markup=False, highlight=False)
        return
    line = "{:<10} {:>5} {:>9} {:>6} {:>7} {:>10} {:>11}"
    out.print(line.format("hour", "steps", "wall", "calls", "cached", "prompt", "completion"), markup=False)
    for h in rows:
        out.print(
            line.format(
                f"{h.start:%a %H:%M}",
                h.steps,
                f"{h.wall_s:.0f} s",
                h.calls,
                h.cached,
                h.prompt_tokens,
                h.completion_tokens,
            ),
            markup=False,
            highlight=False,
        )
    full = [h.wall_s for h in rows if h.steps == max(r.steps for r in rows)]
    total = sum(h.wall_s for h in rows)
    out.print(
        f"{len(rows)} simulated hours, {sum(h.steps for h in rows)} steps, {total / 60:.1f} min, "
        f"{sum(h.calls for h in rows)} calls ({sum(h.cached for h in rows)} from the cache), "
        f"{sum(h.tokens for h in rows)} tokens; median {median(full) / 60:.1f} min per full simulated hour",
        markup=False,
        highlight=False,
    )
