"""The cache: it reads the calls table; a Recorder's sink writes each call to it once."""

from ponder.models.cached import CachedModel
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.trace import Recorder
from ponder.types import GenerationRequest


async def test_a_repeat_is_served_from_the_store_with_the_original_usage(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    inner = ScriptedModel([Step(["one two"])])  # one call only: a second would raise
    rec = Recorder(CachedModel(inner, store), sink=store.call_sink(None, None))
    req = GenerationRequest.chat("what?")
    first = await rec.generate(req)
    again = await rec.generate(req)
    assert not first[0].cached and again[0].cached
    assert again[0].text == "one two" and again[0].usage == first[0].usage
    inner.assert_done()
    assert [c["cached"] for c in store.calls()] == [0, 1]


async def test_more_samples_later_pay_only_for_the_new_ones(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    inner = ScriptedModel(
        [Step(["a", "b"], expect={"n": 2, "seed": 10}), Step(["c"], expect={"n": 1, "seed": 12})]
    )
    rec = Recorder(CachedModel(inner, store), sink=store.call_sink(None, None))
    req = GenerationRequest.chat("q", temperature=0.7, seed=10)
    two = await rec.generate(req.with_n(2))
    three = await rec.generate(req.with_n(3))
    assert [c.text for c in two] == ["a", "b"]
    assert [c.text for c in three] == ["a", "b", "c"]
    assert [c.cached for c in three] == [True, True, False]
    assert [c.index for c in three] == [0, 1, 2]
    inner.assert_done()


async def test_different_requests_miss_and_calls_are_logged_under_the_sinks_run_and_task(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    run = store.start_run("eval", "scripted")
    inner = ScriptedModel([Step(["x"]), Step(["y"])])
    rec = Recorder(CachedModel(inner, store), sink=store.call_sink(run, "task-7"))
    await rec.generate(GenerationRequest.chat("q", temperature=0.0))
    await rec.generate(GenerationRequest.chat("q", temperature=0.5))
    rows = store.calls(run)
    assert [(r["task_id"], r["output"]) for r in rows] == [("task-7", "x"), ("task-7", "y")]


async def test_cache_can_be_bypassed_for_reads(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    inner = ScriptedModel([Step(["x"]), Step(["y"])])
    model = CachedModel(inner, store, read=False)
    req = GenerationRequest.chat("q")
    assert (await model.generate(req))[0].text == "x"
    assert (await model.generate(req))[0].text == "y"


async def test_a_strategy_run_through_the_cache_logs_each_call_purpose_and_reports_cache_share(tmp_path):
    from ponder.strategies.best_of_n import BestOfN
    from ponder.strategies.cot import ChainOfThought
    from ponder.types import Task

    store = Store(tmp_path / "s.sqlite")
    script = [Step(["The answer is 4.", "The answer is 5."]), Step(["Yes"]), Step(["No"])]
    strategy = BestOfN(prompt=ChainOfThought(extract_call=False), n=2)
    task = Task("t", "2+2?", "4")
    first = await strategy.run(
        task, CachedModel(ScriptedModel(list(script)), store), store.call_sink(None, "t")
    )
    assert [r["purpose"] for r in store.calls()] == ["generate", "generate", "verify", "verify"]
    assert first.compute.cached_calls == 0 and first.compute.cached_tokens == 0
    again = await strategy.run(task, CachedModel(ScriptedModel([]), store))  # no model call allowed
    assert again.answer == first.answer
    assert again.compute.cached_calls == 3 and again.compute.cached_tokens == first.compute.tokens
    assert again.compute.verifier_calls == 2


async def test_the_cache_writes_nothing_itself(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    model = CachedModel(ScriptedModel([Step(["x"]), Step(["y"])]), store)
    req = GenerationRequest.chat("q")
    assert (await model.generate(req))[0].text == "x"
    assert store.calls() == []
    assert (await model.generate(req))[0].text == "y"  # nothing was stored to hit


async def test_a_hit_and_a_miss_of_one_call_are_one_row_each_in_sample_order(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    run = store.start_run("eval", "scripted")
    inner = ScriptedModel([Step(["a"]), Step(["b", "c"], expect={"n": 2, "seed": 6})])
    rec = Recorder(CachedModel(inner, store), sink=store.call_sink(run, "t"))
    req = GenerationRequest.chat("q", temperature=0.7, seed=5)
    await rec.generate(req)
    await rec.generate(req.with_n(3))
    rows = store.calls(run)
    assert [(r["sample_index"], r["cached"], r["output"]) for r in rows] == [
        (0, 0, "a"),
        (0, 1, "a"),
        (1, 0, "b"),
        (2, 0, "c"),
    ]
    assert len({r["request_hash"] for r in rows}) == 1 and {r["task_id"] for r in rows} == {"t"}
    inner.assert_done()
