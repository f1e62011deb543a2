"""Conversational chess (the AutoGen paper's application): two player agents and a board agent.

The board agent shows the player to move the position (`board_text`: the diagram, side to move,
FEN and the legal moves in SAN) and asks for a move; the player replies; the board reads the reply
(`read_move`) and plays it, or rejects it, counts it against the player and asks again. A player
whose `attempts` tries in a row are all rejected forfeits. The game ends by rule (`ending`:
checkmate, stalemate, insufficient material, the 75-move and fivefold rules, threefold and 50-move
claims), at `max_plies`, or when the shared budget is spent. Players see only the current position,
their last rejected reply and its rejection, never the whole game, so prompts stay short.

Every message is an `Utterance` in the chat's events, among the model calls that made it, and
each agent's cost is in the chat's costs, as for any conversation of `ponder.agents`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponder.agents.agent import Agent, ChatMessage
from ponder.agents.chat import ChatResult, Timeline, cost_of, speak
from ponder.agents.meter import ChatBudget, Meter
from ponder.agents.scored import chat_fields
from ponder.agents.stored import stored_chat
from ponder.details import ChessDetails
from ponder.errors import ConfigError
from ponder.models import Model
from ponder.store import Store
from ponder.strategies import Templates
from ponder.trace import TraceSink

try:
    import chess
    import chess.pgn
    import chess.svg
except ImportError as e:  # pragma: no cover - the extra is installed where the tests run
    raise ConfigError("conversational chess needs python-chess: pip install 'ponder[agents]'") from e

PROMPTS = Templates(Path(__file__).parent / "prompts")
BOARD = "board"
TERMINATIONS = {
    chess.Termination.CHECKMATE: "checkmate",
    chess.Termination.STALEMATE: "stalemate",
    chess.Termination.INSUFFICIENT_MATERIAL: "insufficient material",
    chess.Termination.SEVENTYFIVE_MOVES: "75-move rule",
    chess.Termination.FIVEFOLD_REPETITION: "fivefold repetition",
    chess.Termination.FIFTY_MOVES: "50-move rule",
    chess.Termination.THREEFOLD_REPETITION: "threefold repetition",
}
FEN_LINE = re.compile(r"^FEN: (\S+ [wb] \S+ \S+ \d+ \d+)\s*$", re.MULTILINE)
_SEPARATORS = re.compile(r"[\s,;]+")
_MOVE_NUMBER = re.compile(r"^\d+\.+")
_EDGES = "\"'`*_()[]{}<>.,;:!?"


def _tokens(text: str) -> Iterator[str]:
    """The words of a reply with quotes, emphasis, annotations and move numbers taken off."""
    for word in _SEPARATORS.split(text):
        token = _MOVE_NUMBER.sub("", word.strip(_EDGES)).strip(_EDGES)
        if token:
            yield token


def _legal(board: chess.Board, token: str) -> chess.Move | None:
    """The legal move `token` writes in SAN or UCI, or None."""
    spellings = [token]
    if token[0] in "nrqko" and len(token) > 1:
        spellings.append(token[0].upper() + token[1:])  # "nf3", "o-o"
    for spelling in spellings:
        for parse in (board.parse_san, lambda t: chess.Move.from_uci(t.lower())):
            try:
                move = parse(spelling)
            except ValueError:
                continue
            if move and move in board.legal_moves:
                return move
    return None


def read_move(board: chess.Board, text: str) -> chess.Move | None:
    """The first word of `text` that is a legal move on `board`, in SAN ("Nf3+", "O-O", "1. e4")
    or UCI ("e2e4"); None when no word is."""
    for token in _tokens(text):
        move = _legal(board, token)
        if move is not None:
            return move
    return None


def legal_sans(board: chess.Board) -> list[str]:
    return [board.san(m) for m in board.legal_moves]


def board_text(board: chess.Board, *, legal: bool = True) -> str:
    """The position as a player reads it: the diagram with rank and file labels (uppercase white),
    the side to move, the FEN and, unless `legal` is False, the legal moves in SAN."""
    files = "  a b c d e f g h"
    rows = [files]
    for rank in range(7, -1, -1):
        cells = []
        for file in range(8):
            piece = board.piece_at(chess.square(file, rank))
            cells.append(piece.symbol() if piece is not None else ".")
        rows.append(f"{rank + 1} {' '.join(cells)} {rank + 1}")
    rows.append(files)
    side = "White" if board.turn == chess.WHITE else "Black"
    lines = [
        *rows,
        "",
        "Uppercase pieces are white, lowercase black.",
        f"{side} to move.",
        f"FEN: {board.fen()}",
    ]
    if legal:
        lines.append(f"Legal moves: {', '.join(legal_sans(board))}")
    return "\n".join(lines)


def fen_in(text: str) -> str | None:
    """The FEN of the last position a message shows (its "FEN: …" line), or None."""
    found = FEN_LINE.findall(text)
    return found[-1] if found else None


def ending(board: chess.Board, plies: int, max_plies: int) -> tuple[str, str] | None:
    """(result, termination) when the game is over by rule or at the ply cap ("*", "move limit");
    None while it goes on."""
    outcome = board.outcome(claim_draw=True)
    if outcome is not None:
        return outcome.result(), TERMINATIONS.get(outcome.termination, outcome.termination.name.lower())
    if plies >= max_plies:
        return "*", "move limit"
    return None


def board_svg(fen: str) -> str:
    """The position of `fen` drawn as SVG (ValueError for a FEN that is not a position)."""
    return str(chess.svg.board(chess.Board(fen), size=280))


def colour_of(turn: bool) -> str:
    return "white" if turn == chess.WHITE else "black"


def random_mover(name: str = "random", seed: int = 0) -> Agent:
    """A player that replies with a random legal move (SAN, seeded) in the position the latest
    message with a FEN shows."""
    rng = random.Random(seed)

    def move(history: list[ChatMessage], agent: Agent) -> str | None:
        fen = next((f for m in reversed(history) if (f := fen_in(m.content)) is not None), None)
        if fen is None:
            return None
        return rng.choice(sorted(legal_sans(chess.Board(fen))))

    return Agent(name, "A player that makes random legal moves.", reply_function=move)


def model_player(
    name: str,
    model: Model,
    colour: str,
    *,
    max_tokens: int = 32,
    temperature: float = 0.0,
    seed: int | None = 0,
) -> Agent:
    """A player whose moves come from `model` (system message `chess_player.j2`)."""
    system = PROMPTS.render("chess_player.j2", colour=colour)
    return Agent(name, system, model=model, max_tokens=max_tokens, temperature=temperature, seed=seed)


def _shown(reply: str) -> str:
    """A rejected reply as the board quotes it: its first line, at most 40 characters."""
    line = reply.strip().splitlines()[0] if reply.strip() else ""
    return f'"{line[:40]}"'


@dataclass
class Referee:
    """The board agent's mind: the game so far, and the message it says next."""

    white: str
    black: str
    attempts: int
    max_plies: int
    board: chess.Board = field(default_factory=chess.Board)
    moves: list[str] = field(default_factory=list)
    illegal: dict[str, int] = field(default_factory=dict)
    tries: int = 0
    ended: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.illegal = {self.white: 0, self.black: 0}

    def player(self) -> str:
        return self.white if self.board.turn == chess.WHITE else self.black

    def opening(self) -> str:
        return PROMPTS.render("chess_turn.j2", last="", board=board_text(self.board), colour="white")

    def reply(self, history: list[ChatMessage], agent: Agent) -> str:
        """Play the move the player's reply (the last message) makes, or reject it; what the board
        says next (the new position, the rejection, or the end of the game)."""
        reply = history[-1].content
        move = read_move(self.board, reply)
        colour = colour_of(self.board.turn)
        if move is None:
            self.illegal[self.player()] += 1
            self.tries += 1
            if self.tries >= self.attempts:
                self.ended = ("0-1" if colour == "white" else "1-0", "illegal moves")
                return self._end(rejected=_shown(reply), colour=colour)
            legal = ", ".join(legal_sans(self.board))
            return PROMPTS.render("chess_illegal.j2", move=_shown(reply), legal=legal, colour=colour)
        self.tries = 0
        san = self.board.san(move)
        self.board.push(move)
        self.moves.append(san)
        self.ended = ending(self.board, len(self.moves), self.max_plies)
        if self.ended is not None:
            return self._end(last=san, last_colour=colour.capitalize())
        return PROMPTS.render(
            "chess_turn.j2",
            last=san,
            last_colour=colour.capitalize(),
            board=board_text(self.board),
            colour=colour_of(self.board.turn),
        )

    def _end(self, **values: Any) -> str:
        assert self.ended is not None
        result, termination = self.ended
        values = {"rejected": "", "last": "", "attempts": self.attempts, **values}
        return PROMPTS.render(
            "chess_end.j2",
            result=result,
            termination=termination,
            board=board_text(self.board, legal=False),
            **values,
        )

    def pgn(self, result: str, termination: str) -> str:
        game = chess.pgn.Game.from_board(self.board)
        game.headers["Event"] = "ponder conversational chess"
        game.headers["White"], game.headers["Black"] = self.white, self.black
        game.headers["Result"] = result
        game.headers["Termination"] = termination
        return str(game)


def _recent(history: list[ChatMessage], since: int) -> list[ChatMessage]:
    """What the player to move sees: the position message (at `since`), then its last rejected
    reply and the rejection, when there are any."""
    return [history[since], *history[max(since + 1, len(history) - 2) :]]


@contextmanager
def _retrying(player: Agent, tries: int, temperature: float) -> Iterator[None]:
    """While a player is asked again (`tries` > 0): at `temperature` at least, its seed moved on."""
    kept = player.temperature, player.seed
    if tries:
        player.temperature = max(player.temperature, temperature)
        player.seed = None if player.seed is None else player.seed + tries
    try:
        yield
    finally:
        player.temperature, player.seed = kept


def _never(message: ChatMessage) -> bool:
    return False


async def play_chess(
    white: Agent,
    black: Agent,
    *,
    max_plies: int = 40,
    attempts: int = 3,
    retry_temperature: float = 0.8,
    sink: TraceSink | None = None,
    budget: ChatBudget | None = None,
) -> tuple[ChatResult, ChessDetails]:
    """Play one game; the conversation and its details (result, termination, moves, PGN, each
    player's rejected moves). `stopped_by` is the termination, or why the chat stopped early
    (a spent budget, a player with no reply) with the result "*". A player asked again after a
    rejected move answers at `retry_temperature` at least (its seed moved on by the try), so a
    greedy player does not repeat the move it was refused."""
    if len({white.name, black.name, BOARD}) != 3:
        raise ConfigError(
            f"the players need two distinct names other than {BOARD!r}, got {white.name!r}, {black.name!r}"
        )
    if max_plies < 1 or attempts < 1:
        raise ConfigError(f"max_plies and attempts must be positive, got {max_plies} and {attempts}")
    referee = Referee(white.name, black.name, attempts, max_plies)
    board = Agent(
        BOARD, "The board: it shows the position and checks each move.", reply_function=referee.reply
    )
    timeline, meter = Timeline(sink), Meter(budget)
    agents = (board, white, black)
    for agent in agents:
        agent.start(timeline)
    history: list[ChatMessage] = []
    timeline.say(history, ChatMessage(BOARD, referee.opening()))
    since, stopped_by = 0, ""
    while referee.ended is None and not stopped_by:
        player = white if referee.board.turn == chess.WHITE else black
        seen = _recent(history, since)
        with _retrying(player, referee.tries, retry_temperature):
            stopped_by = await speak(player, seen, meter, _never, timeline)
        if stopped_by:
            break
        history.append(seen[-1])
        plies = len(referee.moves)
        stopped_by = await speak(board, history, meter, _never, timeline)
        if len(referee.moves) > plies:
            since = len(history) - 1
    result, termination = referee.ended or ("*", stopped_by)
    chat = ChatResult(tuple(history), termination, tuple(cost_of(a) for a in agents), tuple(timeline.events))
    details = ChessDetails(
        **chat_fields(chat),
        result=result,
        termination=termination,
        moves=tuple(referee.moves),
        pgn=referee.pgn(result, termination),
        illegal=tuple(referee.illegal.items()),
    )
    return chat, details


async def stored_game(
    store: Store,
    white: Agent,
    black: Agent,
    *,
    model: str,
    config: dict[str, Any] | None = None,
    label: str = "chess",
    max_plies: int = 40,
    attempts: int = 3,
    retry_temperature: float = 0.8,
    budget: ChatBudget | None = None,
) -> tuple[int, ChatResult, ChessDetails]:
    """Play one game as a run of the store (`stored_chat`, the ChessDetails as its result's
    details); the run's id, the conversation and its details."""
    played: list[ChessDetails] = []

    async def run(sink: TraceSink) -> ChatResult:
        chat, details = await play_chess(
            white,
            black,
            max_plies=max_plies,
            attempts=attempts,
            retry_temperature=retry_temperature,
            sink=sink,
            budget=budget,
        )
        played.append(details)
        return chat

    options = {
        "white": white.name,
        "black": black.name,
        "max_plies": max_plies,
        "attempts": attempts,
        "retry_temperature": retry_temperature,
    }
    run_id, chat = await stored_chat(
        store,
        label,
        model,
        {**options, **(config or {})},
        f"A game of chess: {white.name} (white) against {black.name} (black).",
        run,
        details=lambda _: played[-1],
    )
    return run_id, chat, played[-1]
