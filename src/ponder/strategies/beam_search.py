"""Step-level beam search guided by a process verifier (as in Snell et al. 2024 and
Hugging Face's search-and-learn recipes).

A step is the text up to the step delimiter (a blank line by default). The first round samples
`width × expand` first steps; every later round samples `expand` next steps for each kept beam,
continuing it through the assistant prefix. Each new partial solution is scored by the process
verifier; a beam's score aggregates its steps' scores (last, min or product). The best `width`
candidates are kept, or the best `keep_fraction` of them when that is set. A beam is finished
when its latest step states an answer or the model has nothing more to say; the search ends when
no beam is active, `width` beams have finished, or `max_steps` rounds have run. All expansions of
a round are issued concurrently, then all scores of the round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ponder.details import BeamNode, BeamRound, BeamSearchDetails
from ponder.errors import ConfigError
from ponder.models import PREFIX, Model
from ponder.strategies.base import Budget, Recorder, TraceSink, gather_within_budget
from ponder.strategies.chain import ChainPrompt
from ponder.strategies.config import Configured
from ponder.strategies.cot import ChainOfThought
from ponder.strategies.verifiers import LLMStepJudge, ProcessVerifier
from ponder.strategies.voting import aggregate
from ponder.tasks.answers import extract
from ponder.types import Result, Task


@dataclass
class Beam:
    steps: list[str]
    scores: list[float] = field(default_factory=list)
    finished: bool = False
    parent: int | None = None  # the tree node this beam extends
    node: int | None = None  # its own node, once scored
    ends: bool = False  # the parent, ended as it was (the model had nothing more to say)

    def score(self, how: str) -> float:
        return aggregate(self.scores, how) if self.scores else 0.0

    def prefix(self, delimiter: str) -> str:
        return delimiter.join(self.steps) + delimiter if self.steps else ""


def grow(candidates: list[Beam], kept: list[Beam], depth: int, first: int, how: str) -> list[BeamNode]:
    """The tree nodes of a round's scored candidates, numbered from `first` (each candidate is
    given its node): the step each adds ("" for a parent ended as it was), its score, whether kept."""
    chosen = {id(b) for b in kept}
    nodes = []
    for i, b in enumerate(candidates):
        b.node = first + i
        step = "" if b.ends else b.steps[-1]
        nodes.append(BeamNode(b.parent, depth, step, b.score(how), id(b) in chosen, b.finished))
    return nodes


def select(candidates: list[Beam], how: str, width: int, keep_fraction: float | None) -> list[Beam]:
    """The best candidates by aggregated score (stable: earlier candidates first on ties)."""
    ranked = sorted(candidates, key=lambda b: -b.score(how))
    keep = max(1, math.ceil(len(ranked) * keep_fraction)) if keep_fraction else width
    return ranked[:keep]


@dataclass
class BeamSearch(Configured):
    prompt: ChainPrompt = field(default_factory=ChainOfThought)
    verifier: ProcessVerifier = field(default_factory=LLMStepJudge)
    width: int = 4
    expand: int = 4
    keep_fraction: float | None = None
    max_steps: int = 8
    step_tokens: int = 128
    delimiter: str = "\n\n"
    aggregation: str = "last"
    temperature: float = 0.7
    seed: int | None = 0
    budget: Budget = field(default_factory=Budget)
    name: str = "beam-search"

    def __post_init__(self) -> None:
        if self.aggregation not in ("last", "min", "product"):
            raise ConfigError(f"unknown aggregation {self.aggregation!r}: expected last, min or product")
        if self.keep_fraction is not None and not 0 < self.keep_fraction <= 1:
            raise ConfigError(f"keep_fraction must be in (0, 1], got {self.keep_fraction}")
        if min(self.width, self.expand, self.max_steps, self.step_tokens) < 1:
            raise ConfigError("width, expand, max_steps and step_tokens must be at least 1")
        if not self.delimiter:
            raise ConfigError("the step delimiter must not be empty")

    async def _expand(self, task: Task, beams: list[Beam], depth: int, rec: Recorder) -> list[Beam]:
        n = self.width * self.expand if depth == 0 else self.expand
        requests = [
            self.prompt.request(
                task,
                n=n,
                temperature=self.temperature,
                max_tokens=self.step_tokens,
                seed=None if self.seed is None else self.seed + 1000 * depth + n * b,
                prefix=beam.prefix(self.delimiter),
                stop=(self.delimiter,),
            )
            for b, beam in enumerate(beams)
        ]
        hold = self.prompt.answer_tokens()  # for the final answer-extraction call
        replies = await gather_within_budget(rec.generate(r, hold=hold) for r in requests)
        out, seen = [], set()
        for beam, completions in zip(beams, replies):
            for c in completions or ():
                step = c.text.strip()
                key = (tuple(beam.steps), step)
                if key in seen:
                    continue
                seen.add(key)
                if not step:  # nothing more to say: the parent is complete as it is
                    if beam.steps:
                        out.append(Beam(beam.steps, list(beam.scores), True, beam.node, ends=True))
                    continue
                done = extract(step, task.kind).explicit and c.finish_reason == "stop"
                out.append(Beam(beam.steps + [step], list(beam.scores), done, beam.node))
        return out

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = Recorder(model, self.budget, sink)
        rec.require(PREFIX, self.name)
        active, finished = [Beam([])], []
        rounds: list[BeamRound] = []
        tree: list[BeamNode] = []
        for depth in range(self.max_steps):
            candidates = await self._expand(task, active, depth, rec)
            fresh = [b for b in candidates if len(b.scores) < len(b.steps)]
            scores = await gather_within_budget(
                self.verifier.score_steps(task, b.steps, rec, self.prompt, self.delimiter) for b in fresh
            )
            for b, s in zip(fresh, scores):
                if s is not None:
                    b.scores.append(s)
            candidates = [b for b in candidates if len(b.scores) == len(b.steps)]
            if not candidates:  # the budget stopped this round: keep the beams we have
                break
            kept = select(candidates, self.aggregation, self.width, self.keep_fraction)
            tree += grow(candidates, kept, depth + 1, len(tree), self.aggregation)
            rounds.append(
                BeamRound(len(candidates), tuple(round(b.score(self.aggregation), 4) for b in kept))
            )
            finished += [b for b in kept if b.finished]
            active = [b for b in kept if not b.finished]
            if rec.exhausted or not active or len(finished) >= self.width:
                break
        pool = finished or active
        if not pool:
            return rec.result(
                task, self.name, None, "", BeamSearchDetails(tuple(rounds), False, tree=tuple(tree))
            )
        best = max(pool, key=lambda b: b.score(self.aggregation))  # max keeps the first on ties
        text = self.delimiter.join(best.steps)
        found = await self.prompt.answer(task, text, not best.finished, rec)
        return rec.result(
            task,
            self.name,
            found.value,
            text,
            BeamSearchDetails(
                tuple(rounds),
                best.finished,
                best.score(self.aggregation),
                tuple(best.scores),
                self.verifier.name,
                self.aggregation,
                tuple(tree),
                best.node,
            ),
        )
