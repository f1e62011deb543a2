"""Search traces with backtracking, for imitation: a depth-first search over steps guided by a
process verifier, written out as one line of reasoning that keeps its mistakes.

At each depth the model proposes `expand` next steps (one n-sample request continuing the accepted
steps, stopped at the delimiter); they are tried in the order sampled. The verifier scores a step
given the steps before it; one scoring below `threshold` is rejected: it stays in the trace,
followed by a connective ("Wait, that step is wrong.") and the next candidate. A step that states
an answer ends the search. When every candidate at a depth is rejected, the search backtracks: the
trace says so ("That does not lead anywhere. Let me go back to: <the step before>", or "Let me
start over" at the first step) and the parent's next candidate is tried. The search gives up after `max_nodes` scored steps or at
`max_depth`.

The verifier is the LLM step judge (`verifier="judge"`, P(Yes) that the step is correct) or, for
training data where the gold answer is known, `"rollouts"`: the share of `rollouts` continuations
from the step that reach the gold answer (Math-Shepherd's estimate). Connectives are drawn per item
from fixed lists with a seeded generator, so the same search writes the same trace."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.datagen.rows import provenance_of, sft_row
from ponder.datagen.step_labels import soft_label
from ponder.details import BacktrackDetails
from ponder.errors import ConfigError
from ponder.models import PREFIX, Model
from ponder.strategies.base import Budget, Recorder, TraceSink
from ponder.strategies.config import Configured
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.verifiers import LLMStepJudge
from ponder.tasks.answers import extract
from ponder.types import Result, Task

REJECT = (
    "Wait, that step is wrong.",
    "Hmm, that is not right.",
    "Wait, let me check that again. It does not hold.",
    "Actually, that is a mistake.",
)
RETRY = ("Let me redo it:", "Let me try again:", "Instead:", "Correcting it:")
BACK = (
    "That does not lead anywhere. Let me go back to:",
    "This path is a dead end. Going back to:",
)
RESTART = (
    "That does not lead anywhere. Let me start over.",
    "This path is a dead end. Let me start again from the beginning.",
)
VERIFIERS = ("judge", "rollouts")


@dataclass
class Node:
    depth: int
    step: str
    score: float
    accepted: bool


@dataclass
class BacktrackSearch(Configured):
    expand: int = 3
    threshold: float = 0.5
    max_depth: int = 10
    max_nodes: int = 24
    step_tokens: int = 96
    delimiter: str = "\n"
    temperature: float = 0.7
    verifier: str = "rollouts"
    rollouts: int = 4
    rollout_tokens: int = 256
    seed: int = 0
    budget: Budget = field(default_factory=Budget)
    name: str = "backtrack"

    def __post_init__(self) -> None:
        if self.verifier not in VERIFIERS:
            raise ConfigError(f"unknown verifier {self.verifier!r}: expected one of {', '.join(VERIFIERS)}")
        if not self.delimiter:
            raise ConfigError("the step delimiter must not be empty")
        self.cot = ChainOfThought(max_tokens=self.step_tokens, extract_call=False, seed=self.seed)
        self.judge = LLMStepJudge()

    def parts(self) -> dict[str, Any]:
        return {"cot": self.cot, "judge": self.judge if self.verifier == "judge" else None}

    def _prefix(self, steps: Sequence[str]) -> str:
        return self.delimiter.join(steps) + self.delimiter if steps else ""

    async def propose(self, task: Task, rec: Recorder, steps: list[str], call: int) -> list[tuple[str, bool]]:
        """Distinct candidate next steps, in sampled order, each with whether it ends the chain."""
        request = self.cot.request(
            task,
            n=self.expand,
            temperature=self.temperature,
            seed=self.seed + call,
            max_tokens=self.step_tokens,
            prefix=self._prefix(steps),
            stop=(self.delimiter,),
        )
        out: list[tuple[str, bool]] = []
        for c in await rec.generate(request, purpose="propose"):
            step = c.text.strip()
            if step and step not in (s for s, _ in out):
                out.append((step, extract(step, task.kind).explicit and c.finish_reason == "stop"))
        return out

    async def score(self, task: Task, rec: Recorder, steps: list[str], call: int) -> float:
        if self.verifier == "judge":
            return await self.judge.score_steps(task, steps, rec, self.cot, self.delimiter)
        prefix = self._prefix(steps)
        request = self.cot.request(
            task,
            n=self.rollouts,
            temperature=self.temperature,
            seed=self.seed + 10_000 + call,
            max_tokens=self.rollout_tokens,
            prefix=prefix,
        )
        completions = await rec.generate(request, purpose="verify-rollout")
        answers = [
            extract(prefix + c.text, task.kind, truncated=c.finish_reason == "length").value
            for c in completions
        ]
        return soft_label(answers, task.answer or "", task.kind)

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        if self.verifier == "rollouts" and task.answer is None:
            raise ConfigError(f"item {task.id}: the rollouts verifier needs a gold answer")
        rec = Recorder(model, self.budget, sink)
        rec.require(PREFIX, self.name)
        rng = random.Random(f"{self.name}/{self.seed}/{task.id}")
        pieces: list[str] = []
        nodes: list[Node] = []
        counts = {"calls": 0, "rejected": 0, "backtracks": 0}

        async def dfs(steps: list[str]) -> list[str] | None:
            if len(steps) >= self.max_depth:
                return None
            counts["calls"] += 1
            for step, ends in await self.propose(task, rec, steps, counts["calls"]):
                if len(nodes) >= self.max_nodes:
                    return None
                counts["calls"] += 1
                s = await self.score(task, rec, [*steps, step], counts["calls"])
                accepted = s >= self.threshold
                nodes.append(Node(len(steps), step, s, accepted))
                pieces.append(step)
                if not accepted:
                    counts["rejected"] += 1
                    pieces.append(f"{rng.choice(REJECT)} {rng.choice(RETRY)}")
                    continue
                if ends:
                    return [*steps, step]
                found = await dfs([*steps, step])
                if found is not None:
                    return found
                if len(nodes) >= self.max_nodes:
                    return None
                counts["backtracks"] += 1
                pieces.append(f"{rng.choice(BACK)} {steps[-1]}" if steps else rng.choice(RESTART))
            return None

        path = await dfs([])
        trace = self.delimiter.join(pieces)
        answer = extract(path[-1], task.kind).value if path else None
        details = BacktrackDetails(
            trace=trace,
            visited=tuple((n.depth, n.step, n.score, n.accepted) for n in nodes),
            rejected=counts["rejected"],
            backtracks=counts["backtracks"],
            finished=path is not None,
        )
        return rec.result(task, self.name, answer, trace, details)


def build_search(
    name: str, verifier_model: Any = None, data_dir: Any = None, **options: Any
) -> BacktrackSearch:
    """`evaluate`'s builder for the search (it takes no verifier model and no data folder)."""
    return BacktrackSearch(**options)


SEARCH_OPTIONS = {
    "expand",
    "threshold",
    "max_depth",
    "max_nodes",
    "step_tokens",
    "temperature",
    "verifier",
    "rollouts",
    "rollout_tokens",
    "seed",
}


def trace_rows(
    results: Sequence[Result], run: Mapping[str, Any], with_mistakes_only: bool = False
) -> list[dict[str, Any]]:
    """Conversational SFT rows of the traces that reached the gold answer (only those with a
    rejected step, when `with_mistakes_only`). The user turn is the question with the zero-shot
    chain-of-thought trigger, as the search asked it."""
    rows = []
    for r in results:
        d = r.details
        if r.error is not None or not isinstance(d, BacktrackDetails) or r.correct is not True:
            continue
        if with_mistakes_only and d.rejected == 0:
            continue
        prompt = ChainOfThought(extract_call=False).request(r.task).messages[-1].content
        row = sft_row(prompt, d.trace, provenance_of(run, r.task.id))
        row["rejected_steps"], row["backtracks"] = d.rejected, d.backtracks
        rows.append(row)
    return rows
