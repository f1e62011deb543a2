"""One result as the sample page shows it: its status, each model call of its trace in order
(messages sent, the earlier ones apart from the last, and each completion with the answer's last
occurrence marked), the other events, and its details."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ponder.store.codec import result_from_row
from ponder.types import CodeExecution, Completion, Message, ModelCall, Result, ToolCall, Utterance
from ponder.view.chess import BOARD, ChessView, board_image, chess_view
from ponder.view.details import DetailsView, as_text, details_view


@dataclass(frozen=True)
class Marked:
    """A text split around the last occurrence of an answer: `mark` is empty when it does not occur."""

    before: str
    mark: str = ""
    after: str = ""


@dataclass(frozen=True)
class CallView:
    number: int
    call: ModelCall
    earlier: tuple[Message, ...]
    last: Message | None
    outputs: list[tuple[Completion, Marked]]


@dataclass(frozen=True)
class Turn:
    """One step of a conversation as shown: a message (`speaker`, its colour, `text`), or the
    model call, tool call or code execution (`event`, trace position `number`) that led to it;
    `image`, a data URI of the position a chess board's message shows ("" for none)."""

    kind: str
    number: int
    speaker: str = ""
    colour: int = 0
    text: str = ""
    event: Any = None
    image: str = ""


@dataclass(frozen=True)
class SampleView:
    result: Result
    status: str
    calls: list[CallView]
    events: list[tuple[int, str, list[tuple[str, str]]]]
    details: DetailsView
    conversation: list[Turn]
    chess: ChessView | None = None


def status_of(result: Result) -> str:
    """errored, noanswer, correct, wrong or ungraded (as `store.browse` counts them)."""
    if result.error is not None:
        return "errored"
    if result.answer is None:
        return "noanswer"
    if result.correct is None:
        return "ungraded"
    return "correct" if result.correct else "wrong"


def status_row(row: dict[str, Any]) -> str:
    """The status of a row of `Browse.samples`."""
    if row["error"] is not None:
        return "errored"
    if row["answer"] is None:
        return "noanswer"
    if row["correct"] is None:
        return "ungraded"
    return "correct" if row["correct"] else "wrong"


def mark_last(text: str, answer: str | None) -> Marked:
    """`text` split around the last occurrence of `answer` (not split when it is absent or empty)."""
    at = text.rfind(answer) if answer else -1
    if answer is None or at < 0:
        return Marked(text)
    return Marked(text[:at], answer, text[at + len(answer) :])


def call_view(number: int, call: ModelCall, answer: str | None) -> CallView:
    """A model call with its messages split into the earlier ones and the last, its outputs marked."""
    messages = call.request.messages
    return CallView(
        number,
        call,
        messages[:-1],
        messages[-1] if messages else None,
        [(c, mark_last(c.text, answer)) for c in call.completions],
    )


def sample_view(row: dict[str, Any]) -> SampleView:
    """The view of one stored results row."""
    result = result_from_row(row)
    calls, events = [], []
    for i, event in enumerate(result.trace.events, start=1):
        if isinstance(event, ModelCall):
            calls.append(call_view(i, event, result.answer))
        elif not isinstance(event, Utterance):
            fields = [(k, as_text(v)) for k, v in dataclasses.asdict(event).items()]
            events.append((i, type(event).__name__, fields))
    conversation = conversation_of(result)
    return SampleView(
        result,
        status_of(result),
        calls,
        events,
        details_view(result.details),
        conversation,
        chess_view(result.details),
    )


COLOURS = 6


def conversation_of(result: Result) -> list[Turn]:
    """The trace as a conversation, when it holds messages between agents (else empty): each
    message with its speaker's colour (by first appearance), and each model call, tool call and
    execution in its place; in a chess game, each board message with the position it shows."""
    events = result.trace.events
    if not any(isinstance(e, Utterance) for e in events):
        return []
    chess = chess_view(result.details) is not None
    colours: dict[str, int] = {}
    turns = []
    for i, event in enumerate(events, start=1):
        if isinstance(event, Utterance):
            colour = colours.setdefault(event.speaker, len(colours) % COLOURS)
            image = board_image(event.content) if chess and event.speaker == BOARD else ""
            turns.append(Turn("message", i, event.speaker, colour, event.content, image=image))
        elif isinstance(event, ModelCall):
            text = event.completions[0].text if event.completions else ""
            turns.append(Turn("call", i, text=text, event=event))
        elif isinstance(event, ToolCall):
            turns.append(Turn("tool", i, event=event))
        elif isinstance(event, CodeExecution):
            turns.append(Turn("code", i, event=event))
    return turns
