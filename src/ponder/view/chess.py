"""What the sample page shows of a chess game (`ChessDetails`): each position the board agent
showed as an SVG image (a data URI drawn by python-chess from the message's FEN, so no stored
text is ever inserted as markup), the result, the PGN and each player's rejected moves."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ponder.details import ChessDetails
from ponder.errors import ConfigError
from ponder.types import Details

BOARD = "board"


@dataclass(frozen=True)
class ChessView:
    result: str
    termination: str
    plies: int
    pgn: str
    illegal: tuple[tuple[str, int], ...]


def chess_view(details: Details) -> ChessView | None:
    """The game of chess details describe, or None for other details."""
    if not isinstance(details, ChessDetails):
        return None
    return ChessView(details.result, details.termination, len(details.moves), details.pgn, details.illegal)


def board_image(text: str) -> str:
    """The position a board message shows (its FEN line) as a `data:image/svg+xml;base64` URI;
    "" when it shows none, its FEN is not a position, or python-chess is not installed."""
    try:
        from ponder.agents.chess_game import board_svg, fen_in
    except ConfigError:
        return ""
    fen = fen_in(text)
    if fen is None:
        return ""
    try:
        svg = board_svg(fen)
    except ValueError:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
