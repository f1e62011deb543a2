"""Dialogue (Park et al. 2023, section 5.1): an agent that meets another decides whether to talk,
from what it remembers of the other; each utterance is conditioned on the memories retrieved about
the listener and the conversation so far; the conversation ends when either says so, or at a
number of turns.

Every utterance is stored as an "utterance" memory of both agents (the speaker's "A said to B: …",
the listener's "A said: …") and recorded in the speaker's trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ponder.errors import ConfigError
from ponder.town.cognition import BOOLEAN, PROMPTS, ask, obj, recorder_for, statements, text
from ponder.town.contracts import Memories, Persona
from ponder.town.schedule import clock
from ponder.trace import Generator, Recorder
from ponder.types import Utterance as Said

MAX_TURNS = 8
RECALL = 5  # memories retrieved about the other
ON_MIND = 3  # memories retrieved for the speaker's plans today, from what it saw, planned and thought
ON_MIND_KINDS = frozenset({"observation", "plan", "reflection"})
WANT_TOKENS = 160  # a 300-character reason and the answer
SAY_TOKENS = 320  # a 300-character thought, a 300-character utterance and the flag
WANT_SCHEMA = obj(reason=text(300), talk=BOOLEAN)  # a reason first, as the paper's prompt reasons first
SAY_SCHEMA = obj(thought=text(300), utterance=text(300), end=BOOLEAN)  # a thought first, then the words


@dataclass(frozen=True)
class Utterance:
    """What a speaker says, and whether it ends the conversation."""

    text: str
    ends: bool


@dataclass
class Talker:
    """One side of a conversation: who it is, its memories, the model it thinks with, the
    recorder its calls go through (when none is given, a fresh one over the model for each
    conversation), and what it was doing when the conversation began."""

    persona: Persona
    memories: Memories
    model: Generator
    recorder: Recorder | None = None
    doing: str = ""


async def wants_to_talk(
    model: Generator,
    persona: Persona,
    other: str,
    memories: Memories,
    now: datetime,
    *,
    context: str = "",
    doing: str = "",
    recorder: Recorder | None = None,
) -> bool:
    """Whether the agent, `doing` something, starts a conversation with `other` at `now` (seen in
    `context`, e.g. what the other is doing), judged with the memories retrieved about the other;
    the model gives a one-sentence reason before its answer."""
    found = statements(await memories.retrieve(f"{other} {context}".strip(), now, k=RECALL))
    prompt = PROMPTS.render(
        "talk_want.j2",
        summary=persona.summary(),
        name=persona.name,
        other=other,
        now=f"{now:%A} {clock(now)}",
        context=context,
        doing=doing,
        relationship=persona.relationships.get(other, ""),
        memories=found,
    )
    reply = await ask(
        recorder_for(model, recorder),
        model,
        prompt,
        WANT_SCHEMA,
        name="wants_to_talk",
        purpose="town-talk-decide",
        max_tokens=WANT_TOKENS,
    )
    return bool(reply["talk"])


async def say(
    model: Generator,
    speaker_persona: Persona,
    listener: str,
    memories: Memories,
    history: Sequence[tuple[str, str]],
    now: datetime,
    *,
    doing: str = "",
    recorder: Recorder | None = None,
) -> Utterance:
    """What the speaker, `doing` something when they met, says next to `listener`, given the
    conversation so far (`history`, pairs of speaker and text), what is on the speaker's mind (the
    memories retrieved for its plans today, among what it saw, planned and thought: not what was
    said) and its memories retrieved about the listener and the
    last thing said."""
    name = speaker_persona.name
    on_mind = statements(
        await memories.retrieve(f"{name}'s plans for today", now, k=ON_MIND, kinds=ON_MIND_KINDS)
    )
    query = f"{listener} {history[-1][1]}" if history else listener
    found = [m for m in statements(await memories.retrieve(query, now, k=RECALL)) if m not in on_mind]
    prompt = PROMPTS.render(
        "talk_say.j2",
        summary=speaker_persona.summary(),
        name=name,
        other=listener,
        now=f"{now:%A} {clock(now)}",
        doing=doing,
        relationship=speaker_persona.relationships.get(listener, ""),
        on_mind=on_mind,
        memories=found,
        history=list(history),
    )
    reply = await ask(
        recorder_for(model, recorder),
        model,
        prompt,
        SAY_SCHEMA,
        name="utterance",
        purpose="town-talk-say",
        max_tokens=SAY_TOKENS,
    )
    return Utterance(spoken(reply["utterance"], (name, listener)), bool(reply["end"]))


def spoken(text: str, names: Sequence[str]) -> str:
    """The words of an utterance without the speaker labels of the transcript that a small model
    copies in front of them ("Kofi Okafor: Rosa Delgado: Can you …" is "Can you …"); a line that
    is nothing but labels is kept as it is."""
    out = text.strip()
    while label := next((n for n in names if out.startswith(f"{n}:")), None):
        out = out[len(label) + 1 :].lstrip()
    return out or text.strip()


async def converse(
    a: Talker, b: Talker, now: datetime, *, max_turns: int = MAX_TURNS
) -> list[tuple[str, str]]:
    """A conversation that `a` opens with `b` at `now`, the two taking turns, until one ends it
    or `max_turns` utterances are said; the (speaker, text) pairs in order."""
    if max_turns < 1:
        raise ConfigError(f"a conversation needs at least one turn, got max_turns={max_turns}")
    if a.persona.name == b.persona.name:
        raise ConfigError(f"{a.persona.name} cannot converse with itself")
    recorders = {t.persona.name: recorder_for(t.model, t.recorder) for t in (a, b)}
    history: list[tuple[str, str]] = []
    speaker, listener = a, b
    while len(history) < max_turns:
        name, other = speaker.persona.name, listener.persona.name
        said = await say(
            speaker.model,
            speaker.persona,
            other,
            speaker.memories,
            history,
            now,
            doing=speaker.doing,
            recorder=recorders[name],
        )
        history.append((name, said.text))
        recorders[name].record(Said(name, said.text))
        await speaker.memories.add(f"{name} said to {other}: {said.text}", "utterance", now)
        await listener.memories.add(f"{name} said: {said.text}", "utterance", now)
        if said.ends:
            break
        speaker, listener = listener, speaker
    return history
