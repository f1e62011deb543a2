"""Results round-trip through the store: what `Store.results` reads equals what was written, for every
details type and every event kind; rows of earlier versions (an untyped `meta`, `calls` for the
trace) read as typed results, and shapes this version does not know read as generic details."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import typing
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from ponder import details as codec
from ponder.details import (
    DETAILS,
    AdaptiveDetails,
    AttemptsDetails,
    BeamSearchDetails,
    BestOfNDetails,
    ChainDetails,
    EarlyAnsweringDetails,
    FillerDetails,
    GenericDetails,
    MistakeDetails,
    SelfConsistencyDetails,
    UnansweredDetails,
    WeightedVoteDetails,
)
from ponder.faithfulness import report as faithfulness_report
from ponder.report.data import load_run
from ponder.store import Store
from ponder.tasks.answers import KINDS
from ponder.types import (
    BudgetUse,
    CodeExecution,
    Completion,
    Compute,
    Details,
    GenerationRequest,
    MemoryWrite,
    ModelCall,
    Observation,
    Result,
    Task,
    TokenLogprob,
    ToolCall,
    Usage,
    Utterance,
)

LEGACY = Path(__file__).parent / "data" / "legacy_results.json"

ints = st.integers(-(2**31), 2**31)
counts = st.integers(0, 2**31)
floats = st.floats(allow_nan=False)
text = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | ints | floats | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(text, json_values, max_size=3)


def of_type(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a details field's type (JSON-shaped, floats finite)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Details:
        return any_details(depth=1)
    if tp is Any:
        return json_values
    if origin in (UnionType, typing.Union):
        return st.one_of([st.none() if a is NoneType else of_type(a) for a in args])
    if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
        return st.tuples(*(of_type(a) for a in args))  # fixed length: (name, count)
    if origin is tuple:
        return st.lists(of_type(args[0]), max_size=4).map(tuple)
    if origin is dict:
        return json_objects if args[1] is Any else st.dictionaries(text, of_type(args[1]), max_size=3)
    if dataclasses.is_dataclass(tp):
        return built(tp)
    return {str: text, int: ints, float: floats, bool: st.booleans()}[tp]


def built(cls: type[Any]) -> st.SearchStrategy[Any]:
    return st.builds(cls, **{name: of_type(t) for name, t in typing.get_type_hints(cls).items()})


def any_details(depth: int = 0) -> st.SearchStrategy[Details]:
    """Details of every registered type (attempts hold details of any other type)."""
    kinds = [cls for cls in DETAILS.values() if depth == 0 or cls is not AttemptsDetails]
    return st.one_of([built(cls) for cls in kinds])


requests = st.builds(
    lambda user, n, temperature, seed, prefix: GenerationRequest.chat(
        user, n=n, temperature=temperature, seed=seed, assistant_prefix=prefix
    ),
    text,
    st.integers(1, 4),
    st.floats(0, 2),
    st.none() | st.integers(0, 100),
    text,
)
logprobs = st.lists(
    st.builds(TokenLogprob, text, floats, st.lists(st.tuples(text, floats), max_size=2).map(tuple)),
    max_size=3,
).map(tuple)
completions = st.builds(
    Completion,
    text,
    st.sampled_from(["stop", "length"]),
    st.builds(Usage, counts, counts, counts),
    st.none() | logprobs,
    st.integers(0, 8),
    st.floats(0, 100),
    st.booleans(),
    st.lists(text, max_size=2).map(tuple),
)
events = st.one_of(
    st.builds(
        ModelCall,
        requests,
        st.lists(completions, max_size=3).map(tuple),
        st.floats(0, 100),
        text,
        st.none() | text,
    ),
    st.builds(ToolCall, text, json_objects, json_values, st.none() | text, st.floats(0, 100)),
    st.builds(CodeExecution, text, text, text, text, st.none() | ints, st.floats(0, 100)),
    st.builds(Observation, text, text),
    st.builds(Utterance, text, text),
    st.builds(MemoryWrite, text, text, text, st.none() | floats),
)
results = st.builds(
    lambda task, rest: Result(task, *rest),
    st.builds(Task, text, text, st.none() | text, st.sampled_from(KINDS), json_objects),
    st.tuples(
        text,
        st.none() | text,
        text,
        st.none() | st.booleans(),
        st.lists(events, max_size=4).map(tuple),
        st.builds(
            Compute, counts, counts, counts, counts, counts, st.floats(0, 1e6), counts, counts, counts, counts
        ),
        any_details(),
        st.none()
        | st.builds(
            BudgetUse,
            st.none() | st.integers(1, 10**6),
            st.none() | st.integers(1, 10**6),
            counts,
            st.booleans(),
        ),
        st.none() | text,
        st.none() | text,
    ),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(results, min_size=1, max_size=4, unique_by=lambda r: r.task.id))
def test_store_results_equal_the_results_written(written):
    with Store(":memory:") as store:
        run = store.start_run("eval", "m")
        for r in written:
            store.add_result(run, r)
        assert store.results(run) == written


@settings(max_examples=60)
@given(any_details())
def test_every_details_type_round_trips_through_its_json(details):
    assert codec.from_json(json.loads(json.dumps(codec.to_json(details)))) == details


@pytest.mark.parametrize("cls", sorted(DETAILS.values(), key=lambda c: c.__name__))
def test_every_registered_details_type_is_drawn_by_the_property_test(cls):
    found = find(
        any_details(),
        lambda d: type(d) is cls,
        settings=settings(max_examples=5000, database=None, phases=[Phase.generate]),
    )
    assert type(found) is cls


def test_results_differ_when_their_details_budget_model_or_trace_differ():
    task = Task("t", "q", "1")
    base = Result(
        task, "cot", "1", "r", True, (), Compute(), ChainDetails(False, True), BudgetUse(spent=3), "m"
    )
    assert base == dataclasses.replace(base)
    for change in (
        {"details": ChainDetails(True, True)},
        {"budget": BudgetUse(spent=4)},
        {"model": "other"},
        {"trace": (Observation("web", "x"),)},
    ):
        assert dataclasses.replace(base, **change) != base
    assert (
        dataclasses.replace(base, task=Task("t", "q", "1", meta={"x": 1})) == base
    )  # a task's meta is not compared


def _legacy_store(path: Path, rows: list[dict[str, Any]]) -> int:
    """A store holding `rows` as an earlier version wrote them (`data` with `meta` and `calls`)."""
    with Store(path) as store:
        run = store.start_run("eval", "scripted", "mixed")
    db = sqlite3.connect(path)
    with db:
        for i, row in enumerate(rows):
            db.execute(
                """INSERT INTO results (run_id, task_id, answer, correct, reasoning, prompt_tokens,
                   prompt_tokens_evaluated, completion_tokens, calls, cached_calls, seconds, data, created_at)
                   VALUES (?, ?, ?, ?, '', 1, 1, 1, 1, 0, 0.5, ?, 0)""",
                (run, f"t{i}", row["answer"], row["correct"], json.dumps(row["data"])),
            )
    db.close()
    return run


def test_results_stored_with_an_untyped_meta_read_as_typed_details(tmp_path):
    legacy = json.loads(LEGACY.read_text())
    run = _legacy_store(tmp_path / "old.sqlite", legacy)
    with Store(tmp_path / "old.sqlite") as store:
        read = {case["case"]: r for case, r in zip(legacy, store.results(run))}
        expected = {
            "direct": ChainDetails(False, False),
            "cot": ChainDetails(False, True),
            "cot-budget": ChainDetails(True, False),
            "self-consistency": SelfConsistencyDetails(
                {"18": 2, "17": 1}, 3, 3, ("18", "17", "18"), "direct"
            ),
            "attempts": AttemptsDetails(ChainDetails(False, False), ("17", "18"), (False, True)),
            "overflow": UnansweredDetails("prompt of 20000 tokens exceeds 16384"),
            "mistakes": MistakeDetails(),
        }
        for case, details in expected.items():
            assert read[case].details == details, case
        assert isinstance(read["weighted-vote"].details, WeightedVoteDetails)
        assert read["weighted-vote"].details.confidence == "sequence"
        assert isinstance(read["adaptive-consistency"].details, AdaptiveDetails)
        assert read["adaptive-consistency"].details.history == ({"18": 1, "17": 1}, {"18": 3, "17": 1})
        assert read["best-of-n"].details == BestOfNDetails((0.2, 0.9), ("17", "18"), 1, "judge", "direct")
        beam = read["beam-search"].details
        assert isinstance(beam, BeamSearchDetails) and beam.rounds[0].kept == (0.9,) and beam.score == 0.9
        early = read["early"].details
        assert isinstance(early, EarlyAnsweringDetails) and early.agreement == (True, True, True)
        filler = read["filler"].details
        assert isinstance(filler, FillerDetails) and filler.metrics["accuracy_filler"] == 0.0
        assert read["cot-budget"].budget == BudgetUse(None, 2, 3, True) and read["overflow"].budget is None
        assert all(r.model == "scripted" for r in read.values())
        assert [c.purpose for c in read["best-of-n"].calls] == ["generate", "verify", "verify"]
        assert read["best-of-n"].calls[0].completions[1].text == "18"
        # read once, written again, read again: the same results
        again = store.start_run("eval", "scripted", "mixed")
        for r in read.values():
            store.add_result(again, r)
        assert store.results(again) == list(read.values())
        # the report reads such a store: the vote's samples and the probes' metrics
        assert faithfulness_report.NAME == "faithfulness"  # imported: its section is in the report
        summary = load_run(store, run)
        by_id = {i.task_id: i for i in summary.items}
        assert by_id["t3"].samples == ["18", "17", "18"]
        assert summary.sections["faithfulness"].record["probe"]["area_over_curve"]["mean"] == 0.0


def test_unknown_or_broken_shapes_read_as_generic_details(tmp_path):
    rows = [
        {
            "answer": "1",
            "correct": 1,
            "data": {"strategy": "mystery", "meta": {"knob": [1, 2], "model": "m"}},
        },
        {"answer": "1", "correct": 1, "data": {"strategy": "self-consistency", "meta": {"votes": "many"}}},
        {
            "answer": "1",
            "correct": 1,
            "data": {"strategy": "x", "details": {"type": "from-the-future", "a": 1}},
        },
        {
            "answer": "1",
            "correct": 1,
            "data": {"strategy": "x", "details": {"type": "best-of-n", "scores": "x"}},
        },
        {"answer": None, "correct": None, "data": {}},
    ]
    run = _legacy_store(tmp_path / "odd.sqlite", rows)
    with Store(tmp_path / "odd.sqlite") as store:
        read = store.results(run)
    assert read[0].details == GenericDetails("mystery", {"knob": [1, 2]}) and read[0].model == "m"
    assert read[1].details == GenericDetails("self-consistency", {"votes": "many"})
    assert read[2].details == GenericDetails("from-the-future", {"a": 1})
    assert read[3].details == GenericDetails("best-of-n", {"scores": "x"})
    assert read[4].details == Details() and read[4].trace.events == () and read[4].budget is None
