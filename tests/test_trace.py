"""The trace: a Recorder records typed events and sends each to its sink once; the store's sink writes
model calls to the calls table, which is the cache, exactly as the runs, solve and the arena need."""

from __future__ import annotations

import asyncio

import pytest

from ponder.arena.judges import Answer, LLMJudge, load_judge_prompts
from ponder.errors import TransientModelError
from ponder.eval.limits import ErrorLimit
from ponder.eval.runner import RunSpec, open_run, run_tasks
from ponder.models.cached import CachedModel
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.strategies import base
from ponder.strategies.chain import Direct
from ponder.trace import Budget, BudgetExhausted, Recorder
from ponder.types import (
    BudgetUse,
    CodeExecution,
    Completion,
    Compute,
    GenerationRequest,
    MemoryWrite,
    ModelCall,
    Observation,
    Task,
    ToolCall,
    Trace,
    Usage,
)


class ListSink:
    def __init__(self) -> None:
        self.events: list = []

    def emit(self, event) -> None:
        self.events.append(event)


async def test_a_model_call_is_recorded_with_its_model_purpose_and_fitted_request_and_sent_once():
    sink = ListSink()
    judge = ScriptedModel([Step(["Yes"])], model_id="judge")
    rec = Recorder(ScriptedModel([Step(["a", "b"])]), Budget(per_call=7), sink)
    await rec.generate(GenerationRequest.chat("q", n=2, max_tokens=50))
    await rec.generate(GenerationRequest.chat("ok?"), purpose="verify", model=judge)
    first, second = rec.events
    assert isinstance(first, ModelCall) and first.model == "scripted" and first.purpose == "generate"
    assert first.request.max_tokens == 7 and [c.text for c in first.completions] == ["a", "b"]
    assert (second.model, second.purpose) == ("judge", "verify")
    assert sink.events == rec.events and rec.calls == rec.events


async def test_every_kind_of_event_goes_to_the_trace_and_the_sink_in_order_and_only_model_calls_cost():
    sink = ListSink()
    rec = Recorder(ScriptedModel([Step(["x y z"])]), sink=sink)
    others = [
        ToolCall("search", {"q": "eggs"}, {"hits": 2}, None, 0.1),
        CodeExecution("python", "print(1)", "1\n", "", 0, 0.2),
        Observation("web", "Janet keeps ducks."),
        MemoryWrite("janet", "has 16 eggs", "fact", 0.8),
    ]
    rec.record(others[0])
    await rec.generate(GenerationRequest.chat("q"))
    for e in others[1:]:
        rec.record(e)
    kinds = [type(e) for e in sink.events]
    assert kinds == [ToolCall, ModelCall, CodeExecution, Observation, MemoryWrite]
    result = rec.result(Task("t", "q", "1"), "agent", "1", "x y z")
    assert result.trace == Trace(tuple(sink.events)) and result.trace.tool_calls == (others[0],)
    assert result.calls == result.trace.model_calls and len(result.calls) == 1
    assert result.compute.calls == 1 and result.compute.completion_tokens == 3
    assert result.correct is None  # the neutral Recorder does not score; a strategy's does
    scored = base.Recorder(ScriptedModel([])).result(Task("t", "q", "1"), "s", "1", "")
    assert scored.correct is True and scored.budget == BudgetUse(spent=0)


def test_compute_counts_the_model_calls_of_a_trace():
    call = ModelCall(
        GenerationRequest.chat("q"), (Completion("a", "stop", Usage(4, 2), cached=True),), 0.1, "verify"
    )
    trace = Trace((Observation("x", "y"), call, call))
    c = Compute.of(trace, 1.5)
    assert (c.calls, c.cached_calls, c.prompt_tokens, c.cached_tokens, c.verifier_calls, c.seconds) == (
        2,
        2,
        8,
        12,
        2,
        1.5,
    )
    with pytest.raises(TypeError):
        Trace(("not an event",))


class Gated:
    """A model whose replies wait for `gate`: calls are in flight together. Each reply uses all its tokens."""

    model_id = "gated"
    abilities = frozenset()

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []
        self.gate = asyncio.Event()

    async def generate(self, request):
        self.requests.append(request)
        await self.gate.wait()
        return [Completion("x " * request.max_tokens, "length", Usage(1, request.max_tokens))]


async def test_the_budget_reserves_for_calls_in_flight_and_reports_its_use():
    model = Gated()
    rec = Recorder(model, Budget(per_task=6))
    calls = [asyncio.ensure_future(rec.generate(GenerationRequest.chat(q, max_tokens=4))) for q in ("a", "b")]
    await asyncio.sleep(0)
    assert [r.max_tokens for r in model.requests] == [4, 2]  # the second got what the first left
    model.gate.set()
    await asyncio.gather(*calls)
    with pytest.raises(BudgetExhausted):
        await rec.generate(GenerationRequest.chat("c", max_tokens=4))
    assert rec.budget_use() == BudgetUse(None, 6, 6, True) and len(rec.calls) == 2


async def test_the_store_sink_writes_model_calls_once_and_nothing_else(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run = store.start_run("eval", "m")
        rec = Recorder(CachedModel(ScriptedModel([Step(["x"])]), store), sink=store.call_sink(run, "t1"))
        await rec.generate(GenerationRequest.chat("q"), purpose="extract")
        rec.record(Observation("web", "page"))
        rec.record(  # an HTTP reward model's call: in the trace, not in the cache
            ModelCall(
                GenerationRequest(prompt="{}", max_tokens=1),
                (Completion("0.5", "stop", Usage()),),
                0.1,
                "verify",
            )
        )
        rows = store.calls()
        assert [(r["run_id"], r["task_id"], r["purpose"], r["output"], r["cached"]) for r in rows] == [
            (run, "t1", "extract", "x", 0)
        ]
        assert len(rec.events) == 3


async def test_calls_made_before_an_item_errors_are_in_the_calls_table(tmp_path):
    class TwoCalls(Direct):
        async def run(self, task, model, sink=None):
            rec = base.Recorder(model, sink=sink)
            await rec.generate(self.request(task))
            await rec.generate(self.request(task, seed=1))
            raise AssertionError("not reached")

    model = ScriptedModel([Step(["first"]), Step(error=TransientModelError("gave up"))])
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "toy", "direct", {}))
        progress = await run_tasks(
            TwoCalls(), model, [Task("t0", "q", "1")], store, run, max_errors=ErrorLimit(count=1)
        )
        assert progress.errored == 1
        assert [(r["task_id"], r["output"]) for r in store.calls(run)] == [("t0", "first")]


async def test_the_llm_judge_records_both_orders_through_its_sink(data_dir):
    sink = ListSink()
    judge = LLMJudge(
        ScriptedModel([Step(["[[A]]"]), Step(["[[B]]"])], model_id="J"), load_judge_prompts(data_dir)
    )
    decision = await judge.decide(
        Task("q", "How many?", "18"), Answer("p", "18"), Answer("r", "17"), sink=sink
    )
    assert decision.winner == "model_a"
    assert [(e.model, e.purpose, e.completions[0].text) for e in sink.events] == [
        ("J", "judge", "[[A]]"),
        ("J", "judge", "[[B]]"),
    ]


def _models(table):
    return lambda spec, **options: table[spec]


async def test_the_calls_table_holds_each_call_of_evaluate_solve_and_the_arena_once(
    tmp_path, session_of, data_dir
):
    """Run id, task id, model, sample index, cached flag and purpose of every row, as each command
    logs them: a rerun is served from the cache (with more samples paying only for the new one),
    and the arena's judge logs its calls under no run and the item."""
    import ponder.arena.play as play
    import ponder.eval.evaluate as ev
    import ponder.solve as solve
    from ponder.arena.players import parse_players
    from ponder.eval.session import Session

    store = tmp_path / "s.sqlite"
    m = ScriptedModel(
        [
            Step(["16 - 7 = 9. 9*2 = 18."]),
            Step([" 18."]),
            Step(["A1 18", "A2 17"]),
            Step([" 18"]),
            Step([" 17"]),
        ],
        model_id="M",
    )
    j = ScriptedModel([Step(["Yes"]), Step(["No"])], model_id="J")
    async with session_of(m, store=store) as session:
        await ev.evaluate(session, "gsm8k", [ev.Plan("cot", {})], limit=1, data_dir=data_dir)
    async with session_of(m, j, store=store) as session:
        await ev.evaluate(session, "gsm8k", [ev.Plan("best-of-n", {"k": 2})], limit=1, data_dir=data_dir)
        m.steps, j.steps = [Step(["A3 18"]), Step([" 18"])], [Step(["Yes"])]
        await ev.evaluate(session, "gsm8k", [ev.Plan("best-of-n", {"k": 3})], limit=1, data_dir=data_dir)
    m.steps = [Step(["1 + 1 = 2."]), Step([" 2"])]
    async with session_of(m, store=store) as session:
        await solve.solve(session, "1+1?", "cot")
        await solve.solve(session, "1+1?", "cot")
    p = ScriptedModel([Step(["18"]), Step(["#### 18"])], model_id="P")
    lj = ScriptedModel([Step(["[[A]]"]), Step(["[[B]]"])], model_id="LJ")
    players = parse_players("direct,chain-of-draft", "P")
    async with Session(None, Store(store), lj, opener=_models({"P": p}), owns_store=True) as session:
        await play.play(session, "gsm8k", players, limit=1, data_dir=data_dir)
        await play.play(session, "gsm8k", players, limit=1, data_dir=data_dir, arena="again")
    for model in (m, j, p, lj):
        model.assert_done()
    with Store(store) as s:
        rows = [
            (r["run_id"], r["task_id"], r["model"], r["sample_index"], r["cached"], r["purpose"], r["output"])
            for r in s.calls()
        ]
    t0, q = "gsm8k/test/0", "cfe29f43bcc2"
    assert rows == [
        (1, t0, "M", 0, 0, "generate", "16 - 7 = 9. 9*2 = 18."),
        (1, t0, "M", 0, 0, "extract", " 18."),
        (2, t0, "M", 0, 0, "generate", "A1 18"),
        (2, t0, "M", 1, 0, "generate", "A2 17"),
        (2, t0, "M", 0, 0, "extract", " 18"),
        (2, t0, "M", 0, 0, "extract", " 17"),
        (2, t0, "J", 0, 0, "verify", "Yes"),
        (2, t0, "J", 0, 0, "verify", "No"),
        (3, t0, "M", 0, 1, "generate", "A1 18"),
        (3, t0, "M", 1, 1, "generate", "A2 17"),
        (3, t0, "M", 2, 0, "generate", "A3 18"),
        (3, t0, "M", 0, 1, "extract", " 18"),
        (3, t0, "M", 0, 1, "extract", " 17"),
        (3, t0, "M", 0, 0, "extract", " 18"),
        (3, t0, "J", 0, 1, "verify", "Yes"),
        (3, t0, "J", 0, 1, "verify", "No"),
        (3, t0, "J", 0, 0, "verify", "Yes"),
        (4, q, "M", 0, 0, "generate", "1 + 1 = 2."),
        (4, q, "M", 0, 0, "extract", " 2"),
        (5, q, "M", 0, 1, "generate", "1 + 1 = 2."),
        (5, q, "M", 0, 1, "extract", " 2"),
        (6, t0, "P", 0, 0, "generate", "18"),
        (7, t0, "P", 0, 0, "generate", "#### 18"),
        (None, t0, "LJ", 0, 0, "judge", "[[A]]"),
        (None, t0, "LJ", 0, 0, "judge", "[[B]]"),
        (None, t0, "LJ", 0, 1, "judge", "[[A]]"),
        (None, t0, "LJ", 0, 1, "judge", "[[B]]"),
    ]
