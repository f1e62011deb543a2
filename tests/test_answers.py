import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.tasks.answers import (KINDS, canonical, extract, extract_choice, extract_number, extract_yes_no,
                                  normalise_number, same_answer)


@pytest.mark.parametrize("text, expected", [
    ("16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\nThe answer is 18.", "18"),
    ("So she makes $1,250.00 in total.", "1250"),
    ("Janet sells 9 eggs.\n#### 18", "18"),
    ("Thus the total is \\boxed{72} clips, not 48.", "72"),
    ("x = \\boxed{\\frac{3}{4}}", "0.75"),
    ("\\boxed{\\dfrac{1}{3}} of the cake", "1/3"),
    ("The answer is 5, because 2 + 3 = 5 and 10 / 2 = 5... also 7", "5"),
    ("Answer: -3", "-3"),
    ("The temperature fell to -12 degrees.", "-12"),
    ("<think>maybe 12? or 13</think> It is 14 apples.", "14"),
    ("<think>The answer is 12, I think", None),               # never left its reasoning
    ("**Final Answer:** **$18**", "18"),
    ("The answer is: 5 x 3 = 15.", "15"),                      # the result, not the first factor
    ("So 23 - 15 dollars are left. 23 - 15 is 8.", "8"),       # "- 15" is subtraction, not -15
    ("About 45% of the students passed.", "45"),
    ("He ran 12.50 miles.", "12.5"),
    ("She walks 3/4 of a mile.", "0.75"),
    ("Therefore, the answer (arabic numerals) is 42.", "42"),
    ("The answer is 1,000,000 grains.", "1000000"),
    ("The answer is 18 dollars per day.", "18"),
    ("I cannot tell.", None),
    ("", None),
])
def test_extraction_of_numbers(text, expected):
    assert extract_number(text).value == expected


def test_an_explicit_statement_beats_the_last_number_and_boxed_beats_both():
    assert extract_number("The answer is 7. Check: 3 + 4 = 7, and 2 more is 9.").value == "7"
    assert extract_number("The answer is 7. Also \\boxed{8}. Then 9.").value == "8"


def test_a_statement_ends_with_its_sentence():
    text = "The answer is 120. Each glass costs $5, so the total is 16 * $5 = $80."
    assert extract_number(text).value == "120"
    assert extract_number("The answer is 2.5 bolts. Then 3 = 3.").value == "2.5"
    assert extract_number("The answer is 5 x 3 = 15. Done.").value == "15"


def test_truncated_text_without_an_answer_statement_has_no_answer():
    text = "First 16 - 3 = 13 eggs, then 13 - 4 = 9 eggs, and 9 * 2"
    assert extract_number(text).value == "2"
    assert extract_number(text, truncated=True).value is None
    assert extract_number("... so the answer is 18. Then", truncated=True).value == "18"


def test_the_span_points_at_the_answer_in_the_original_text():
    text = "<think>no</think>Total: 20.\nThe answer is $1,234."
    found = extract_number(text)
    assert found.explicit and text[found.span[0]:found.span[1]] == "$1,234"


@pytest.mark.parametrize("text, expected", [
    ("So the answer is (D).", "D"),
    ("Answer: B", "B"),
    ("The answer is a bit unclear; I pick (c).", "C"),        # "a" is a word here, not choice A
    ("Among A through E, the answer is E.", "E"),
    ("\\boxed{C}", "C"),
    ("I don't know.", None),
])
def test_extraction_of_choices(text, expected):
    assert extract_choice(text).value == expected


@pytest.mark.parametrize("text, expected", [
    ("So the answer is yes.", "yes"),
    ("No, because a goalie cannot score a touchdown.", "no"),
    ("It was not known. The answer is No.", "no"),
    ("Maybe.", None),
])
def test_extraction_of_yes_no(text, expected):
    assert extract_yes_no(text).value == expected


def test_same_answer_compares_numbers_by_value():
    assert same_answer("18", "18.0") and same_answer("0.75", "3/4") and same_answer("$1,000", "1000")
    assert not same_answer("18", "19") and not same_answer(None, "18")
    assert same_answer("b", "B", "choice") and not same_answer("yes", "no", "yesno")


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown answer kind"):
        extract("x", "essay")


@given(st.text())
def test_no_extractor_ever_raises(text):
    for kind in KINDS:
        for truncated in (False, True):
            found = extract(text, kind, truncated)
            assert found.value is None or isinstance(found.value, str)
            if found.span is not None:
                assert 0 <= found.span[0] <= found.span[1] <= len(text)


@given(st.text(alphabet=st.sampled_from(list("0123456789-.,/$% aswerth:#\\boxed{}frac*\n")), max_size=60))
def test_extracted_numbers_are_canonical(text):
    value = extract_number(text).value
    if value is not None:
        assert normalise_number(value) == value
        Fraction(value)  # parses


@given(st.integers(-10**9, 10**9),
       st.sampled_from(["{n}", "${n}", "{n:,}", "${n:,}.00", "**{n}**", "{n} dollars", "{n}.0"]))
def test_formatted_integers_round_trip(n, fmt):
    shown = fmt.format(n=n).replace("$-", "-$")
    assert extract_number(f"Some working: 3 + 4 = 7.\nThe answer is {shown}.").value == str(n)


@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=64))
def test_canonical_form_keeps_the_value(value):
    assert Fraction(canonical(value)) == value


def test_real_model_outputs():
    """Outputs of real models on GSM8K test problems, with the answer a reader would take."""
    rows = [json.loads(line) for line in
            (Path(__file__).parent / "data" / "model_outputs.jsonl").read_text().splitlines() if line]
    assert len(rows) >= 12
    for row in rows:
        got = extract(row["output"], row.get("kind", "number"), row.get("truncated", False)).value
        assert got == row["expected"], (row["source"], row["output"][-200:])


@pytest.mark.parametrize("text, expected", [
    ("so \\boxed{\\dfrac{1}{2}}", "0.5"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "(3,\\frac{\\pi}{2})"),
    ("The answer is $x = 5$.", "5"),
    ("\\boxed{10\\%}", "10"),
    ("\\boxed{90^\\circ}", "90"),
    ("\\boxed{\\text{(C)}}", "(C)"),
    ("\\boxed{\\frac12}", "0.5"),
    ("\\boxed{2\\sqrt2}", "2\\sqrt{2}"),
    ("first \\boxed{3} then \\boxed{4}", "4"),
    ("<think>\\boxed{1}</think> so 7", "7"),
])
def test_extraction_of_math_answers(text, expected):
    assert extract(text, "math").value == expected


def test_math_answers_compare_after_normalisation():
    assert same_answer("\\dfrac{1}{2}", "0.5", "math")
    assert same_answer("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", "math")
    assert same_answer("1,000", "1000", "math")
    assert not same_answer("\\frac{\\pi}{2}", "\\frac{\\pi}{3}", "math")
    assert extract("the work goes on and on: 3 then", "math", truncated=True).value is None


@pytest.mark.parametrize("text, expected", [
    ('The answer is "nk".', "nk"),
    ("So the answer is **ya**.", "ya"),
    ('Concatenating them gives "ek"', "ek"),
    ("the letters n and k give nk", "nk"),
])
def test_extraction_of_one_word_answers(text, expected):
    assert extract(text, "text").value == expected


def test_grids_from_lines_or_json_compare_cell_by_cell():
    assert extract("Output:\n0 1 2\n3 4 5\nThat is it.", "grid").value == "012\n345"
    assert extract("[[1, 2], [3, 4]]", "grid").value == "12\n34"
    assert extract("first\n1 1\n\nthen\n[[7, 8]]", "grid").value == "78"
    assert same_answer("0 1\n2 3", "[[0, 1], [2, 3]]", "grid")
    assert not same_answer("01\n23", "01\n24", "grid")
    assert extract("no grid here", "grid").value is None
