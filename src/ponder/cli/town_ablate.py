"""The town's ablation judged in the arena: the answers of each condition (`ponder.town`) put to
the arena's pairwise judge (`ponder.arena`) in both orders, each verdict a battle of arena
`town-ablation/RUN`; composed here, above both packages."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

from ponder.arena.judges import Answer, LLMJudge, load_judge_prompts
from ponder.eval.session import Session
from ponder.town.ablation import AblatedAnswer
from ponder.town.runs import ablate_town
from ponder.types import Battle, Task


async def ablate_and_judge(
    session: Session,
    run_id: int,
    judge_spec: str | None,
    *,
    folder: Path | None,
    embedder: str | None,
    agents: Sequence[str] | None = None,
) -> tuple[str, list[Battle]]:
    """The arena's name and the battles it now holds from this ablation. The items (an agent's
    answers to one question) are judged concurrently, each one's pairs in turn; each battle is
    stored as soon as it is decided."""
    _, answers = await ablate_town(session, run_id, folder=folder, embedder=embedder, agents=agents)
    judge_model = session.cached(session.model_for(judge_spec) if judge_spec else session.model)
    judge = LLMJudge(judge_model, load_judge_prompts())
    arena = f"town-ablation/{run_id}"
    sink = session.store.call_sink(None, None)
    items: dict[tuple[str, str], list[AblatedAnswer]] = defaultdict(list)
    for a in answers:
        items[(a.agent, a.category)].append(a)

    async def judge_item(agent: str, category: str, given: list[AblatedAnswer]) -> list[Battle]:
        task = Task(
            f"{agent}/{category}",
            f"(Asked of {agent}, a resident of the town) {given[0].question}",
            None,
            "open",
        )
        out = []
        for a, b in combinations(given, 2):
            decision = await judge.decide(
                task, Answer(a.condition, a.answer), Answer(b.condition, b.answer), sink=sink
            )
            if decision.winner is None:
                continue
            battle = Battle(
                task.id, a.condition, b.condition, decision.winner, judge.name, data=decision.data
            )
            session.store.add_battle(arena, battle)
            out.append(battle)
        return out

    each = await asyncio.gather(*(judge_item(agent, cat, given) for (agent, cat), given in items.items()))
    return arena, [b for battles in each for b in battles]
