"""`ponder arena battle` as a library call: players answer the items (each answer an ordinary
eval result, so it is stored, resumed and reused: adding a player costs only its own answers and
its new battles), then every chosen pair is judged once per item and the battle stored at once,
with the runs holding the two players' answers (`data["runs"]`: model_a and model_b → run id).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.arena.battles import Battle
from ponder.arena.judges import Answer, CorrectnessJudge, LLMJudge, load_judge_prompts
from ponder.arena.players import Player
from ponder.details import AttemptsDetails, ConversationDetails
from ponder.errors import ConfigError
from ponder.eval.evaluate import Plan, evaluate
from ponder.eval.session import Session
from ponder.store import Store
from ponder.tasks.registry import canonical_spec, load_tasks
from ponder.trace import TraceSink
from ponder.types import Details, Result, Task


@dataclass(frozen=True)
class Played:
    arena: str
    judge: str
    runs: dict[str, int]  # player → run holding its answers
    new: int  # battles judged now
    kept: int  # battles already in the store
    undecided: int  # judged now without a verdict (not stored)


def pairings(players: Sequence[str], task_id: str, pairs: int | None, seed: int) -> list[tuple[str, str]]:
    """The (model_a, model_b) pairs of one item: all pairs, or `pairs` of them drawn per item;
    which player is model_a is drawn too. Seeded by the item, so reruns draw the same."""
    rng = random.Random(f"{seed}/{task_id}")
    chosen = list(itertools.combinations(players, 2))
    if pairs is not None and pairs < len(chosen):
        chosen = rng.sample(chosen, pairs)
    return [(a, b) if rng.random() < 0.5 else (b, a) for a, b in chosen]


async def answer_all(
    session: Session,
    task: str,
    players: Sequence[Player],
    limit: int | None,
    data_dir: Path | str | None,
    concurrency: int | None = None,
    on_progress: Callable[[str, Any], None] | None = None,
) -> dict[str, int]:
    """Every player's answers as eval runs (one per player, found again on later calls), each
    player's model from `session.model_for(player.model)`."""
    runs: dict[str, int] = {}
    for model in dict.fromkeys(p.model for p in players):
        group = [p for p in players if p.model == model]
        outcomes = await evaluate(
            session.using(session.model_for(model)),
            task,
            [Plan(p.strategy, p.option_dict, p.name) for p in group],
            limit=limit,
            concurrency=concurrency,
            data_dir=data_dir,
            on_progress=on_progress,
        )
        runs.update({p.name: o.run_id for p, o in zip(group, outcomes)})
    return runs


def load_answers(store: Store, runs: dict[str, int]) -> dict[str, dict[str, Answer]]:
    out: dict[str, dict[str, Answer]] = {}
    for player, run_id in runs.items():
        out[player] = {
            r.task.id: Answer(player, r.reasoning, r.answer, r.correct, turns_of(r))
            for r in store.results(run_id)
            if r.error is None
        }
    return out


def turns_of(result: Result) -> tuple[str, ...]:
    """The replies to each turn, where the player held the item's conversation."""
    details: Details = result.details
    if isinstance(details, AttemptsDetails):
        details = details.first
    return details.turns if isinstance(details, ConversationDetails) else ()


async def play(
    session: Session,
    task: str,
    players: Sequence[Player],
    *,
    limit: int | None = None,
    data_dir: Path | str | None = None,
    pairs: int | None = None,
    seed: int = 0,
    concurrency: int | None = None,
    arena: str | None = None,
    on_progress: Callable[[str, Any], None] | None = None,
    on_battle: Callable[[int, int], None] | None = None,
    judge_max_tokens: int = 512,
) -> Played:
    """Answers, then battles. The session's judge is the LLM judge (its replies cut at
    `judge_max_tokens`); a session without one judges by correctness against the gold answers."""
    tasks = load_tasks(task, limit, data_dir=data_dir)
    judge_model = session.judge
    if judge_model is None and any(t.answer is None for t in tasks):
        raise ConfigError(
            f"judge correctness needs gold answers; {task} has items without one: use --judge MODEL"
        )
    prompts = load_judge_prompts(data_dir) if judge_model is not None else None
    arena = arena or canonical_spec(task)
    runs = await answer_all(session, task, players, limit, data_dir, concurrency, on_progress)
    names = [p.name for p in players]
    store = session.store
    decider: CorrectnessJudge | LLMJudge = (
        CorrectnessJudge()
        if judge_model is None or prompts is None
        else LLMJudge(session.cached(judge_model), prompts, judge_max_tokens)
    )
    by_model = isinstance(decider, LLMJudge)
    answers = load_answers(store, runs)
    done = {
        (b.question_id, b.turn, frozenset((b.model_a, b.model_b))) for b in store.battles(arena, decider.name)
    }
    chosen = [
        (t, turn, a, b)
        for t in tasks
        for a, b in pairings(names, t.id, pairs, seed)
        for turn in _turns(t, answers[a].get(t.id), answers[b].get(t.id), by_model)
    ]
    todo = [x for x in chosen if (x[0].id, x[1], frozenset(x[2:])) not in done]
    kept = len(chosen) - len(todo)
    new = undecided = 0
    for i, (t, turn, a, b) in enumerate(todo):
        decision = await _decide(
            decider, t, turn, answers[a].get(t.id), answers[b].get(t.id), a, b, store.call_sink(None, t.id)
        )
        if decision.winner is None:
            undecided += 1
        else:
            data = {**decision.data, "runs": {"model_a": runs[a], "model_b": runs[b]}}
            store.add_battle(arena, Battle(t.id, a, b, decision.winner, decider.name, turn, data))
            new += 1
        if on_battle:
            on_battle(i + 1, len(todo))
    return Played(arena, decider.name, runs, new, kept, undecided)


def _turns(task: Task, a: Answer | None, b: Answer | None, by_model: bool) -> list[int]:
    """Turn 1 always; turn 2 too when both players held the item's conversation (a model judge)."""
    both = a is not None and b is not None and len(a.turns) > 1 and len(b.turns) > 1
    return [1, 2] if both and by_model and len(task.meta.get("turns") or ()) > 1 else [1]


async def _decide(
    decider: Any,
    task: Task,
    turn: int,
    a: Answer | None,
    b: Answer | None,
    name_a: str,
    name_b: str,
    sink: TraceSink,
) -> Any:
    """The decider's verdict; a judge's calls go to `sink` (the store's, under no run and the item)."""
    a = a or Answer(name_a, "", None, False if task.answer is not None else None)
    b = b or Answer(name_b, "", None, False if task.answer is not None else None)
    return await decider.decide(task, a, b, turn, sink)
