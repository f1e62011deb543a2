"""`agent-rag`: the RetrieveChat setting of Wu et al. 2023 (AutoGen) as a strategy.

A retrieving user proxy opens the conversation with the question and the `passages` passages of
the corpus most similar to it, each labelled with its id (`rag_open.j2`), and asks for a short
answer that cites the ids in square brackets and ends with "The answer is X.". When the assistant
replies UPDATE CONTEXT, or replies without stating an answer, the proxy sends the next `passages`
passages of the ranking (AutoGen's update-context, `rag_update.j2`); when none are left it has
nothing to say and the conversation ends. It also ends at a stated answer or TERMINATE, after
`max_turns` round trips, or at the token budget.

`rag_chat` runs that conversation for one question over any `Corpus` (the strategy uses it on
ponder's shipped corpus, `ponder/data/rag_corpus/docs`, unless `corpus` names another folder). The
result is read from the assistant's last message: its answer, and the passages it cites
(`RagDetails`: every passage given, in order, the cited ones, and whether one of them comes from
the gold answer's source document).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ponder.agents.agent import Agent, ChatMessage
from ponder.agents.chat import TERMINATE, ChatResult, initiate_chat
from ponder.agents.meter import ChatBudget
from ponder.agents.retrieval import Corpus, Passage, citations, doc_of
from ponder.agents.scored import chat_fields, scored_chat
from ponder.details import RagDetails
from ponder.errors import ConfigError
from ponder.models import Model
from ponder.strategies import Templates
from ponder.strategies.config import Configured
from ponder.tasks.answers import extract
from ponder.tasks.data import given_dir, shipped_dir
from ponder.trace import Budget, TraceSink
from ponder.types import Result, Task

PROMPTS = Templates(Path(__file__).parent / "prompts")
UPDATE_CONTEXT = "UPDATE CONTEXT"
ASSISTANT = "assistant"
PROXY = "retrieve_proxy"
CORPUS = "rag_corpus/docs"


def shipped_corpus() -> Path:
    """The folder of ponder's own documents (the ponder-rag benchmark's corpus)."""
    return shipped_dir() / CORPUS


def ends_chat(message: ChatMessage) -> bool:
    """Whether a message ends the conversation: the assistant's, saying TERMINATE, or stating an
    answer ("The answer is X.") without asking for more context."""
    if message.speaker != ASSISTANT:
        return False
    if TERMINATE in message.content:
        return True
    if UPDATE_CONTEXT in message.content.upper():
        return False
    return extract(message.content, "text").explicit


@dataclass
class Retriever:
    """The proxy's side: the ranked passages, handed out `per_turn` at a time, and those given."""

    question: str
    ranked: list[Passage]
    per_turn: int
    given: list[Passage] = field(default_factory=list)

    def next_passages(self) -> list[Passage]:
        batch = self.ranked[len(self.given) : len(self.given) + self.per_turn]
        self.given.extend(batch)
        return batch

    def opening(self) -> str:
        return PROMPTS.render("rag_open.j2", question=self.question, passages=self.next_passages())

    def reply(self, history: list[ChatMessage], agent: Agent) -> str | None:
        """The next passages (None when every ranked passage was given)."""
        batch = self.next_passages()
        if not batch:
            return None
        return PROMPTS.render("rag_update.j2", question=self.question, passages=batch)


async def rag_chat(
    question: str,
    model: Model,
    corpus: Corpus,
    *,
    passages: int = 3,
    max_turns: int = 3,
    max_tokens: int = 256,
    temperature: float = 0.0,
    seed: int | None = 0,
    sink: TraceSink | None = None,
    budget: ChatBudget | None = None,
    source: str | None = None,
) -> tuple[ChatResult, RagDetails]:
    """The conversation about `question` (see the module's docstring) and its details; `source`,
    the document the answer should come from, fills `cited_source` (None without it)."""
    if passages < 1 or max_turns < 1:
        raise ConfigError(f"rag_chat needs passages >= 1 and max_turns >= 1, got {passages} and {max_turns}")
    ranked = [p for p, _ in await corpus.search(question, passages * max_turns)]
    retriever = Retriever(question, ranked, passages)
    opening = retriever.opening()
    proxy = Agent(PROXY, "You retrieve passages for the assistant.", reply_function=retriever.reply)
    assistant = Agent(
        ASSISTANT,
        PROMPTS.render("rag_system.j2"),
        model=model,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    chat = await initiate_chat(
        proxy, assistant, opening, max_turns=max_turns, is_termination=ends_chat, budget=budget, sink=sink
    )
    cited = citations(last_said(chat, ASSISTANT))
    details = RagDetails(
        **chat_fields(chat),
        retrieved=tuple(p.id for p in retriever.given),
        cited=cited,
        source=source,
        cited_source=None if source is None else any(doc_of(c) == source for c in cited),
    )
    return chat, details


def last_said(chat: ChatResult, speaker: str) -> str:
    """The speaker's last message in the conversation ("" when it said nothing)."""
    said = [m.content for m in chat.messages if m.speaker == speaker]
    return said[-1] if said else ""


@dataclass
class AgentRag(Configured):
    """The strategy; `corpus`: a folder of `.md`/`.txt` documents (None: `rag_corpus/docs` of the
    data folder `data_dir` where it has one, else ponder's shipped corpus), read and embedded once
    per strategy with the `embedder` spec."""

    passages: int = 3
    max_turns: int = 3
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0
    embedder: str = "local"
    corpus: str | None = None
    data_dir: Path | str | None = None
    budget: Budget = field(default_factory=Budget)
    name: str = "agent-rag"

    def __post_init__(self) -> None:
        if self.passages < 1 or self.max_turns < 1:
            raise ConfigError(
                f"agent-rag needs passages >= 1 and max_turns >= 1, got {self.passages} and {self.max_turns}"
            )
        self._loaded: Corpus | None = None

    def templates(self) -> dict[str, str]:
        return PROMPTS.hashes("rag_system.j2", "rag_open.j2", "rag_update.j2")

    def folder(self) -> Path:
        """The folder of documents this strategy searches."""
        if self.corpus is not None:
            return Path(self.corpus)
        given = given_dir(self.data_dir)
        if given is not None and (given / CORPUS).is_dir():
            return given / CORPUS
        return shipped_corpus()

    def load_corpus(self) -> Corpus:
        """The corpus, read on the first call and kept."""
        if self._loaded is None:
            self._loaded = Corpus.from_folder(self.folder(), self.embedder)
        return self._loaded

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        start = time.perf_counter()
        source = task.meta.get("source")
        chat, details = await rag_chat(
            task.question,
            model,
            self.load_corpus(),
            passages=self.passages,
            max_turns=self.max_turns,
            max_tokens=min(self.max_tokens, self.budget.per_call or self.max_tokens),
            temperature=self.temperature,
            seed=self.seed,
            sink=sink,
            budget=ChatBudget(tokens=self.budget.per_task),
            source=source if isinstance(source, str) else None,
        )
        said = last_said(chat, ASSISTANT)
        answer = extract(said, task.kind).value if said else None
        return scored_chat(task, self.name, chat, answer, time.perf_counter() - start, details=details)
