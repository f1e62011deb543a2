"""Conversational chess: moves read from replies, games ended by rule, two seeded random movers
playing a whole game to a PGN that reads back, a scripted model player rejected, counted and asked
again (and forfeiting), the game kept in the store with its ChessDetails, and the sample page
drawing each position as a data-URI image with every stored text escaped."""

from __future__ import annotations

import base64
import io
import re

import chess
import chess.pgn
import pytest
from fastapi.testclient import TestClient

from ponder.agents.chess_game import (
    board_svg,
    board_text,
    ending,
    fen_in,
    model_player,
    play_chess,
    random_mover,
    read_move,
    stored_game,
)
from ponder.details import ChessDetails
from ponder.errors import ConfigError
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.types import ModelCall, Utterance
from ponder.view.app import create_app

EVIL = "<script>alert(1)</script>"
START = chess.Board()


@pytest.mark.parametrize(
    ("text", "uci"),
    [
        ("e4", "e2e4"),
        ("1. e4", "e2e4"),
        ("1.e4!", "e2e4"),
        ("I will play Nf3+.", "g1f3"),
        ("`e2e4`", "e2e4"),
        ('"d4"', "d2d4"),
        ("**Nc3**", "b1c3"),
        ("nf3", "g1f3"),
        ("Move: e5, then e4", "e2e4"),  # e5 is not white's to play: the first legal word counts
    ],
)
def test_read_move_finds_the_first_legal_move_in_san_or_uci(text, uci):
    assert read_move(START, text) == chess.Move.from_uci(uci)


def test_read_move_reads_castling_and_mate_and_refuses_illegal_or_missing_moves():
    castle = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    assert read_move(castle, "O-O") == chess.Move.from_uci("e1g1")
    assert read_move(castle, "0-0-0.") == chess.Move.from_uci("e1c1")
    fools = chess.Board("rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2")
    assert read_move(fools, "2... Qh4#") == chess.Move.from_uci("d8h4")
    assert read_move(START, "e5") is None  # legal-looking, not legal here
    assert read_move(START, "Ke2") is None
    assert read_move(START, "I resign, good game") is None
    assert read_move(START, "--") is None and read_move(START, "") is None


def test_board_text_labels_the_board_and_lists_the_legal_moves():
    text = board_text(START)
    assert "8 r n b q k b n r 8" in text and "1 R N B Q K B N R 1" in text and "a b c d e f g h" in text
    assert "White to move." in text and fen_in(text) == START.fen()
    assert text.splitlines()[-1].startswith("Legal moves: Nh3, Nf3, Nc3, Na3,")
    assert len(text.splitlines()[-1].split(", ")) == 20
    assert "Legal moves" not in board_text(START, legal=False)


def test_ending_by_rule_and_by_the_ply_cap():
    board = chess.Board()
    for san in ("f3", "e5", "g4", "Qh4#"):
        board.push_san(san)
    assert ending(board, 4, 40) == ("0-1", "checkmate")
    assert ending(chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"), 10, 40) == ("1/2-1/2", "stalemate")
    assert ending(chess.Board("8/8/8/4k3/8/8/8/4K3 w - - 0 1"), 10, 40) == (
        "1/2-1/2",
        "insufficient material",
    )
    assert ending(chess.Board(), 40, 40) == ("*", "move limit")
    assert ending(chess.Board(), 39, 40) is None


async def test_two_random_movers_play_a_whole_game_to_a_pgn_that_reads_back():
    chat, details = await play_chess(random_mover("a", 11), random_mover("b", 111), max_plies=200)
    assert (details.result, details.termination) == ("1-0", "checkmate")
    assert chat.stopped_by == "checkmate" and details.illegal == (("a", 0), ("b", 0))
    game = chess.pgn.read_game(io.StringIO(details.pgn))
    assert game is not None and game.headers["Result"] == "1-0" and game.headers["White"] == "a"
    final = game.end().board()
    assert final.fen() == fen_in(chat.messages[-1].content) and final.is_checkmate()
    assert [game.board().san(m) for m in [next(iter(game.mainline_moves()))]] == [details.moves[0]]
    assert len(details.moves) == len(list(game.mainline_moves())) == 115
    assert [m.speaker for m in chat.messages[:4]] == ["board", "a", "board", "b"]
    assert details.messages == len(chat.messages) == 2 * 115 + 1
    again, same = await play_chess(random_mover("a", 11), random_mover("b", 111), max_plies=10)
    assert same.moves == details.moves[:10] and same.termination == "move limit" and same.result == "*"


async def test_an_illegal_move_is_rejected_counted_and_asked_again():
    model = ScriptedModel(
        [
            Step(["e5"], expect=lambda r: r.max_tokens == 16 and r.messages[-1].content.endswith("white:")),
            Step(
                ["1. e4"],
                expect=lambda r: [m.role for m in r.messages] == ["system", "user", "assistant", "user"],
            ),
            Step(["d4"], expect=lambda r: [m.role for m in r.messages] == ["system", "user"]),
        ]
    )
    white = model_player("model", model, "white", max_tokens=16)
    chat, details = await play_chess(white, random_mover("random", 0), max_plies=3)
    model.assert_done()
    said = [(m.speaker, m.content.splitlines()[0]) for m in chat.messages]
    assert said[:4] == [
        ("board", "A new game begins."),
        ("model", "e5"),
        ("board", '"e5" is not a legal move here; legal moves: Nh3, Nf3, Nc3, Na3, h3, g3, f3, e3, d3, '
         "c3, b3, a3, h4, g4, f4, e4, d4, c4, b4, a4."),
        ("model", "1. e4"),
    ]  # fmt: skip
    assert said[4] == ("board", "White played e4.")
    assert (
        details.moves[0] == "e4"
        and details.moves[2] == "d4"
        and details.illegal == (("model", 1), ("random", 0))
    )
    third = model.requests[2].messages[-1].content
    assert third.startswith(f"Black played {details.moves[1]}.") and "Your move as white:" in third
    assert "e5" not in [m.content for m in model.requests[2].messages]  # only the position, not the game
    costs = {c.agent: c for c in details.costs}
    assert costs["model"].calls == 3 and costs["board"].calls == costs["random"].calls == 0
    kinds = [type(e).__name__ for e in chat.events[:4]]
    assert kinds == ["Utterance", "ModelCall", "Utterance", "Utterance"]
    assert sum(isinstance(e, ModelCall) for e in chat.events) == 3
    asked = [(r.temperature, r.seed) for r in model.requests]
    assert asked == [(0.0, 0), (0.8, 1), (0.0, 0)]  # only the retry is sampled, its seed moved on
    assert (white.temperature, white.seed) == (0.0, 0)


async def test_a_player_forfeits_after_its_attempts_are_all_rejected():
    model = ScriptedModel([Step(["hello"]), Step(["Ke2"])])
    chat, details = await play_chess(model_player("model", model, "white"), random_mover(), attempts=2)
    model.assert_done()
    assert (details.result, details.termination, chat.stopped_by) == ("0-1", "illegal moves", "illegal moves")
    assert details.illegal == (("model", 2), ("random", 0)) and details.moves == ()
    assert chat.messages[-1].content.startswith('"Ke2" is not a legal move here. White forfeits after 2')
    assert chess.pgn.read_game(io.StringIO(details.pgn)).headers["Result"] == "0-1"


async def test_players_need_distinct_names():
    with pytest.raises(ConfigError, match="distinct names"):
        await play_chess(random_mover("x"), random_mover("x"))
    with pytest.raises(ConfigError, match="distinct names"):
        await play_chess(random_mover("board"), random_mover("x"))


def test_board_svg_draws_a_position_and_refuses_a_bad_fen():
    assert board_svg(START.fen()).startswith("<svg")
    with pytest.raises(ValueError):
        board_svg("not a position w - - 0 1")


async def test_a_stored_game_keeps_its_details_and_the_page_draws_each_position(tmp_path):
    path = tmp_path / "ponder.sqlite"
    model = ScriptedModel([Step([f"{EVIL} e4"]), Step([EVIL]), Step(["Nf3"])])
    with Store(path) as store:
        run_id, chat, details = await stored_game(
            store, model_player("model", model, "white"), random_mover(), model="scripted", max_plies=3
        )
        (result,) = store.results(run_id)
    model.assert_done()
    assert isinstance(result.details, ChessDetails) and result.details == details
    assert result.details.moves[0] == "e4" and result.details.illegal == (("model", 1), ("random", 0))
    assert [e.speaker for e in result.trace if isinstance(e, Utterance)][:3] == ["board", "model", "board"]

    html = TestClient(create_app(path)).get(f"/runs/{run_id}/samples/chat/{run_id}").text
    conversation = html[html.index('<div id="conversation">') :]
    images = re.findall(
        r'<img class="board"[^>]*src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', conversation
    )
    positions = [m.content for m in chat.messages if m.speaker == "board" and fen_in(m.content)]
    assert len(images) == len(positions) == 4  # the rejection shows no position
    assert base64.b64decode(images[-1]).decode().startswith("<svg")
    assert "<svg" not in html and "<script>alert" not in html and "&lt;script&gt;alert(1)" in conversation
    assert re.search(r"<td>model</td><td class=\"num\">1</td>", html[html.index('<table id="illegal">') :])
    assert "1. e4" in html[html.index('<pre id="pgn">') :]


@pytest.mark.live
async def test_the_embedded_model_plays_white_against_the_random_mover():
    from ponder.models import get_model

    white = model_player("model", get_model("local"), "white", max_tokens=16)
    chat, details = await play_chess(white, random_mover(), max_plies=4)
    illegal = dict(details.illegal)
    assert details.moves[::2] or illegal["model"] >= 1
    game = chess.pgn.read_game(io.StringIO(details.pgn))
    assert game is not None and len(list(game.mainline_moves())) == len(details.moves)
    assert all(c.request.max_tokens <= 16 for c in chat.events if isinstance(c, ModelCall))
