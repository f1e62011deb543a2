"""Each strategy against the strict scripted model: the exact calls it makes and what it answers."""

import json
import math

import pytest

from ponder.errors import ConfigError, UnsupportedAbility
from ponder.models.scripted import ScriptedModel, Step
from ponder.strategies.adaptive import AdaptiveConsistency
from ponder.strategies.base import Budget
from ponder.strategies.beam_search import BeamSearch
from ponder.strategies.best_of_n import BestOfN
from ponder.strategies.chain import Direct
from ponder.strategies.chain_of_draft import ChainOfDraft
from ponder.strategies.cot import KOJIMA_TRIGGERS, ChainOfThought
from ponder.strategies.registry import STRATEGIES, build_strategy
from ponder.strategies.self_consistency import SelfConsistency, WeightedVote
from ponder.strategies.verifiers import LLMJudge, LLMStepJudge, MonteCarloVerifier
from ponder.types import BudgetUse, Task

TASK = Task("t1", "Janet has 16 eggs, eats 3 and bakes with 4, and sells the rest at $2. How much?", "18")


@pytest.fixture
def shots(tmp_path):
    path = tmp_path / "shots.json"
    path.write_text(
        json.dumps(
            {
                "exemplars": [
                    {"question": "2 + 3?", "target": "2 + 3 = 5. The answer is 5.", "answer": "5"},
                    {"question": "4 * 2?", "target": "4 * 2 = 8. The answer is 8.", "answer": "8"},
                ]
            }
        )
    )
    return str(path)


def judge_step(p: float) -> Step:
    """A judge reply whose first token is "Yes" with P(Yes) = p and P(No) = 1 - p."""
    top = (("Yes", math.log(p)), ("No", math.log(1 - p)))
    return Step(
        ["Yes"],
        expect={"max_tokens": 1, "logprobs": True, "top_logprobs": 10},
        logprobs=[[("Yes", math.log(p), top)]],
    )


async def test_direct_asks_for_the_answer_only():
    model = ScriptedModel([Step(["18"], expect={"max_tokens": 32, "temperature": 0.0})])
    result = await Direct().run(TASK, model)
    assert result.answer == "18" and result.correct is True
    assert "final answer only" in model.requests[0].messages[-1].content
    model.assert_done()


async def test_direct_with_exemplars_shows_answers_without_reasoning(shots):
    model = ScriptedModel([Step(["The answer is 18."])])
    await Direct(exemplars=shots).run(TASK, model)
    msgs = model.requests[0].messages
    assert [m.role for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[1].content == "The answer is 5." and msgs[-1].content == TASK.question


async def test_few_shot_cot_puts_the_exemplars_before_the_question_and_reads_the_chain(shots):
    model = ScriptedModel([Step(["16 - 3 - 4 = 9, 9 * 2 = 18. The answer is 18."])])
    result = await ChainOfThought(exemplars=shots).run(TASK, model)
    msgs = model.requests[0].messages
    assert msgs[1].content == "2 + 3 = 5. The answer is 5." and msgs[-1].content == TASK.question
    assert result.answer == "18" and len(result.calls) == 1
    model.assert_done()


async def test_few_shot_cot_with_the_wei_exemplars_from_the_data_folder(data_dir):
    model = ScriptedModel([Step(["The answer is 18."])])
    await ChainOfThought(exemplars="gsm8k", data_dir=data_dir).run(TASK, model)
    msgs = model.requests[0].messages
    assert len(msgs) == 17 and msgs[0].content.startswith("There are 15 trees in the grove.")
    assert msgs[1].content.endswith("The answer is 6.")


async def test_zero_shot_cot_makes_kojimas_second_call_to_read_the_answer():
    chain = "Janet has 16 - 3 - 4 = 9 eggs left. She sells them for 9 * 2 = 18 dollars."
    trigger = KOJIMA_TRIGGERS["number"]
    model = ScriptedModel(
        [
            Step([chain], expect=lambda r: r.messages[-1].content.endswith("Let's think step by step.")),
            Step(
                [" 18."], expect=lambda r: r.assistant_prefix == f"{chain}\n{trigger}" and r.max_tokens == 32
            ),
        ]
    )
    result = await ChainOfThought().run(TASK, model)
    assert result.answer == "18" and result.reasoning == chain
    assert [c.purpose for c in result.calls] == ["generate", "extract"]
    assert result.compute.calls == 2
    model.assert_done()


async def test_chain_of_draft_asks_for_drafts_and_reads_the_answer_after_the_separator():
    model = ScriptedModel([Step(["16-3-4=9; 9*2=18.\n#### 18"])])
    result = await ChainOfDraft().run(TASK, model)
    system = model.requests[0].messages[0]
    assert system.role == "system" and "five words" in system.content and "####" in system.content
    assert result.answer == "18"


def _sc(k, prompt=None, **kw):
    return SelfConsistency(prompt=prompt or ChainOfThought(extract_call=False), k=k, **kw)


async def test_self_consistency_sends_one_request_and_the_majority_wins():
    texts = ["The answer is 18.", "The answer is 20.", "So $18.00.", "The answer is 20.", "The answer is 18."]
    model = ScriptedModel([Step(texts, expect={"n": 5, "temperature": 0.7, "seed": 0})])
    result = await _sc(5).run(TASK, model)
    assert result.answer == "18" and result.details.votes == {"18": 3, "20": 2}
    assert result.reasoning == "The answer is 18." and len(result.calls) == 1
    model.assert_done()


async def test_self_consistency_tie_goes_to_the_first_answer_seen():
    model = ScriptedModel(
        [Step(["The answer is 20.", "The answer is 18.", "The answer is 18.", "The answer is 20."])]
    )
    result = await _sc(4).run(TASK, model)
    assert result.answer == "20" and result.correct is False


async def test_self_consistency_without_any_parseable_chain_has_no_answer():
    model = ScriptedModel([Step(["I am not sure.", "Hard to say.", "No idea."])])
    result = await _sc(3).run(TASK, model)
    assert result.answer is None and result.details.voters == 0 and result.correct is False


async def test_self_consistency_over_zero_shot_cot_extracts_every_chain():
    model = ScriptedModel(
        [
            Step(["chain one", "chain two"], expect={"n": 2}),
            Step([" 18."], expect={"max_tokens": 32}),
            Step([" 7."], expect={"max_tokens": 32}),
        ]
    )
    result = await _sc(2, prompt=ChainOfThought()).run(TASK, model)
    assert list(result.details.answers) == ["18", "7"] and result.answer == "18"
    assert [c.purpose for c in result.calls] == ["generate", "extract", "extract"]


async def test_self_consistency_over_chain_of_draft():
    model = ScriptedModel(
        [Step(["9*2=18\n#### 18", "#### 18", "#### 20"], expect=lambda r: r.messages[0].role == "system")]
    )
    result = await _sc(3, prompt=ChainOfDraft()).run(TASK, model)
    assert result.answer == "18" and result.details.prompt == "chain-of-draft"


async def test_weighted_vote_lets_confident_chains_overrule_the_majority():
    lp = [[("The answer is 18.", -0.05)], [("The answer is 20.", -2.0)], [("The answer is 20.", -2.0)]]
    model = ScriptedModel(
        [
            Step(
                ["The answer is 18.", "The answer is 20.", "The answer is 20."],
                expect={"logprobs": True, "n": 3},
                logprobs=lp,
            )
        ]
    )
    result = await WeightedVote(prompt=ChainOfThought(extract_call=False), k=3).run(TASK, model)
    assert result.answer == "18"
    assert list(result.details.weights) == pytest.approx([math.exp(-0.05), math.exp(-2.0), math.exp(-2.0)])


async def test_weighted_vote_on_the_answer_span():
    toks = [[("So", -3.0), (" 18", -0.01)], [("So", -0.01), (" 20", -2.0)], [("So", -0.01), (" 20", -2.0)]]
    model = ScriptedModel([Step(["So 18", "So 20", "So 20"], logprobs=toks)])
    result = await WeightedVote(prompt=ChainOfThought(extract_call=False), k=3, confidence="answer").run(
        TASK, model
    )
    assert result.answer == "18"  # by whole-sequence confidence 20 would win (exp(-1.505) vs 2 * exp(-1.005))


async def test_weighted_vote_needs_logprobs():
    model = ScriptedModel([], abilities=frozenset())
    with pytest.raises(UnsupportedAbility, match="logprobs"):
        await WeightedVote(k=2).run(TASK, model)


async def test_best_of_n_scores_every_candidate_and_the_best_wins():
    model = ScriptedModel(
        [
            Step(["The answer is 20.", "The answer is 18.", "I give up."]),
            judge_step(0.3),
            judge_step(0.9),
            judge_step(0.95),
        ]
    )
    result = await BestOfN(prompt=ChainOfThought(extract_call=False), n=3).run(TASK, model)
    assert list(result.details.scores) == pytest.approx([0.3, 0.9, 0.95])
    assert result.answer == "18"  # the unanswered chain scored higher but has no answer
    assert [c.purpose for c in result.calls] == ["generate", "verify", "verify", "verify"]
    assert result.compute.verifier_calls == 3 and result.compute.verifier_completion_tokens == 3
    model.assert_done()


async def test_the_judge_falls_back_to_a_rating_without_logprobs():
    model = ScriptedModel(
        [
            Step(["The answer is 20.", "The answer is 18."]),
            Step(["3"], expect={"logprobs": False}),
            Step(["8"], expect={"logprobs": False}),
        ],
        abilities=frozenset(),
    )
    result = await BestOfN(prompt=ChainOfThought(extract_call=False), n=2).run(TASK, model)
    assert list(result.details.scores) == pytest.approx([2 / 9, 7 / 9]) and result.answer == "18"
    assert "Rate it from 1" in model.requests[1].messages[-1].content


async def test_best_of_n_with_a_separate_judge_model():
    judge = ScriptedModel([judge_step(0.2), judge_step(0.7)])
    model = ScriptedModel([Step(["The answer is 20.", "The answer is 18."])])
    result = await BestOfN(
        prompt=ChainOfThought(extract_call=False), n=2, verifier=LLMJudge(model=judge)
    ).run(TASK, model)
    assert result.answer == "18" and result.compute.verifier_calls == 2
    judge.assert_done()
    model.assert_done()


def _beam_script():
    """Round 0: 4 first steps (one a duplicate). Round 1: each kept beam gets 2 next steps."""
    return [
        Step(
            ["Step A", "Step B", "Step C", "Step A"],
            expect={"n": 4, "stop": ("\n\n",), "assistant_prefix": ""},
        ),
        judge_step(0.9),
        judge_step(0.2),
        judge_step(0.6),  # A, B, C
        Step(["The answer is 18.", "A goes on"], expect={"n": 2, "assistant_prefix": "Step A\n\n"}),
        Step(["The answer is 20.", "C goes on"], expect={"n": 2, "assistant_prefix": "Step C\n\n"}),
        judge_step(0.8),
        judge_step(0.3),
        judge_step(0.95),
        judge_step(0.1),
    ]


@pytest.mark.parametrize("aggregation, answer", [("last", "20"), ("min", "18"), ("product", "18")])
async def test_beam_search_keeps_the_best_beams_and_aggregates_step_scores(aggregation, answer):
    model = ScriptedModel(_beam_script())
    search = BeamSearch(
        prompt=ChainOfThought(extract_call=False), width=2, expand=2, max_steps=4, aggregation=aggregation
    )
    result = await search.run(TASK, model)
    assert result.answer == answer and result.details.finished is True
    assert result.details.rounds[0].candidates == 3  # the duplicate was dropped
    assert result.compute.verifier_calls == 7
    model.assert_done()  # B (0.2) was never expanded; both round-1 winners finished: no round 2


async def test_beam_search_records_its_tree_of_scored_steps():
    model = ScriptedModel(_beam_script())
    search = BeamSearch(prompt=ChainOfThought(extract_call=False), width=2, expand=2, max_steps=4)
    details = (await search.run(TASK, model)).details
    shape = [(n.parent, n.depth, n.step, round(n.score, 6), n.kept, n.finished) for n in details.tree]
    assert shape == [
        (None, 1, "Step A", 0.9, True, False),
        (None, 1, "Step B", 0.2, False, False),
        (None, 1, "Step C", 0.6, True, False),
        (0, 2, "The answer is 18.", 0.8, True, True),
        (0, 2, "A goes on", 0.3, False, False),
        (2, 2, "The answer is 20.", 0.95, True, True),
        (2, 2, "C goes on", 0.1, False, False),
    ]
    assert details.best == 5 and details.tree[details.best].score == details.score


async def test_beam_search_keep_fraction_and_the_step_limit():
    model = ScriptedModel(
        [
            Step(["S1", "S2", "S3", "S4"]),
            judge_step(0.5),
            judge_step(0.7),
            judge_step(0.6),
            judge_step(0.1),
            Step(["S2 then", "S2 else"], expect={"assistant_prefix": "S2\n\n"}),
            judge_step(0.4),
            judge_step(0.8),
        ]
    )
    search = BeamSearch(
        prompt=ChainOfThought(extract_call=False), width=2, expand=2, keep_fraction=0.25, max_steps=2
    )
    result = await search.run(TASK, model)
    assert result.details.finished is False and result.reasoning == "S2\n\nS2 else"
    assert result.answer is None  # unfinished and no answer stated: no guess
    model.assert_done()


async def test_monte_carlo_process_verifier_scores_agreement_of_rollouts():
    model = ScriptedModel(
        [
            Step(["Half of 36 is 18.", "Half of 36 is 20."]),
            Step(
                ["The answer is 18.", "so 18", "The answer is 7."],
                expect={"n": 3, "assistant_prefix": "Half of 36 is 18.\n\n"},
            ),
            Step(["The answer is 5.", "The answer is 6.", "The answer is 7."]),
            Step(
                ["The answer is 18.", "The answer is 18."],
                expect={"assistant_prefix": "Half of 36 is 18.\n\n"},
            ),
            Step(["", "", ""], expect={"assistant_prefix": "Half of 36 is 18.\n\nThe answer is 18.\n\n"}),
        ]
    )
    search = BeamSearch(
        prompt=ChainOfThought(extract_call=False),
        width=1,
        expand=2,
        max_steps=2,
        verifier=MonteCarloVerifier(rollouts=3),
    )
    result = await search.run(TASK, model)
    assert list(result.details.step_scores) == pytest.approx([2 / 3, 1.0])
    assert result.answer == "18"
    assert [c.purpose for c in result.calls].count("verify-rollout") == 3


async def test_beam_search_needs_prefix_continuation():
    with pytest.raises(UnsupportedAbility, match="assistant_prefix"):
        await BeamSearch(verifier=LLMStepJudge()).run(TASK, ScriptedModel([], abilities=frozenset()))


async def test_adaptive_consistency_stops_when_the_leader_is_clear():
    model = ScriptedModel(
        [
            Step(["The answer is 18."] * 2, expect={"n": 2, "seed": 0}),
            Step(["The answer is 18.", "The answer is 20."], expect={"n": 2, "seed": 2}),
            Step(["The answer is 18."] * 2, expect={"n": 2, "seed": 4}),
            Step(["The answer is 18."] * 2, expect={"n": 2, "seed": 6}),
        ]
    )
    result = await AdaptiveConsistency(prompt=ChainOfThought(extract_call=False), k=16, batch=2).run(
        TASK, model
    )
    assert result.answer == "18" and result.details.k == 8 and result.details.stopped_by_rule is True
    # P(leader ahead) = 0.875, 0.8125, 0.9375, then 0.98 >= 0.95
    assert list(result.details.history) == [
        {"18": 2},
        {"18": 3, "20": 1},
        {"18": 5, "20": 1},
        {"18": 7, "20": 1},
    ]
    model.assert_done()


async def test_adaptive_consistency_draws_no_more_than_k():
    model = ScriptedModel([Step(["The answer is 1.", "The answer is 2."]), Step(["The answer is 3."])])
    result = await AdaptiveConsistency(prompt=ChainOfThought(extract_call=False), k=3, batch=2).run(
        TASK, model
    )
    assert result.details.k == 3 and result.details.stopped_by_rule is False and result.answer == "1"


async def test_a_per_call_budget_caps_every_call():
    model = ScriptedModel(
        [Step(["16 - 3 - 4 = 9 and then"], finish_reason="length", expect={"max_tokens": 6})]
    )
    result = await ChainOfThought(extract_call=False, budget=Budget(per_call=6)).run(TASK, model)
    assert result.answer is None and result.budget.hit is True and result.details.truncated


async def test_a_per_task_budget_stops_sampling_and_answers_with_what_it_has():
    model = ScriptedModel(
        [
            Step(["The answer is 5.", "The answer is 5."], expect={"max_tokens": 10}),  # 8 of 20 tokens
            Step(["The answer is 6.", "The answer is 6."], expect={"max_tokens": 6}),  # 16 of 20
            Step(["so 7", "so 7"], finish_reason="length", expect={"max_tokens": 2}),  # 20 of 20
        ]
    )
    strategy = AdaptiveConsistency(
        prompt=ChainOfThought(extract_call=False, max_tokens=10), k=16, batch=2, budget=Budget(per_task=20)
    )
    result = await strategy.run(TASK, model)
    assert result.answer == "5" and result.details.votes == {"5": 2, "6": 2}
    assert result.budget == BudgetUse(per_call=None, per_task=20, spent=20, hit=True)
    model.assert_done()


async def test_zero_shot_cot_holds_back_budget_for_its_extraction_call():
    model = ScriptedModel(
        [
            Step(
                ["one two three four five six seven eight"], finish_reason="length", expect={"max_tokens": 8}
            ),
            Step([" 18."], expect={"max_tokens": 32}),
        ]
    )
    result = await ChainOfThought(budget=Budget(per_task=40)).run(TASK, model)
    assert result.answer == "18" and result.budget.hit and result.budget.spent <= 40
    model.assert_done()


async def test_zero_shot_cot_out_of_budget_skips_the_extraction_call():
    model = ScriptedModel([Step(["one two three four"], finish_reason="length", expect={"max_tokens": 4})])
    result = await ChainOfThought(budget=Budget(per_task=4)).run(TASK, model)
    assert result.answer is None and len(result.calls) == 1 and result.budget.hit


def test_every_strategy_builds_by_name_and_bad_options_are_named():
    for name in STRATEGIES:
        assert build_strategy(name).name == name
    with pytest.raises(ConfigError, match="does not take option.*width"):
        build_strategy("self-consistency", width=3)
    with pytest.raises(ConfigError, match="unknown strategy 'tree-of-thought'"):
        build_strategy("tree-of-thought")
    with pytest.raises(ConfigError, match="reward_url"):
        build_strategy("best-of-n", verifier="reward")
    with pytest.raises(ConfigError, match="per_task must be a positive"):
        build_strategy("cot", per_task_budget=0)
    sc = build_strategy("self-consistency", prompt="chain-of-draft", k=5)
    assert sc.k == 5 and sc.prompt.name == "chain-of-draft"


async def test_beam_search_out_of_budget_answers_from_the_beams_it_has():
    model = ScriptedModel(
        [
            Step(["Half of 36 is 18.", "So it is 20."], expect={"max_tokens": 6}),
            judge_step(0.9),
            judge_step(0.4),
        ]
    )
    search = BeamSearch(
        prompt=ChainOfThought(extract_call=False),
        width=1,
        expand=2,
        max_steps=5,
        step_tokens=8,
        budget=Budget(per_task=12),
    )
    result = await search.run(TASK, model)  # 9 + 2 tokens spent; 1 left cannot fund 2 samples
    assert result.reasoning == "Half of 36 is 18." and result.answer is None  # unfinished: no guess
    assert result.budget.hit and result.details.finished is False
    model.assert_done()


async def test_kojima_extraction_without_prefix_continuation_asks_in_a_new_turn():
    from ponder.models import LOGPROBS

    model = ScriptedModel(
        [
            Step(["16 - 7 = 9 eggs, 9 * 2 = 18 dollars."]),
            Step(
                [" 18"],
                expect=lambda r: (
                    not r.assistant_prefix
                    and "Here is a worked solution" in r.messages[-1].content
                    and r.messages[-1].content.endswith(KOJIMA_TRIGGERS["number"])
                ),
            ),
        ],
        abilities=frozenset({LOGPROBS}),
    )
    result = await ChainOfThought().run(TASK, model)
    assert result.answer == "18"
    model.assert_done()


async def test_kojima_triggers_follow_the_answer_kind():
    task = Task("c", "Which is a fruit? (A) stone (B) apple", "B", kind="choice")
    model = ScriptedModel(
        [
            Step(["An apple grows on trees."]),
            Step(
                [" (B)."],
                expect=lambda r: r.assistant_prefix.endswith("Therefore, among A through B, the answer is"),
            ),
        ]
    )
    result = await ChainOfThought().run(task, model)
    assert result.answer == "B" and result.correct is True


async def test_a_per_call_cap_does_not_end_beam_search():
    model = ScriptedModel(
        [
            Step(["Half of 36"], finish_reason="length", expect={"max_tokens": 4}),
            judge_step(0.7),
            Step(["The answer is 18."], expect={"max_tokens": 4, "assistant_prefix": "Half of 36\n\n"}),
            judge_step(0.8),
        ]
    )
    search = BeamSearch(
        prompt=ChainOfThought(extract_call=False),
        width=1,
        expand=1,
        max_steps=3,
        step_tokens=8,
        budget=Budget(per_call=4),
    )
    result = await search.run(TASK, model)
    assert result.answer == "18" and len(result.details.rounds) == 2 and result.details.finished
    model.assert_done()


def test_the_kojima_choice_cue_runs_to_the_last_option_shown():
    from ponder.strategies.cot import kojima_trigger

    six = Task("d", "What is the date?\nAnswer Choices: (A) 1 (B) 2 (C) 3 (D) 4 (E) 5 (F) 6", "D", "choice")
    five = Task("a", "Pick one.\nAnswer Choices: (A) 1 (B) 2 (C) 3 (D) 4 (E) 5", "A", "choice")
    assert kojima_trigger(six) == "Therefore, among A through F, the answer is"
    assert kojima_trigger(five) == KOJIMA_TRIGGERS["choice"]
    assert kojima_trigger(TASK) == KOJIMA_TRIGGERS["number"]
