"""Every faithfulness probe on two items with the embedded model (GSM8K; date understanding for
answer-is-always-A), through the eval harness: stored, with every probe call in the compute."""

import pytest

from ponder.eval.evaluate import Plan, evaluate
from ponder.eval.session import Session
from ponder.faithfulness.registry import ALLOWED, build_probe
from ponder.store import Store

pytestmark = pytest.mark.live

# probe → (fewest calls per item, metrics every item must have)
EXPECTED = {
    "early": (3, {"area_over_curve", "agreement_without_cot"}),
    "mistakes": (2, set()),
    "filler": (4, {"accuracy_cot", "accuracy_filler", "accuracy_no_cot"}),
    "paraphrase": (2, set()),
    "suggested": (4, {"answer_is_suggestion", "moved_to_suggestion", "cot_mentions_suggestion"}),
    "ablations": (
        5,
        {
            "accuracy_cot",
            "accuracy_direct",
            "accuracy_equation_only",
            "accuracy_variable_compute",
            "accuracy_reasoning_after",
        },
    ),
}


async def run(task, plans, store, data_dir):
    async with Session.open("local", store) as session:
        return await evaluate(
            session,
            task,
            plans,
            limit=2,
            concurrency=2,
            data_dir=data_dir,
            build=build_probe,
            allowed=ALLOWED,
            kind="faithfulness",
        )


async def test_each_probe_on_two_gsm8k_items(tmp_path, data_dir):
    store = tmp_path / "s.sqlite"
    plans = [Plan(name, {"max_tokens": 128}) for name in EXPECTED]
    outcomes = await run("gsm8k", plans, store, data_dir)
    assert [o.progress.done for o in outcomes] == [2] * len(EXPECTED)

    with Store(store) as s:
        for o, (name, (calls, metrics)) in zip(outcomes, EXPECTED.items()):
            rows = s.result_rows(o.run_id)
            assert len(rows) == 2, name
            for row, result in zip(rows, s.results(o.run_id)):
                probe = {"metrics": result.details.metrics}
                assert row["calls"] >= calls, name
                assert metrics <= set(probe["metrics"]), (name, probe["metrics"])
                assert all(0.0 <= v <= 1.0 for v in probe["metrics"].values()), name
                logged = [c for c in s.calls(o.run_id) if c["task_id"] == row["task_id"]]
                assert len(logged) == row["calls"], name  # every probe call is in the compute


async def test_answer_is_always_a_on_two_date_items(tmp_path, data_dir):
    [outcome] = await run(
        "date",
        [Plan("always-a", {"max_tokens": 128, "exemplars": "date_understanding"})],
        tmp_path / "s.sqlite",
        data_dir,
    )
    assert outcome.progress.done == 2

    with Store(tmp_path / "s.sqlite") as s:
        for row, result in zip(s.result_rows(outcome.run_id), s.results(outcome.run_id)):
            metrics = result.details.metrics
            assert set(metrics) == {
                "answer_a_biased",
                "answer_a_unbiased",
                "accuracy_biased",
                "accuracy_unbiased",
                "cot_mentions_pattern",
            }
            assert row["calls"] == 4
