"""Rewards (`ponder.rewards`) on worked examples, and against TRL's built-in rewards and GRPO's
advantage computation where they overlap."""

from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.rewards import (
    BudgetReward,
    CorrectnessReward,
    FormatReward,
    KimiLengthReward,
    RelativeLengthReward,
    completion_text,
    group_advantages,
    groups_of,
    kimi_length_scores,
)
from ponder.rewards.groups import zero_std_share
from ponder.rewards.length import budget_penalty, relative_length_bonus


def test_correctness_reads_the_answer_by_value_in_both_trl_formats():
    completions = [
        "3 + 15 = 18. The answer is 18.",
        [{"role": "assistant", "content": "#### 18.00"}],
        "so 17",
    ]
    assert CorrectnessReward()(completions, answer=["18", "18", "18"]) == [1.0, 1.0, 0.0]
    assert CorrectnessReward()(["x is 4"], answer=[None]) == [None]


def test_correctness_needs_answers_one_per_completion():
    with pytest.raises(ValueError, match="'answer' column"):
        CorrectnessReward()(["18"])
    with pytest.raises(ValueError, match="2 completions but 1 answers"):
        CorrectnessReward()(["18", "19"], answer=["18"])
    with pytest.raises(TypeError, match="got int"):
        completion_text(5)
    with pytest.raises(ValueError, match="unknown answer kind 'digits'"):
        CorrectnessReward("digits")


def test_format_rewards_an_explicit_answer_only():
    completions = [
        "The answer is 7.",
        r"so \boxed{7}",
        "7 apples, 3 pears, so 4",
        "Answer: ",
        "no number at all",
    ]
    assert FormatReward()(completions) == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_correctness_agrees_with_trl_accuracy_reward_on_boxed_numbers():
    pytest.importorskip("math_verify")
    from trl.rewards import accuracy_reward

    golds = ["18", "3", "1/2", "42", "0.25", "100"]
    replies = [
        r"\boxed{18}",
        r"so \boxed{4}",
        r"\boxed{\frac{1}{2}}",
        r"\boxed{42}",
        r"\boxed{0.25}",
        r"\boxed{10}",
    ]
    completions = [[{"role": "assistant", "content": r}] for r in replies]
    ours = CorrectnessReward()(completions, answer=golds)
    theirs = accuracy_reward(completions, solution=golds)
    assert ours == theirs == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]


def test_group_advantages_worked_example():
    # one right of four: mean 0.25, sample std 0.5
    got = group_advantages([1, 0, 0, 0, 1, 1, 1, 1], 4)
    assert got[:4] == pytest.approx([0.75 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001])
    assert got[4:] == [0.0] * 4  # all agree: nothing to learn
    assert group_advantages([2.0, 0.0], 2, scale=False) == [1.0, -1.0]
    assert zero_std_share([1, 0, 0, 0, 1, 1, 1, 1], 4) == 0.5
    with pytest.raises(ValueError, match="do not split into groups of 3"):
        group_advantages([1, 0], 3)


@given(st.lists(st.floats(-5, 5), min_size=6, max_size=6), st.sampled_from([1, 2, 3, 6]))
def test_group_advantages_match_grpo_trainer(rewards, g):
    torch = pytest.importorskip("torch")
    from trl.trainer.utils import nanstd

    r = torch.tensor(rewards, dtype=torch.float64)
    mean = r.view(-1, g).mean(dim=1).repeat_interleave(g)
    std = nanstd(r.view(-1, g), dim=1).repeat_interleave(g) if g > 1 else torch.zeros_like(r)
    reference = ((r - mean) / (std + 1e-4)).tolist()
    assert group_advantages(rewards, g) == pytest.approx(
        reference, rel=1e-6, abs=1e-6
    )  # TRL corrects in float32


def test_groups_of_keeps_first_appearance_order():
    assert groups_of(["b", "a", "b", "c", "a"]) == [[0, 2], [1, 4], [3]]


def test_relative_rule_rewards_correct_answers_shorter_than_the_group_mean():
    # mean length 25: the correct 10 and 20 earn it, the wrong 30 and the correct 40 do not
    assert relative_length_bonus([10, 20, 30, 40], [True, True, False, True], bonus=0.5) == [
        0.5,
        0.5,
        0.0,
        0.0,
    ]
    assert relative_length_bonus([5, 5], [True, True]) == [0.0, 0.0]  # none is shorter than the mean


def test_kimi_length_scores_worked_example():
    # lambda = 0.5 - (len - 100) / 200: 0.5, 0.0, -0.5
    assert kimi_length_scores([100, 200, 300], [True, True, True]) == [0.5, 0.0, -0.5]
    assert kimi_length_scores([100, 200, 300], [False, False, False]) == [0.0, 0.0, -0.5]
    assert kimi_length_scores([50, 50], [True, False]) == [0.0, 0.0]


def test_length_rewards_group_completions_by_prompt():
    prompts = ["p", "q", "p", "q"]
    completions = ["The answer is 1.", "The answer is 2.", "The answer is 1.", "The answer is 9."]
    ids = [[0] * 10, [0] * 10, [0] * 30, [0] * 50]
    answers = ["1", "2", "1", "2"]
    # group p: lengths 10, 30 (mean 20), both right; group q: 10 right, 50 wrong (mean 30)
    rel = RelativeLengthReward(bonus=1.0)(completions, prompts=prompts, completion_ids=ids, answer=answers)
    assert rel == [1.0, 1.0, 0.0, 0.0]
    kimi = KimiLengthReward("number")(completions, prompts=prompts, completion_ids=ids, answer=answers)
    assert kimi == [0.5, 0.5, -0.5, -0.5]
    with pytest.raises(ValueError, match="needs completion_ids"):
        RelativeLengthReward()(completions, prompts=prompts, answer=answers)
    with pytest.raises(ValueError, match="needs the prompts"):
        KimiLengthReward()(completions, completion_ids=ids, answer=answers)


def test_conversational_prompts_group_by_their_messages():
    prompts = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]] * 2
    got = RelativeLengthReward()(
        ["The answer is 1."] * 4, prompts=prompts, completion_ids=[[0], [0], [0, 0, 0], [0]], answer=["1"] * 4
    )
    assert got == [0.5, 0.0, 0.0, 0.0]


def test_budget_penalty_equals_trl_soft_overlong_punishment():
    from trl.rewards import get_soft_overlong_punishment

    theirs = get_soft_overlong_punishment(max_completion_len=100, soft_punish_cache=20)
    ids = [[1] * n for n in range(0, 131, 5)]
    ours = BudgetReward(100, 20)(["x"] * len(ids), completion_ids=ids)
    assert ours == pytest.approx(theirs(ids))
    assert budget_penalty(90, 100, 20) == -0.5
    with pytest.raises(ValueError, match="window must be in 1..100"):
        BudgetReward(100, 0)


def test_rewards_pickle_and_carry_names_for_trl_logs():
    for reward in (
        CorrectnessReward(),
        FormatReward(),
        RelativeLengthReward(),
        KimiLengthReward(),
        BudgetReward(8, 4),
    ):
        again = pickle.loads(pickle.dumps(reward))
        assert again.__name__ == reward.__name__
    names = {r.__name__ for r in (CorrectnessReward(), RelativeLengthReward(), KimiLengthReward())}
    assert len(names) == 3
    assert not math.isnan(BudgetReward(8, 4)(["a"], completion_ids=[[1] * 7])[0])
