import math

import pytest

from ponder.strategies.voting import (
    aggregate,
    answer_span_confidence,
    beta_leader_probability,
    dirichlet_leader_probability,
    majority_vote,
    sequence_confidence,
    should_stop,
    span_tokens,
    weighted_vote,
)
from ponder.types import TokenLogprob


def test_majority_vote_counts_normalised_answers():
    vote = majority_vote(["18", "18", "20", "18", "20"])
    assert vote.winner == "18" and vote.tally == {"18": 3, "20": 2} and vote.voters == 5
    assert vote.share == pytest.approx(0.6)


def test_a_tie_goes_to_the_answer_that_appeared_first():
    assert majority_vote(["20", "18", "18", "20"]).winner == "20"
    assert majority_vote(["18", "20", "20", "18"]).winner == "18"


def test_chains_without_an_answer_do_not_vote():
    vote = majority_vote([None, "5", None])
    assert vote.winner == "5" and vote.voters == 1 and vote.tally == {"5": 1}
    nothing = majority_vote([None, None])
    assert nothing.winner is None and nothing.voters == 0 and nothing.share == 0.0


def test_weighted_vote_can_overrule_the_majority():
    vote = weighted_vote(["a", "b", "b"], [0.9, 0.4, 0.4])
    assert vote.winner == "a" and vote.tally == pytest.approx({"a": 0.9, "b": 0.8})
    with pytest.raises(ValueError):
        weighted_vote(["a"], [1.0, 2.0])


def _tokens(*pairs):
    return [TokenLogprob(t, lp) for t, lp in pairs]


def test_sequence_confidence_is_exp_of_the_mean_logprob():
    assert sequence_confidence(_tokens(("a", -0.1), ("b", -0.3))) == pytest.approx(math.exp(-0.2))
    assert sequence_confidence([]) == 0.0


def test_answer_span_confidence_uses_the_tokens_that_spell_the_answer():
    toks = _tokens(("The", -2.0), (" answer", -0.5), (" is", -0.1), (" 1", -0.2), ("8", -0.4), (".", -3.0))
    text = "".join(t.token for t in toks)
    span = (text.index("18"), text.index("18") + 2)
    assert [t.token for t in span_tokens(toks, span)] == [" 1", "8"]
    assert answer_span_confidence(toks, span) == pytest.approx(math.exp(-0.3))
    assert answer_span_confidence(toks, None) == pytest.approx(sequence_confidence(toks))


def test_step_score_aggregation():
    assert aggregate([0.9, 0.5, 0.8], "last") == 0.8
    assert aggregate([0.9, 0.5, 0.8], "min") == 0.5
    assert aggregate([0.9, 0.5, 0.8], "product") == pytest.approx(0.36)
    with pytest.raises(ValueError):
        aggregate([0.5], "mean")
    with pytest.raises(ValueError):
        aggregate([], "last")


def _beta_tail_by_integration(a: int, b: int, steps: int = 20000) -> float:
    """Reference: P(Beta(a, b) > 1/2) by the midpoint rule."""
    norm = math.gamma(a) * math.gamma(b) / math.gamma(a + b)
    h = 0.5 / steps
    return (
        sum(((0.5 + (i + 0.5) * h) ** (a - 1)) * ((0.5 - (i + 0.5) * h) ** (b - 1)) for i in range(steps))
        * h
        / norm
    )


@pytest.mark.parametrize("v1, v2", [(0, 0), (1, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 3), (10, 9)])
def test_beta_rule_matches_numerical_integration(v1, v2):
    assert beta_leader_probability(v1, v2) == pytest.approx(
        _beta_tail_by_integration(v1 + 1, v2 + 1), abs=1e-6
    )


def test_beta_rule_worked_values():
    assert beta_leader_probability(3, 0) == pytest.approx(1 - 0.5**4)  # 0.9375
    assert beta_leader_probability(4, 0) == pytest.approx(1 - 0.5**5)  # 0.96875
    assert beta_leader_probability(2, 2) == pytest.approx(0.5)


def test_stopping_rule_decisions():
    assert not should_stop({"18": 3})  # 0.9375 < 0.95
    assert should_stop({"18": 4})  # 0.969
    assert not should_stop({"18": 5, "20": 1})  # 1 - 8/128 = 0.9375
    assert should_stop({"18": 6, "20": 1})  # 1 - 9/256 = 0.965
    assert not should_stop({})
    with pytest.raises(ValueError):
        should_stop({"1": 1}, rule="vibes")


def test_dirichlet_rule_agrees_with_beta_for_two_answers_and_is_deterministic():
    for counts in ([4], [5, 1], [6, 2]):
        beta = beta_leader_probability(counts[0], counts[1] if len(counts) > 1 else 0)
        assert dirichlet_leader_probability(counts) == pytest.approx(beta, abs=0.01)
    assert dirichlet_leader_probability([5, 2, 1]) == dirichlet_leader_probability([5, 2, 1])
    assert dirichlet_leader_probability([3, 3]) == pytest.approx(0.5, abs=0.01)
    assert should_stop({"a": 8, "b": 1, "c": 1}, rule="dirichlet")
