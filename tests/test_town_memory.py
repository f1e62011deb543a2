"""The memory stream: retrieval scores against worked examples, importance rating through the
trace, last-access updates, and the stream kept in and reloaded from a real SQLite store."""

import asyncio
import math
import sqlite3
from datetime import datetime, timedelta

import numpy as np
import pytest

from ponder.contract import ResponseFormat
from ponder.embeddings import get_embedder
from ponder.errors import ConfigError, DataError, ReplyFormatError
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store, StoredMemories
from ponder.store.db import MIGRATIONS, connect
from ponder.town.contracts import Memories, MemoryRecord, Weights
from ponder.town.memory import IMPORTANCE_FORMAT, MemoryStream, rate_importance, read_importance
from ponder.town.scores import min_max, recency, relevance, score_all, top_k
from ponder.types import ModelCall

T0 = datetime(2023, 2, 13, 8, 0)


def run(coro):
    return asyncio.run(coro)


def memory(i, importance=5, accessed=T0, text="x"):
    return MemoryRecord(i, "Isabella", "observation", text, T0, accessed, importance)


class Events:
    def __init__(self):
        self.events = []

    def emit(self, event):
        self.events.append(event)


# scores


def test_recency_decays_per_hour_since_last_access():
    assert recency(0, 0.995) == 1.0
    assert recency(10, 0.995) == pytest.approx(0.995**10)
    assert recency(2, 0.5) == 0.25
    assert recency(-3, 0.5) == 1.0  # accessed after now counts as now
    with pytest.raises(ConfigError, match="decay"):
        recency(1, 1.5)


def test_min_max_maps_to_zero_one_and_all_equal_to_a_half():
    assert min_max([2, 8, 5]) == [0.0, 1.0, 0.5]
    assert min_max([3, 3, 3]) == [0.5, 0.5, 0.5]
    assert min_max([7]) == [0.5]
    assert min_max([]) == []


def test_relevance_is_the_cosine_and_zero_for_a_zero_vector():
    got = relevance([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.0, 0.0], [2.0, 0.0]])
    assert got == pytest.approx([1.0, 0.0, 0.6, 0.0, 1.0])
    assert relevance([0.0, 0.0], [[1.0, 0.0]]) == [0.0]
    assert relevance([1.0], []) == []
    with pytest.raises(DataError, match="dimensions"):
        relevance([1.0, 0.0, 0.0], [[1.0, 0.0]])


def test_a_worked_example_of_three_memories():
    # last accessed 0, 1, 2 hours before now with decay 0.5: recency 1, 0.5, 0.25 -> 1, 1/3, 0
    # importance 2, 8, 5 -> 0, 1, 0.5; cosine with (1, 0): 1, 0, 0.6 -> 1, 0, 0.6
    # weights 1, 2, 0.5: 1 + 0 + 0.5 = 1.5; 1/3 + 2 + 0 = 7/3; 0 + 1 + 0.3 = 1.3
    now = T0 + timedelta(hours=2)
    memories = [
        memory(1, importance=2, accessed=now),
        memory(2, importance=8, accessed=now - timedelta(hours=1)),
        memory(3, importance=5, accessed=T0),
    ]
    weights = Weights(recency=1.0, importance=2.0, relevance=0.5, decay=0.5)
    scored = score_all(memories, [1.0, 0.0], [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], now, weights)
    assert [s.recency for s in scored] == pytest.approx([1.0, 1 / 3, 0.0])
    assert [s.importance for s in scored] == pytest.approx([0.0, 1.0, 0.5])
    assert [s.relevance for s in scored] == pytest.approx([1.0, 0.0, 0.6])
    assert [s.score for s in scored] == pytest.approx([1.5, 7 / 3, 1.3])
    assert [s.memory.id for s in top_k(scored, 3)] == [2, 1, 3]
    assert [s.memory.id for s in top_k(scored, 1)] == [2]
    assert top_k(scored, 0) == []


def _ranking(memories, vectors, query=(1.0, 0.0), now=T0 + timedelta(hours=5)):
    return [s.memory.id for s in top_k(score_all(memories, query, vectors, now, Weights()), 3)]


def test_all_else_equal_the_most_recent_ranks_first():
    memories = [memory(i, accessed=T0 + timedelta(hours=h)) for i, h in ((1, 0), (2, 4), (3, 2))]
    assert _ranking(memories, [[1.0, 0.0]] * 3) == [2, 3, 1]


def test_all_else_equal_the_most_important_ranks_first():
    memories = [memory(1, importance=3), memory(2, importance=9), memory(3, importance=6)]
    assert _ranking(memories, [[1.0, 0.0]] * 3) == [2, 3, 1]


def test_all_else_equal_the_most_relevant_ranks_first():
    memories = [memory(1), memory(2), memory(3)]
    assert _ranking(memories, [[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]]) == [2, 3, 1]


def test_a_weight_of_zero_removes_a_score():
    memories = [memory(1, importance=10), memory(2, importance=1)]
    vectors = [[0.0, 1.0], [1.0, 0.0]]
    scored = score_all(memories, [1.0, 0.0], vectors, T0, Weights(importance=0.0))
    assert [s.memory.id for s in top_k(scored, 2)] == [2, 1]
    with pytest.raises(DataError, match="2 memories but 1 embeddings"):
        score_all(memories, [1.0, 0.0], vectors[:1], T0, Weights())


# importance


def test_a_held_reply_is_the_rating_and_the_request_carries_the_format():
    model = ScriptedModel([Step(["7"], expect={"response_format": IMPORTANCE_FORMAT})])
    assert run(rate_importance(model, "Isabella", "Isabella is planning a Valentine's party")) == 7
    model.assert_done()
    fmt = model.requests[0].response_format
    assert fmt == ResponseFormat({"type": "integer", "minimum": 1, "maximum": 10}, "importance")
    prompt = model.requests[0].messages[0].content
    assert "Valentine's party" in prompt and "brushing teeth" in prompt and "break-up" in prompt


def test_a_held_reply_out_of_range_is_an_error_not_a_number():
    model = ScriptedModel([Step(["12"])])
    with pytest.raises(ReplyFormatError, match="importance"):
        run(rate_importance(model, "Isabella", "a walk"))


def test_without_json_schema_the_first_number_is_read_and_clamped():
    model = ScriptedModel(
        [Step(["I'd say 11 out of 10"], expect={"response_format": None})], abilities=frozenset()
    )
    assert run(rate_importance(model, "Isabella", "she got married")) == 10
    model.assert_done()
    assert read_importance("Rating: 0") == 1
    assert read_importance("3. It is mundane (rated 1-10)") == 3
    with pytest.raises(ReplyFormatError, match="no number"):
        read_importance("quite poignant, really")


def test_the_rating_call_is_recorded_through_the_trace():
    sink = Events()
    stream = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([Step(["4"])]), sink=sink)
    run(stream.add("Isabella is brewing coffee", "observation", T0))
    [call] = stream.recorder.calls
    assert call.purpose == "memory-importance" and call.model == "scripted"
    assert [type(e) for e in sink.events] == [ModelCall]


# the stream


def test_the_stream_satisfies_the_memories_contract():
    stream: Memories = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]))
    assert stream.agent == "Isabella"


def test_add_rates_importance_only_when_not_given():
    model = ScriptedModel([Step(["6"])])
    stream = MemoryStream("Isabella", get_embedder("scripted"), model)
    given = run(stream.add("Isabella is making the bed", "observation", T0, importance=2))
    rated = run(stream.add("Klaus asked Isabella out", "observation", T0 + timedelta(minutes=10)))
    model.assert_done()
    assert len(model.requests) == 1
    assert (given.id, given.importance, rated.id, rated.importance) == (1, 2, 2, 6)
    assert rated.created == rated.last_accessed == T0 + timedelta(minutes=10)
    assert stream.by_id(2) == rated and stream.latest(1) == [rated] and stream.latest(5) == [given, rated]
    assert stream.latest(0) == []


def test_add_checks_kind_importance_and_evidence():
    stream = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]))
    with pytest.raises(ConfigError, match="kind"):
        run(stream.add("x", "dream", T0, importance=3))
    with pytest.raises(ConfigError, match="importance"):
        run(stream.add("x", "observation", T0, importance=11))
    with pytest.raises(DataError, match="no memory 1"):
        run(stream.add("x", "reflection", T0, importance=3, evidence=[1]))
    first = run(stream.add("x", "observation", T0, importance=3))
    insight = run(stream.add("y", "reflection", T0, importance=8, evidence=[first.id]))
    assert insight.evidence == (1,)
    assert len(stream) == 2


def test_importance_counts_from_the_last_reflection():
    stream = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]))
    for importance in (3, 4):
        run(stream.add("a", "observation", T0, importance=importance))
    assert stream.importance_since_reflection() == 7
    stream.mark_reflected()
    assert stream.importance_since_reflection() == 0
    run(stream.add("b", "observation", T0, importance=9))
    assert stream.importance_since_reflection() == 9


def _stream(store=None, run_id=None):
    stream = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]), store=store, run_id=run_id)
    texts = [
        "Isabella is decorating the cafe for the party",
        "Isabella is wiping the cafe counter",
        "Klaus is reading about gentrification at the library",
        "Isabella is planning a Valentine's Day party at the cafe",
    ]
    for i, text in enumerate(texts):
        run(stream.add(text, "observation", T0 + timedelta(hours=i), importance=[5, 2, 3, 8][i]))
    return stream


def test_retrieval_updates_last_access_so_a_later_retrieval_ranks_differently():
    stream = _stream()
    weights = Weights(recency=1.0, importance=0.0, relevance=0.0)
    stream.weights = weights
    later = T0 + timedelta(hours=10)
    first = run(stream.retrieve("cafe", later, k=1))
    assert [s.memory.id for s in first] == [4]  # made last, so accessed last
    assert first[0].memory.last_accessed == later and stream.by_id(4).last_accessed == later
    assert stream.by_id(1).last_accessed == T0
    run(stream.add("Isabella is wiping the tables", "observation", later + timedelta(hours=1), importance=1))
    second = run(stream.retrieve("cafe", later + timedelta(hours=2), k=2))
    assert [s.memory.id for s in second] == [5, 4]
    stream.weights = Weights()
    assert run(MemoryStream("x", get_embedder("scripted"), ScriptedModel([])).retrieve("q", T0)) == []


def test_retrieval_ranks_by_relevance_and_importance_together():
    stream = _stream()
    stream.weights = Weights(recency=0.0)
    best = run(stream.retrieve("Valentine's Day party at the cafe", T0 + timedelta(hours=4), k=2))
    assert [s.memory.id for s in best] == [4, 1]
    assert best[0].score == pytest.approx(best[0].importance + best[0].relevance) == 2.0
    assert best[0].importance == 1.0 and best[0].relevance == 1.0


def test_retrieval_among_some_kinds_normalises_over_them_and_touches_only_what_it_returns():
    stream = _stream()
    later = T0 + timedelta(hours=10)
    run(stream.add("Klaus said: the party starts at five", "utterance", later, importance=10))
    stream.weights = Weights(recency=0.0, relevance=0.0)  # importance alone
    assert [s.memory.id for s in run(stream.retrieve("party", later, k=1))] == [5]
    among = run(stream.retrieve("party", later, k=2, kinds=frozenset({"observation"})))
    assert [s.memory.id for s in among] == [4, 1]
    assert [s.importance for s in among] == [1.0, 0.5]  # (8 - 2) / (8 - 2), (5 - 2) / (8 - 2)
    assert [stream.by_id(i).last_accessed for i in (1, 2, 3, 4)] == [
        later,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
        later,
    ]
    assert run(stream.retrieve("party", later, kinds=frozenset({"reflection"}))) == []


def test_a_stream_reloaded_from_a_fresh_store_retrieves_the_same(tmp_path):
    path = tmp_path / "town.sqlite"
    store = Store(path)
    run_id = store.start_run("town", "scripted")
    stream = _stream(store, run_id)
    run(stream.retrieve("cafe", T0 + timedelta(hours=5), k=2))
    stream.mark_reflected()
    run(stream.add("Isabella met Maria", "utterance", T0 + timedelta(hours=6), importance=4, evidence=(2,)))

    fresh = Store(path)
    again = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]), store=fresh, run_id=run_id)
    assert again.records == stream.records
    assert [again.vector(i) for i in range(1, 6)] == [stream.vector(i) for i in range(1, 6)]
    assert again.importance_since_reflection() == stream.importance_since_reflection() == 4
    when = T0 + timedelta(hours=9)
    expected = run(stream.retrieve("party at the cafe", when, k=5))
    got = run(again.retrieve("party at the cafe", when, k=5))
    assert got == expected and [s.memory.id for s in got] == [4, 1, 2, 5, 3]
    reread = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]), store=fresh, run_id=run_id)
    assert reread.records == again.records  # the retrieval's last accesses were written
    other = MemoryStream("Klaus", get_embedder("scripted"), ScriptedModel([]), store=fresh, run_id=run_id)
    assert len(other) == 0


def test_retrieval_writes_last_access_to_the_store(tmp_path):
    store = Store(tmp_path / "town.sqlite")
    run_id = store.start_run("town", "scripted")
    stream = _stream(store, run_id)
    later = T0 + timedelta(hours=7)
    [best] = run(stream.retrieve("Klaus gentrification library", later, k=1))
    rows = StoredMemories(store).memories(run_id, "Isabella")
    assert [r.last_accessed for r in rows if r.number == best.memory.id] == [later]
    assert all(r.last_accessed == r.created for r in rows if r.number != best.memory.id)
    assert StoredMemories(store).memory_agents(run_id) == ["Isabella"]
    assert StoredMemories(store).reflected_through(run_id, "Isabella") == 0


def test_a_stream_in_a_store_needs_a_run(tmp_path):
    with pytest.raises(ConfigError, match="run id"):
        MemoryStream(
            "Isabella", get_embedder("scripted"), ScriptedModel([]), store=Store(tmp_path / "s.sqlite")
        )


def test_the_memories_migration_from_an_empty_database(tmp_path):
    db = connect(tmp_path / "s.sqlite")
    assert "m008_memories" in {r[0] for r in db.execute("SELECT name FROM _migrations")}
    columns = {r[1]: r[5] for r in db.execute("PRAGMA table_info(memories)")}
    assert columns == {
        "run_id": 1,
        "agent": 2,
        "number": 3,
        "kind": 0,
        "text": 0,
        "created": 0,
        "last_accessed": 0,
        "importance": 0,
        "evidence": 0,
        "dim": 0,
        "embedding": 0,
    }
    db.execute("INSERT INTO runs (created_at, kind, model) VALUES (0, 'town', 'm')")
    row = (1, "a", 1, "observation", "t", "2023-02-13T08:00:00", "2023-02-13T08:00:00", 5, "[]", 0, b"")
    db.execute("INSERT INTO memories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO memories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    with pytest.raises(sqlite3.IntegrityError):  # a memory belongs to a run
        db.execute("INSERT INTO memories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (2, *row[1:]))
    assert {r[1] for r in db.execute("PRAGMA table_info(memory_state)")} == {
        "run_id",
        "agent",
        "reflected_through",
    }


def test_an_older_store_read_only_has_no_memories(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    monkeypatch.setattr("ponder.store.db.MIGRATIONS", MIGRATIONS[:7])
    connect(path).close()
    monkeypatch.undo()
    with Store(path, readonly=True) as store:
        assert StoredMemories(store).memories(1, "a") == []
        assert StoredMemories(store).reflected_through(1, "a") == 0


def test_embeddings_are_kept_as_float32():
    stream = MemoryStream("Isabella", get_embedder("scripted"), ScriptedModel([]))
    record = run(stream.add("one two three", "observation", T0, importance=1))
    vector = stream.vector(record.id)
    assert all(float(np.float32(x)) == x for x in vector)
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-6)
