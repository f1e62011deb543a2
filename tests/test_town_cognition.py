"""The town's cognition: reflection, planning and reacting, dialogue, on a scripted model and an
in-test memory stream (word-overlap retrieval, importance given)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from ponder.errors import ConfigError, ReplyFormatError
from ponder.models.scripted import ScriptedModel, Step
from ponder.town.cognition import read_json
from ponder.town.contracts import MemoryRecord, Persona, Scored
from ponder.town.converse import Talker, converse, say, spoken, wants_to_talk
from ponder.town.converse import Utterance as Said
from ponder.town.plan import Reaction, decompose, plan_day, replan, should_react
from ponder.town.reflect import reflect, should_reflect
from ponder.town.schedule import PlanItem, action_at, fit_durations
from ponder.trace import Budget, Recorder
from ponder.types import GenerationRequest, Utterance

NOW = datetime(2026, 2, 13, 14, 0)
KLAUS = Persona(
    "Klaus", 20, "kind, curious", ("Klaus studies sociology.",), "wakes at 7, sleeps at 22", "dorm"
)
MARIA = Persona(
    "Maria", 21, "friendly", ("Maria studies physics.",), "wakes at 8", "dorm", {"Klaus": "a good friend"}
)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


class FakeMemories:
    """A memory stream for tests: a list of records; retrieval ranks by the words shared with the
    query (newer first on ties) and keeps only records sharing some; importance given (5 if not)."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.records: list[MemoryRecord] = []
        self.since = 0
        self.marks = 0

    async def add(
        self,
        text: str,
        kind: str,
        now: datetime,
        *,
        importance: int | None = None,
        evidence: Sequence[int] = (),
    ) -> MemoryRecord:
        record = MemoryRecord(
            len(self.records) + 1, self.agent, kind, text, now, now, importance or 5, tuple(evidence)
        )
        self.records.append(record)
        self.since += record.importance
        return record

    async def retrieve(
        self, query: str, now: datetime, k: int = 10, kinds: frozenset[str] | None = None
    ) -> list[Scored]:
        shared = [
            (len(words(query) & words(r.text)), r) for r in self.records if kinds is None or r.kind in kinds
        ]
        ranked = sorted((p for p in shared if p[0]), key=lambda p: (-p[0], -p[1].id))[:k]
        out = []
        for overlap, record in ranked:
            self.records[record.id - 1] = replace(record, last_accessed=now)
            out.append(Scored(self.records[record.id - 1], 0.0, 0.0, float(overlap), float(overlap)))
        return out

    def latest(self, n: int) -> list[MemoryRecord]:
        return self.records[-n:] if n > 0 else []

    def importance_since_reflection(self) -> int:
        return self.since

    def mark_reflected(self) -> None:
        self.since = 0
        self.marks += 1

    def of(self, kind: str) -> list[MemoryRecord]:
        return [r for r in self.records if r.kind == kind]


def run(coro):
    return asyncio.run(coro)


def held(name: str, *texts: str):
    """An expectation: the request holds the reply to the format `name` and its prompt has `texts`."""

    def check(request: GenerationRequest) -> bool:
        fmt = request.response_format
        prompt = request.messages[-1].content
        return fmt is not None and fmt.name == name and all(t in prompt for t in texts)

    return check


def reply(value: object, name: str, *texts: str) -> Step:
    return Step([json.dumps(value)], expect=held(name, *texts))


def stream(*texts: str, importance: int = 5) -> FakeMemories:
    memories = FakeMemories("Klaus")
    for t in texts:
        run(memories.add(t, "observation", NOW - timedelta(hours=1), importance=importance))
    return memories


# reflection


def test_reflection_triggers_when_summed_importance_reaches_the_threshold():
    memories = stream(*["Klaus saw a bird"] * 14, importance=10)
    run(memories.add("Klaus ate lunch", "observation", NOW, importance=9))
    assert memories.importance_since_reflection() == 149
    assert not should_reflect(memories)
    run(memories.add("Klaus drank tea", "observation", NOW, importance=1))
    assert should_reflect(memories)
    assert should_reflect(memories, threshold=150) and not should_reflect(memories, threshold=151)
    memories.mark_reflected()
    assert not should_reflect(memories)


FACTS = (
    "Klaus is reading a book on gentrification",
    "Klaus is writing a research paper on gentrification",
    "Maria is studying physics at the library",
    "Maria plays chess with Klaus at the cafe",
    "the stove in the kitchen is cooking",
)


def test_reflect_stores_insights_with_evidence_among_the_retrieved_and_marks_the_reflection():
    memories = stream(*FACTS)
    questions = ["Why gentrification?", "Who Maria?", "Why stove cooking?"]
    model = ScriptedModel(
        [
            reply({"questions": questions}, "questions", *FACTS),
            reply(
                {
                    "insights": [
                        {
                            "insight": "Klaus is dedicated to gentrification research",
                            "evidence": [1, 2, 5, 99],
                        },
                        {"insight": "Klaus likes physics", "evidence": [3]},  # 3 was not retrieved
                    ]
                },
                "insights",
                "[1] Klaus is reading",
                "[2] Klaus is writing",
                "Question: Why gentrification?",
            ),
            reply(
                {"insights": [{"insight": "Maria is Klaus's friend", "evidence": [4, 4, 3]}]},
                "insights",
                "[3]",
            ),
            reply(
                {
                    "insights": [
                        {"insight": "nothing rests on this", "evidence": []},
                        {"insight": "dinner is near", "evidence": [5]},
                    ]
                },
                "insights",
                "[5] the stove",
            ),
        ]
    )
    recorder = Recorder(model)
    stored = run(reflect(memories, model, KLAUS, NOW, recorder=recorder))
    model.assert_done()
    assert [(r.kind, r.text, r.evidence) for r in stored] == [
        ("reflection", "Klaus is dedicated to gentrification research", (1, 2)),
        ("reflection", "Maria is Klaus's friend", (4, 3)),
        ("reflection", "dinner is near", (5,)),
    ]
    assert memories.of("reflection") == stored
    assert memories.marks == 1 and memories.importance_since_reflection() == 0
    assert [c.purpose for c in recorder.calls] == ["town-reflect-questions"] + ["town-reflect-insights"] * 3


def test_a_reflection_can_cite_a_reflection():
    memories = stream(*FACTS)
    first = ScriptedModel(
        [
            reply(
                {"questions": ["gentrification?", "gentrification book?", "gentrification paper?"]},
                "questions",
            ),
            reply(
                {"insights": [{"insight": "Klaus cares about gentrification", "evidence": [1, 2]}]},
                "insights",
            ),
            reply({"insights": [{"insight": "x", "evidence": [77]}]}, "insights"),
            reply({"insights": [{"insight": "y", "evidence": [3]}]}, "insights"),
        ]
    )
    [base] = run(reflect(memories, first, KLAUS, NOW))
    second = ScriptedModel(
        [
            reply({"questions": ["Klaus cares?", "stove?", "chess?"]}, "questions", base.text),
            reply(
                {"insights": [{"insight": "gentrification gives Klaus purpose", "evidence": [base.id]}]},
                "insights",
                f"[{base.id}] Klaus cares about gentrification",
            ),
            reply({"insights": [{"insight": "z", "evidence": [base.id]}]}, "insights"),  # not retrieved here
            reply({"insights": [{"insight": "Klaus plays chess", "evidence": [4]}]}, "insights"),
        ]
    )
    later = run(reflect(memories, second, KLAUS, NOW + timedelta(hours=3)))
    second.assert_done()
    tree = {r.id: r for r in memories.records}
    assert [(r.text, r.evidence) for r in later] == [
        ("gentrification gives Klaus purpose", (base.id,)),
        ("Klaus plays chess", (4,)),
    ]
    assert tree[later[0].evidence[0]].kind == "reflection" and tree[base.id].evidence == (1, 2)
    assert memories.marks == 2


def test_reflect_without_memories_makes_no_call():
    assert run(reflect(FakeMemories("Klaus"), ScriptedModel([]), KLAUS, NOW)) == []


# planning


DAY: dict[str, Any] = {
    "wake": "07:00",
    "sleep": "22:00",
    "chunks": [
        {"at": "07:00", "action": "wake up and have breakfast", "where": "dorm kitchen"},
        {"at": "08:00", "action": "attend classes", "where": "college"},
        {"at": "12:00", "action": "have lunch", "where": "cafe"},
        {"at": "13:00", "action": "work on the research paper", "where": "library"},
        {"at": "17:00", "action": "dinner and rest", "where": "dorm"},
    ],
}


def test_plan_day_reads_a_structured_plan_and_stores_it():
    memories = stream("Klaus did his plans for the research paper yesterday")
    model = ScriptedModel([reply(DAY, "day_plan", "Friday 13 February 2026", "research paper yesterday")])
    plan = run(plan_day(model, KLAUS, memories, datetime(2026, 2, 13)))
    model.assert_done()
    assert [(p.start.strftime("%H:%M"), p.minutes, p.action) for p in plan] == [
        ("07:00", 60, "wake up and have breakfast"),
        ("08:00", 240, "attend classes"),
        ("12:00", 60, "have lunch"),
        ("13:00", 240, "work on the research paper"),
        ("17:00", 300, "dinner and rest"),
    ]
    assert plan[-1].end == datetime(2026, 2, 13, 22, 0)
    [note] = memories.of("plan")
    assert note.text.startswith(
        "Klaus's plan for Friday 13 February: 07:00 wake up and have breakfast (dorm kitchen);"
    )


def test_plan_day_runs_each_chunk_until_the_next_and_the_last_until_a_sleep_past_midnight():
    chunks = [
        ("06:30", "wake up"),  # before waking: from waking
        ("08:00", "classes"),
        ("00:30", "brush teeth"),  # past midnight, given out of order
        ("12:00", "lunch"),
        ("12:00", "call home"),  # the same time as lunch: the two share the span to 23:30
        ("23:30", "read"),
    ]
    day = dict(DAY, sleep="01:00", chunks=[{"at": at, "action": a, "where": "dorm"} for at, a in chunks])
    model = ScriptedModel([reply(day, "day_plan")])
    plan = run(plan_day(model, KLAUS, FakeMemories("Klaus"), datetime(2026, 2, 13)))
    assert [(p.start.strftime("%H:%M"), p.minutes, p.action) for p in plan] == [
        ("07:00", 60, "wake up"),
        ("08:00", 240, "classes"),
        ("12:00", 345, "lunch"),
        ("17:45", 345, "call home"),
        ("23:30", 60, "read"),
        ("00:30", 30, "brush teeth"),
    ]
    assert all(a.end == b.start for a, b in zip(plan, plan[1:]))
    assert plan[-1].end == datetime(2026, 2, 14, 1, 0)


@pytest.mark.parametrize(
    "text",
    [
        "Klaus wakes at seven and goes to class.",
        json.dumps(dict(DAY, chunks=DAY["chunks"][:3])),  # fewer than 5 chunks
        json.dumps(dict(DAY, wake="7am")),
    ],
)
def test_a_malformed_plan_raises_a_clear_error(text):
    model = ScriptedModel([Step([text])])
    with pytest.raises(ReplyFormatError, match=r"town-plan-day: expected a JSON day_plan matching"):
        run(plan_day(model, KLAUS, FakeMemories("Klaus"), datetime(2026, 2, 13)))


@pytest.mark.parametrize(
    ("minutes", "total", "fitted"),
    [
        ([15, 15, 15, 15], 60, [15, 15, 15, 15]),
        ([10, 10, 10], 60, [20, 20, 20]),
        ([10, 20], 60, [20, 40]),
        ([7, 7, 7], 20, [7, 7, 6]),
        ([1, 1000], 60, [1, 59]),
        ([0, 0], 5, [3, 2]),
        ([-5, 10], 30, [1, 29]),
        ([5, 5, 5], 2, [1, 1, 0]),
    ],
)
def test_fit_durations(minutes, total, fitted):
    assert fit_durations(minutes, total) == fitted
    assert sum(fitted) == total


def test_fit_durations_refuses_nothing_to_fit():
    with pytest.raises(ConfigError, match="no durations"):
        fit_durations([], 60)


def test_action_at():
    plan = [
        PlanItem(datetime(2026, 2, 13, 7), 60, "breakfast", "home"),
        PlanItem(datetime(2026, 2, 13, 8), 30, "walk", "park"),
    ]
    assert action_at(plan, datetime(2026, 2, 13, 6, 59)) is None
    assert action_at(plan, datetime(2026, 2, 13, 7)) == plan[0]
    assert action_at(plan, datetime(2026, 2, 13, 7, 59)) == plan[0]
    assert action_at(plan, datetime(2026, 2, 13, 8)) == plan[1]
    assert action_at(plan, datetime(2026, 2, 13, 8, 30)) is None
    finer = [*plan, PlanItem(datetime(2026, 2, 13, 7, 15), 10, "make coffee", "kitchen")]
    assert action_at(finer, datetime(2026, 2, 13, 7, 20)) == finer[-1]


HOUR = PlanItem(datetime(2026, 2, 13, 13), 60, "work on the research paper", "library")


def test_decompose_breaks_an_hour_into_actions_that_fill_it():
    actions = [
        {"action": "find a desk", "where": "library", "minutes": 5},
        {"action": "read sources", "where": "library", "minutes": 15},
        {"action": "write notes", "where": "library", "minutes": 15},
        {"action": "draft a section", "where": "library", "minutes": 15},
    ]

    def check(request: GenerationRequest) -> bool:
        fmt = request.response_format
        schema = fmt.schema["properties"]["actions"] if fmt is not None else {}
        return held("actions", "13:00 to 14:00")(request) and (schema["minItems"], schema["maxItems"]) == (
            4,
            12,
        )

    model = ScriptedModel([Step([json.dumps({"actions": actions})], expect=check)])
    pieces = run(decompose(model, KLAUS, HOUR, grain="minutes"))
    model.assert_done()
    assert [p.minutes for p in pieces] == [6, 18, 18, 18]  # 50 minutes asked, fitted to the hour
    assert pieces[0].start == HOUR.start and pieces[-1].end == HOUR.end
    assert all(a.end == b.start for a, b in zip(pieces, pieces[1:]))


def test_decompose_leaves_a_short_item_whole_and_refuses_an_unknown_grain():
    short = replace(HOUR, minutes=9)
    assert run(decompose(ScriptedModel([]), KLAUS, short, grain="minutes")) == [short]
    with pytest.raises(ConfigError, match="grain must be one of hours, minutes"):
        run(decompose(ScriptedModel([]), KLAUS, HOUR, grain="days"))


def test_should_react_is_a_structured_decision():
    memories = stream("Klaus loves the cafe near the park")
    model = ScriptedModel(
        [
            reply(
                {"why": "A fire needs help.", "react": True},
                "reaction",
                "the cafe is on fire",
                "loves the cafe",
            )
        ]
    )
    reaction = run(should_react(model, KLAUS, memories, "the cafe is on fire", NOW, doing="reading"))
    model.assert_done()
    assert reaction == Reaction(True, "A fire needs help.")


def test_replan_keeps_the_past_and_replaces_the_future():
    day = datetime(2026, 2, 13)
    plan = [
        PlanItem(day.replace(hour=8), 60, "breakfast", "home"),
        PlanItem(day.replace(hour=9), 180, "classes", "college"),
        PlanItem(day.replace(hour=12), 360, "research", "library"),
    ]
    memories = stream("Maria is planning a party at the cafe")
    rest = {
        "chunks": [
            {"at": "10:00", "action": "help Maria", "where": "cafe"},  # already begun: from now
            {"at": "13:30", "action": "party", "where": "cafe"},
        ]
    }
    model = ScriptedModel(
        [
            reply(
                rest,
                "rest_of_day",
                "10:30",
                "Maria asked for help with the party",
                "- 09:00 classes (college)",
            )
        ]
    )
    now = day.replace(hour=10, minute=30)
    new = run(replan(model, KLAUS, memories, plan, now, "Maria asked for help with the party"))
    model.assert_done()
    assert new[0] == plan[0]
    assert new[1] == replace(plan[1], minutes=90)
    assert [(p.start.strftime("%H:%M"), p.minutes, p.action) for p in new[2:]] == [
        ("10:30", 180, "help Maria"),
        ("13:30", 270, "party"),
    ]
    assert new[-1].end == plan[-1].end
    [note] = memories.of("plan")
    assert (
        note.text
        == "Klaus changed plans at 10:30 because Maria asked for help with the party: 10:30 help Maria (cafe); 13:30 party (cafe)"
    )


def test_replan_after_the_plan_is_over_makes_no_call():
    plan = [PlanItem(datetime(2026, 2, 13, 8), 60, "breakfast", "home")]
    assert (
        run(replan(ScriptedModel([]), KLAUS, FakeMemories("Klaus"), plan, datetime(2026, 2, 13, 9), "x"))
        == plan
    )


# dialogue


def test_wants_to_talk_reads_the_decision_conditioned_on_memories_of_the_other():
    memories = FakeMemories("Maria")
    run(memories.add("Klaus lent Maria a book", "observation", NOW))
    model = ScriptedModel(
        [
            reply(
                {"reason": "they are friends", "talk": True},
                "wants_to_talk",
                "Klaus lent Maria a book",
                "a good friend",
                "Maria is reading. Maria sees Klaus. Klaus is at the cafe.",
            )
        ]
    )
    assert run(
        wants_to_talk(model, MARIA, "Klaus", memories, NOW, context="Klaus is at the cafe", doing="reading")
    )
    model.assert_done()


def test_what_a_speaker_has_on_its_mind_is_what_it_saw_planned_or_thought_not_what_was_said():
    memories = FakeMemories("Klaus")
    run(memories.add("Klaus plans to paint the fence today", "plan", NOW))
    run(memories.add("Maria said: Klaus plans for today are boring", "utterance", NOW))

    def on_mind(request: GenerationRequest) -> bool:
        prompt = request.messages[-1].content
        mind = prompt.split("On Klaus's mind today:\n")[1].split("What Klaus remembers")[0].strip()
        return mind == "- Klaus plans to paint the fence today" and "Klaus was mixing paint when" in prompt

    model = ScriptedModel(
        [Step([json.dumps({"thought": "t", "utterance": "Hi!", "end": True})], expect=on_mind)]
    )
    said = run(say(model, KLAUS, "Maria", memories, [], NOW, doing="mixing paint"))
    assert said == Said("Hi!", True)


def test_converse_ends_when_one_side_ends_and_both_remember_every_utterance():
    klaus, maria = FakeMemories("Klaus"), FakeMemories("Maria")
    run(klaus.add("Maria is planning a party", "observation", NOW))
    klaus_model = ScriptedModel(
        [
            reply(
                {"thought": "say hello", "utterance": "Hi Maria!", "end": False},
                "utterance",
                "nothing yet",
                "Maria is planning a party",
            ),
            reply(
                {"thought": "say hello", "utterance": "I will come. Bye!", "end": True},
                "utterance",
                "Maria: Come to my party",
            ),
        ]
    )
    maria_model = ScriptedModel(
        [
            reply(
                {"thought": "say hello", "utterance": "Come to my party", "end": False},
                "utterance",
                "Klaus: Hi Maria!",
            )
        ]
    )
    recorder = Recorder(klaus_model)
    said = run(converse(Talker(KLAUS, klaus, klaus_model, recorder), Talker(MARIA, maria, maria_model), NOW))
    klaus_model.assert_done()
    maria_model.assert_done()
    assert said == [("Klaus", "Hi Maria!"), ("Maria", "Come to my party"), ("Klaus", "I will come. Bye!")]
    assert [r.text for r in klaus.of("utterance")] == [
        "Klaus said to Maria: Hi Maria!",
        "Maria said: Come to my party",
        "Klaus said to Maria: I will come. Bye!",
    ]
    assert [r.text for r in maria.of("utterance")] == [
        "Klaus said: Hi Maria!",
        "Maria said to Klaus: Come to my party",
        "Klaus said: I will come. Bye!",
    ]
    assert [e for e in recorder.events if isinstance(e, Utterance)] == [
        Utterance("Klaus", "Hi Maria!"),
        Utterance("Klaus", "I will come. Bye!"),
    ]
    assert len(recorder.calls) == 2


def test_converse_stops_at_max_turns():
    talk = [Step([json.dumps({"thought": "say hello", "utterance": "and so on", "end": False})])] * 2
    a, b = ScriptedModel(list(talk)), ScriptedModel(list(talk))
    said = run(
        converse(
            Talker(KLAUS, FakeMemories("Klaus"), a), Talker(MARIA, FakeMemories("Maria"), b), NOW, max_turns=3
        )
    )
    assert [s for s, _ in said] == ["Klaus", "Maria", "Klaus"]
    with pytest.raises(ConfigError, match="at least one turn"):
        run(
            converse(
                Talker(KLAUS, FakeMemories("Klaus"), a),
                Talker(MARIA, FakeMemories("Maria"), b),
                NOW,
                max_turns=0,
            )
        )


# backends without held replies


def unheld(request: GenerationRequest) -> bool:
    return request.response_format is None and "JSON schema" in request.messages[-1].content


def test_a_backend_without_json_schema_gets_the_json_from_the_text():
    model = ScriptedModel(
        [
            Step(
                ['Sure! ```json\n{"thought": "say hello", "utterance": "Hello {there}", "end": true}\n```'],
                expect=unheld,
            )
        ],
        abilities=frozenset(),
    )
    said = run(say(model, KLAUS, "Maria", FakeMemories("Klaus"), [], NOW))
    model.assert_done()
    assert (said.text, said.ends) == ("Hello {there}", True)


def test_a_backend_without_json_schema_and_a_reply_without_json_raises():
    model = ScriptedModel([Step(["Yes, I think Klaus would talk."], expect=unheld)], abilities=frozenset())
    with pytest.raises(
        ReplyFormatError, match="town-talk-decide: expected a JSON wants_to_talk .* holds no JSON object"
    ):
        run(wants_to_talk(model, MARIA, "Klaus", FakeMemories("Maria"), NOW))


def test_read_json():
    assert read_json('{"a": 1}') == {"a": 1}
    assert read_json('noise {"broken": } then {"a": [1]} tail') == {"a": [1]}
    assert read_json("no json here") is None


# the embedded model


@pytest.mark.live
def test_plan_day_on_the_embedded_model():
    from ponder.models import get_model

    model = get_model("local")
    recorder = Recorder(model, Budget(per_call=300))
    plan = run(
        plan_day(
            model,
            KLAUS,
            stream("Klaus worked on his research paper at the library"),
            datetime(2026, 2, 13),
            recorder=recorder,
        )
    )
    assert 5 <= len(plan) <= 8
    assert all(a.end == b.start for a, b in zip(plan, plan[1:]))
    assert all(p.minutes >= 1 and p.action and p.where for p in plan)
    assert len(recorder.calls) == 1


def test_copied_speaker_labels_are_not_part_of_what_is_said():
    names = ("Rosa Delgado", "Kofi Okafor")
    assert spoken("Kofi Okafor: Kofi Okafor: Rosa Delgado: Can you help me?", names) == "Can you help me?"
    assert spoken("  Hi Kofi: how are you?", names) == "Hi Kofi: how are you?"
    assert spoken("Rosa Delgado:", names) == "Rosa Delgado:"
    assert spoken("Walter Brandt: hello", names) == "Walter Brandt: hello"
