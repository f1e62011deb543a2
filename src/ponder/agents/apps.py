"""The AutoGen paper's applications as `ponder agents run NAME` runs them: for each measured
comparison, the benchmark it runs on by default and the strategies compared on the same items;
games of conversational chess (`play_games`), and one retrieval-augmented question over a folder
of documents (`ask_documents`), each stored as a run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ponder.agents.chat import ChatResult
from ponder.agents.stored import stored_chat
from ponder.details import ChessDetails, RagDetails
from ponder.errors import ConfigError
from ponder.eval.session import Session
from ponder.trace import TraceSink


@dataclass(frozen=True)
class Application:
    """One application: its name, the default benchmark, the strategies it compares (a `ponder
    compare --strategies` list) and what it shows."""

    name: str
    task: str
    strategies: str
    about: str


APPLICATIONS = {
    a.name: a
    for a in (
        Application(
            "math",
            "gsm8k",
            "cot,self-consistency[k=4],agent-math",
            "an assistant and a code-running user proxy against chain-of-thought and self-consistency",
        ),
        Application(
            "rag",
            "ponder-rag",
            "cot,agent-rag",
            "retrieval-augmented chat with citations against the model alone",
        ),
        Application(
            "coding",
            "ponder-code",
            "agent-coding[reviewer=false],agent-coding",
            "a code writer alone against a writer with an executor and a safeguard reviewer",
        ),
        Application(
            "groupchat",
            "gsm8k",
            "cot,agent-team",
            "planner, solver and critic in a managed group chat against a single agent",
        ),
    )
}
NAMES = (*APPLICATIONS, "chess")
OPPONENTS = ("random", "model")


def application(name: str) -> Application:
    """The application called `name`; ConfigError naming the known ones when there is none."""
    found = APPLICATIONS.get(name)
    if found is None:
        raise ConfigError(f"unknown application {name!r}: expected one of {', '.join(NAMES)}")
    return found


async def play_games(
    session: Session,
    games: int,
    *,
    opponent: str = "random",
    max_plies: int = 40,
    attempts: int = 3,
    max_tokens: int = 32,
    temperature: float = 0.0,
    seed: int = 0,
) -> list[tuple[int, ChatResult, ChessDetails]]:
    """Play `games` games of the session's model as white against `opponent` ("random": a seeded
    random mover; "model": the same model as black), each stored as a run; game i uses seed + i."""
    if opponent not in OPPONENTS:
        raise ConfigError(f"unknown opponent {opponent!r}: expected one of {', '.join(OPPONENTS)}")
    if games < 1:
        raise ConfigError(f"games must be at least 1, got {games}")
    from ponder.agents.chess_game import model_player, random_mover, stored_game

    model = session.cached(session.model)
    played = []
    for i in range(games):
        game_seed = seed + i
        white = model_player(
            "white", model, "white", max_tokens=max_tokens, temperature=temperature, seed=game_seed
        )
        black = (
            random_mover("black", game_seed)
            if opponent == "random"
            else model_player(
                "black", model, "black", max_tokens=max_tokens, temperature=temperature, seed=game_seed
            )
        )
        config = {
            "opponent": opponent,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": game_seed,
        }
        played.append(
            await stored_game(
                session.store,
                white,
                black,
                model=model.model_id,
                config=config,
                max_plies=max_plies,
                attempts=attempts,
            )
        )
    return played


async def ask_documents(
    session: Session,
    question: str,
    folder: Path | None = None,
    *,
    embedder: str | None = None,
    passages: int = 3,
    max_turns: int = 3,
    max_tokens: int = 256,
) -> tuple[int, ChatResult, RagDetails]:
    """One retrieval-augmented conversation about `question` over the documents of `folder`
    (ponder's own corpus when None), stored as a run; its id, the conversation and its details."""
    from ponder.agents.rag import rag_chat, shipped_corpus
    from ponder.agents.retrieval import Corpus

    corpus = Corpus.from_folder(folder or shipped_corpus(), embedder or "local")
    model = session.cached(session.model)
    found: list[RagDetails] = []

    async def run(sink: TraceSink) -> ChatResult:
        chat, details = await rag_chat(
            question, model, corpus, passages=passages, max_turns=max_turns, max_tokens=max_tokens, sink=sink
        )
        found.append(details)
        return chat

    config = {
        "folder": str(folder or "ponder-rag"),
        "embedder": embedder or "local",
        "passages": passages,
        "max_turns": max_turns,
        "max_tokens": max_tokens,
    }
    run_id, chat = await stored_chat(
        session.store, "rag-chat", model.model_id, config, question, run, details=lambda _: found[-1]
    )
    return run_id, chat, found[-1]
