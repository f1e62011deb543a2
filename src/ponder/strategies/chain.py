"""One way of asking for an answer (a prompt), usable alone or inside a sampling strategy.

A `ChainPrompt` builds the request for a task and extracts the answer from a completion. Used
alone it is a strategy: one greedy call, answer extracted. Sampling strategies
(self-consistency, weighted vote, best-of-n, adaptive consistency, beam search) take one as the
way they ask, which is how they compose with chain-of-thought or chain-of-draft.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ponder.details import ChainDetails, ConversationDetails
from ponder.models import Model
from ponder.strategies import PROMPTS, render
from ponder.strategies.base import Budget, BudgetExhausted, Recorder, TraceSink
from ponder.strategies.config import Configured, exemplars_sha256
from ponder.tasks.answers import Extracted, extract, extract_async
from ponder.tasks.exemplars import Exemplar, load_exemplars
from ponder.types import GenerationRequest, Message, Result, Task


@dataclass
class ChainPrompt(Configured):
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0
    budget: Budget = field(default_factory=Budget)
    exemplars: str | None = None
    data_dir: Path | str | None = None
    name: str = "chain"
    rewrite_shots: Callable[[Exemplar], Exemplar] | None = None  # e.g. the faithfulness probes' variants

    def __post_init__(self) -> None:
        self._shots: tuple[Exemplar, ...] | None = None

    def shots(self) -> tuple[Exemplar, ...]:
        if self.exemplars in (None, "none"):
            return ()
        if self._shots is None:
            shots = load_exemplars(self.exemplars, self.data_dir)
            self._shots = tuple(map(self.rewrite_shots, shots)) if self.rewrite_shots else shots
        return self._shots

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "exemplars_sha256": exemplars_sha256(self.shots())}

    # What subclasses define.
    def system(self) -> str | None:
        return None

    def user(self, task: Task) -> str:
        return task.question

    def shot_reply(self, shot: Exemplar, task: Task) -> str:
        return shot.target

    def messages(self, task: Task) -> tuple[Message, ...]:
        """The method's system prompt, its exemplars, then the question. A task asked inside a
        conversation (`meta["context"]`: the turns before the question, as Messages or their
        dicts, as `ponder serve` is sent them) keeps it: its system turns go first in the system prompt, its other turns between
        the exemplars and the question."""
        context = tuple(
            m if isinstance(m, Message) else Message(m["role"], m["content"])
            for m in task.meta.get("context") or ()
        )
        systems = [m.content for m in context if m.role == "system"]
        if s := self.system():
            systems.append(s)
        msgs = [Message("system", "\n\n".join(systems))] if systems else []
        for shot in self.shots():
            msgs += [Message("user", shot.question), Message("assistant", self.shot_reply(shot, task))]
        msgs += [m for m in context if m.role != "system"]
        return tuple(msgs + [Message("user", self.user(task))])

    def request(
        self,
        task: Task,
        n: int = 1,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        logprobs: bool = False,
        top_logprobs: int = 0,
        prefix: str = "",
        stop: tuple[str, ...] = (),
    ) -> GenerationRequest:
        return GenerationRequest(
            messages=self.messages(task),
            n=n,
            temperature=self.temperature if temperature is None else temperature,
            seed=self.seed if seed is None else seed,
            max_tokens=max_tokens or self.max_tokens,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            assistant_prefix=prefix,
            stop=stop,
        )

    async def answer(self, task: Task, text: str, truncated: bool, rec: Recorder) -> Extracted:
        """The answer a chain gives; may make calls (through `rec`) where the method says so. A
        long text is read in a worker thread, so other items in flight are not held up."""
        return await extract_async(text, task.kind, truncated=truncated)

    def answer_tokens(self) -> int:
        """Most tokens `answer` may generate per chain (held back from a task budget for it)."""
        return 0

    def with_name(self, name: str) -> ChainPrompt:
        return replace(self, name=name)

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        rec = Recorder(model, self.budget, sink)
        try:
            [c] = await rec.generate(self.request(task), hold=self.answer_tokens())
        except BudgetExhausted:
            return rec.result(task, self.name, None, "", ChainDetails())
        truncated = c.finish_reason == "length"
        found = await self.answer(task, c.text, truncated, rec)
        return rec.result(task, self.name, found.value, c.text, ChainDetails(truncated, found.explicit))


def exemplar_answer(shot: Exemplar, kind: str) -> str | None:
    return shot.answer if shot.answer is not None else extract(shot.target, kind).value


@dataclass
class Direct(ChainPrompt):
    """Standard prompting: the answer only. With exemplars, they show answers without reasoning.
    An open-ended question (kind "open") is asked as it is, and all its turns in one conversation."""

    max_tokens: int = 32
    name: str = "direct"

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("direct_exemplar.j2" if self.shots() else "direct.j2")

    def user(self, task: Task) -> str:
        if self.shots() or task.kind == "open":
            return task.question
        return render("direct.j2", question=task.question)

    def shot_reply(self, shot: Exemplar, task: Task) -> str:
        return render("direct_exemplar.j2", answer=exemplar_answer(shot, task.kind))

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        """An open-ended item with several turns (MT-Bench) is one conversation: each turn asked
        after the model's reply to the previous one; the replies are the details' `turns`."""
        turns = task.meta.get("turns") or []
        if task.kind != "open" or len(turns) < 2 or self.shots():
            return await super().run(task, model, sink)
        rec = Recorder(model, self.budget, sink)
        messages = list(self.messages(task))
        replies: list[str] = []
        for turn in turns:
            if replies:
                messages += [Message("assistant", replies[-1]), Message("user", turn)]
            try:
                [c] = await rec.generate(
                    GenerationRequest(
                        messages=tuple(messages),
                        max_tokens=self.max_tokens,
                        temperature=self.temperature,
                        seed=self.seed,
                    )
                )
            except BudgetExhausted:
                break
            replies.append(c.text)
        first = replies[0] if replies else ""
        return rec.result(task, self.name, first.strip() or None, first, ConversationDetails(tuple(replies)))
