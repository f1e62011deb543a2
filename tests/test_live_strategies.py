"""Every strategy end to end on the embedded model, on a GSM8K test problem (small settings)."""

import pytest

from ponder.models import get_model
from ponder.strategies.registry import build_strategy
from ponder.tasks import gsm8k

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def model():
    return get_model("local")


@pytest.fixture(scope="module")
def task(request):
    [t] = gsm8k.load("test", limit=2)[1:]
    assert t.answer == "3"  # "A robe takes 2 bolts of blue fiber and half that much white fiber…"
    return t


def _sane(result, calls=None):
    c = result.compute
    assert c.calls == len(result.calls) and c.prompt_tokens > 0 and c.completion_tokens > 0
    assert 0 < c.prompt_tokens_evaluated <= c.prompt_tokens and c.seconds > 0
    if calls is not None:
        assert c.calls == calls
    assert result.correct == (result.answer == result.task.answer)


async def test_direct(model, task):
    result = await build_strategy("direct").run(task, model)
    _sane(result, calls=1)
    assert result.answer is not None and result.compute.completion_tokens <= 32


async def test_zero_shot_cot_with_the_extraction_call(model, task):
    result = await build_strategy("cot", max_tokens=320).run(task, model)
    _sane(result, calls=2)
    assert result.answer is not None and result.calls[1].purpose == "extract"


async def test_few_shot_cot(model, task, data_dir):
    result = await build_strategy("cot", exemplars="gsm8k", data_dir=data_dir, max_tokens=200).run(
        task, model
    )
    _sane(result, calls=1)
    assert result.answer is not None and result.details.explicit  # "The answer is N." as the exemplars show


async def test_chain_of_draft(model, task):
    result = await build_strategy("chain-of-draft", max_tokens=160).run(task, model)
    _sane(result, calls=1)
    assert result.compute.completion_tokens <= 160


async def test_self_consistency_shares_the_prompt_across_samples(model, task, data_dir):
    result = await build_strategy(
        "self-consistency", k=4, prompt="cot", exemplars="gsm8k", data_dir=data_dir, max_tokens=160
    ).run(task, model)
    _sane(result, calls=1)
    [call] = result.calls
    assert len(call.completions) == 4 and result.details.k == 4
    first, *others = call.completions
    # evaluated once for all 4 samples (less than all of it where a kept sequence held its beginning)
    assert (
        0
        < result.compute.prompt_tokens_evaluated
        == first.usage.prompt_tokens_evaluated
        <= first.usage.prompt_tokens
    )
    assert all(c.usage.prompt_tokens_evaluated == 0 for c in others)
    assert sum(result.details.votes.values()) == result.details.voters >= 2
    assert result.answer == max(result.details.votes, key=result.details.votes.get)


async def test_weighted_vote(model, task, data_dir):
    result = await build_strategy(
        "weighted-vote", k=3, exemplars="gsm8k", data_dir=data_dir, max_tokens=160, confidence="answer"
    ).run(task, model)
    _sane(result, calls=1)
    assert len(result.details.weights) == 3 and all(0 < w <= 1 for w in result.details.weights)


async def test_best_of_n_with_the_logprob_judge(model, task, data_dir):
    result = await build_strategy("best-of-n", k=3, exemplars="gsm8k", data_dir=data_dir, max_tokens=160).run(
        task, model
    )
    _sane(result, calls=4)
    assert result.compute.verifier_calls == 3 and all(0 <= s <= 1 for s in result.details.scores)
    assert len(set(result.details.scores)) > 1  # a real P(Yes), not a constant


async def test_beam_search_with_the_step_judge(model, task, data_dir):
    result = await build_strategy(
        "beam-search", width=2, expand=2, max_steps=3, step_tokens=64, exemplars="gsm8k", data_dir=data_dir
    ).run(task, model)
    _sane(result)
    rounds = result.details.rounds
    assert 1 <= len(rounds) <= 3 and rounds[0].candidates >= 2
    assert result.compute.verifier_calls >= rounds[0].candidates


async def test_beam_search_with_monte_carlo_rollouts(model, task, data_dir):
    result = await build_strategy(
        "beam-search",
        width=1,
        expand=2,
        max_steps=2,
        step_tokens=48,
        verifier="mc",
        rollouts=2,
        exemplars="gsm8k",
        data_dir=data_dir,
        max_tokens=96,
    ).run(task, model)
    _sane(result)
    assert any(c.purpose == "verify-rollout" and len(c.completions) == 2 for c in result.calls)


async def test_adaptive_consistency(model, task, data_dir):
    result = await build_strategy(
        "adaptive-consistency", k=6, batch=2, exemplars="gsm8k", data_dir=data_dir, max_tokens=160
    ).run(task, model)
    _sane(result)
    assert result.details.k in (2, 4, 6) and len(result.calls) == result.details.k // 2


async def test_a_task_budget_is_respected(model, task):
    result = await build_strategy(
        "self-consistency", k=4, max_tokens=200, per_task_budget=120, extract_call=False
    ).run(task, model)
    assert result.compute.completion_tokens <= 120 and result.budget.spent <= 120
