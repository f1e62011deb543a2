import asyncio
import json
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponder.tasks import answers
from ponder.tasks.answers import (
    ASYNC_THRESHOLD,
    GRID_LIMIT,
    MAX_EXPONENT,
    answer_first,
    canonical,
    extract,
    extract_async,
    extract_choice,
    extract_number,
    extract_yes_no,
    normalise_number,
    parse_grid,
    same_answer,
)

NUMBER_CASES = [
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
    ("<think>The answer is 12, I think", None),  # never left its reasoning
    ("**Final Answer:** **$18**", "18"),
    ("The answer is: 5 x 3 = 15.", "15"),  # the result, not the first factor
    ("So 23 - 15 dollars are left. 23 - 15 is 8.", "8"),  # "- 15" is subtraction, not -15
    ("About 45% of the students passed.", "45"),
    ("He ran 12.50 miles.", "12.5"),
    ("She walks 3/4 of a mile.", "0.75"),
    ("Therefore, the answer (arabic numerals) is 42.", "42"),
    ("The answer is 1,000,000 grains.", "1000000"),
    ("The answer is 18 dollars per day.", "18"),
    ("I cannot tell.", None),
    ("", None),
]


@pytest.mark.parametrize("text, expected", NUMBER_CASES)
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
    assert found.explicit and text[found.span[0] : found.span[1]] == "$1,234"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("So the answer is (D).", "D"),
        ("Answer: B", "B"),
        ("The answer is a bit unclear; I pick (c).", "C"),  # "a" is a word here, not choice A
        ("Among A through E, the answer is E.", "E"),
        ("\\boxed{C}", "C"),
        ("I don't know.", None),
    ],
)
def test_extraction_of_choices(text, expected):
    assert extract_choice(text).value == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("So the answer is yes.", "yes"),
        ("No, because a goalie cannot score a touchdown.", "no"),
        ("It was not known. The answer is No.", "no"),
        ("Maybe.", None),
    ],
)
def test_extraction_of_yes_no(text, expected):
    assert extract_yes_no(text).value == expected


def test_same_answer_compares_numbers_by_value():
    assert same_answer("18", "18.0") and same_answer("0.75", "3/4") and same_answer("$1,000", "1000")
    assert not same_answer("18", "19") and not same_answer(None, "18")
    assert same_answer("b", "B", "choice") and not same_answer("yes", "no", "yesno")


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown answer kind"):
        extract("x", "essay")


@given(st.text(alphabet=st.sampled_from(list("0123456789-.,/$% aswerth:#\\boxed{}frac*\n")), max_size=60))
def test_extracted_numbers_are_canonical(text):
    value = extract_number(text).value
    if value is not None:
        assert normalise_number(value) == value
        Fraction(value)  # parses


@given(
    st.integers(-(10**9), 10**9),
    st.sampled_from(["{n}", "${n}", "{n:,}", "${n:,}.00", "**{n}**", "{n} dollars", "{n}.0"]),
)
def test_formatted_integers_round_trip(n, fmt):
    shown = fmt.format(n=n).replace("$-", "-$")
    assert extract_number(f"Some working: 3 + 4 = 7.\nThe answer is {shown}.").value == str(n)


@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=64))
def test_canonical_form_keeps_the_value(value):
    assert Fraction(canonical(value)) == value


def test_real_model_outputs():
    """Outputs of real models on GSM8K test problems, with the answer a reader would take."""
    rows = [
        json.loads(line)
        for line in (Path(__file__).parent / "data" / "model_outputs.jsonl").read_text().splitlines()
        if line
    ]
    assert len(rows) >= 12
    for row in rows:
        got = extract(row["output"], row.get("kind", "number"), row.get("truncated", False)).value
        assert got == row["expected"], (row["source"], row["output"][-200:])


@pytest.mark.parametrize(
    "text, expected",
    [
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
    ],
)
def test_extraction_of_math_answers(text, expected):
    assert extract(text, "math").value == expected


def test_math_answers_compare_after_normalisation():
    assert same_answer("\\dfrac{1}{2}", "0.5", "math")
    assert same_answer("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", "math")
    assert same_answer("1,000", "1000", "math")
    assert not same_answer("\\frac{\\pi}{2}", "\\frac{\\pi}{3}", "math")
    assert extract("the work goes on and on: 3 then", "math", truncated=True).value is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ('The answer is "nk".', "nk"),
        ("So the answer is **ya**.", "ya"),
        ('Concatenating them gives "ek"', "ek"),
        ("the letters n and k give nk", "nk"),
    ],
)
def test_extraction_of_one_word_answers(text, expected):
    assert extract(text, "text").value == expected


def test_grids_from_lines_or_json_compare_cell_by_cell():
    assert extract("Output:\n0 1 2\n3 4 5\nThat is it.", "grid").value == "012\n345"
    assert extract("[[1, 2], [3, 4]]", "grid").value == "12\n34"
    assert extract("first\n1 1\n\nthen\n[[7, 8]]", "grid").value == "78"
    assert same_answer("0 1\n2 3", "[[0, 1], [2, 3]]", "grid")
    assert not same_answer("01\n23", "01\n24", "grid")
    assert extract("no grid here", "grid").value is None


RUN_ON = "\n\n{start} What is 3+9?\nAnswer: {answer}"


@pytest.mark.parametrize("start", ["Question:", "Q:", "Problem:", "Input:"])
@pytest.mark.parametrize(
    "kind, first, then",
    [
        ("number", "The answer is 7.", "12"),
        ("choice", "So the answer is (B).", "(D)"),
        ("yesno", "So the answer is yes.", "no"),
        ("text", 'The answer is "nk".', "ya"),
    ],
)
def test_a_completion_that_runs_on_into_a_new_exemplar_reads_the_first_answer(start, kind, first, then):
    text = "Reasoning first. " + first + RUN_ON.format(start=start, answer=then)
    expected = {"number": "7", "choice": "B", "yesno": "yes", "text": "nk"}[kind]
    found = extract(text, kind)
    assert found.value == expected and found.explicit
    assert extract(text, kind, truncated=True).value == expected


def test_the_exemplar_cut_needs_an_earlier_statement_and_a_line_of_its_own():
    assert extract("The answer is 7.\n\nQuestion: What is 3+9?\nAnswer: 12").value == "7"
    assert extract("\\boxed{7}\nQ: What is 3+9?\nA: \\boxed{12}").value == "7"
    # nothing stated before the new exemplar: nothing to keep, nothing cut
    assert extract("Let me see.\nQuestion: What is 3+9?\nAnswer: 12").value == "12"
    # not at the start of a line: not an exemplar
    assert extract("The answer is 7. Question: is it? Answer: 12").value == "12"
    assert answer_first("The answer is 7.\nQ: next\nAnswer: 12") == "The answer is 7."


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The answer is 1e3.", "1000"),
        ("The answer is 2.5e-3", "0.0025"),
        ("It grows to 1.2E+5 cells.", "120000"),
        ("about 3e-7 m", "0.0000003"),
        ("The answer is 3e", "3"),  # no exponent: the number 3, as before
        ("e5", None),  # no mantissa
        ("0x1e3", "0"),  # hexadecimal: only the 0 before the x is a number
        ("abc1e3", None),  # inside an identifier
        ("1e3x", "1"),  # an identifier again: the exponent is not read
        (f"1e{MAX_EXPONENT}", "1" + "0" * MAX_EXPONENT),
        (f"1e{MAX_EXPONENT + 1}", None),  # beyond the bound: no number
        ("1e999999999", None),
        ("1e-999999999", None),
    ],
)
def test_scientific_notation(text, expected):
    assert extract_number(text).value == expected


def test_scientific_notation_compares_by_value():
    assert (
        normalise_number("1e3") == "1000" and same_answer("1000", "1e3") and same_answer("0.0025", "2.5e-3")
    )
    assert normalise_number("1e999999999 then 4") == "4"


def test_numbers_too_long_for_a_float_or_for_python_do_not_raise():
    big = Fraction(10**400) + Fraction(1, 2)
    assert canonical(big) == f"{big.numerator}/{big.denominator}"
    assert extract("The answer is " + "1" * 400 + ".5", "math").value == "2" * 399 + "3/2"
    assert extract_number("7" * 5000 + " and then 3").value == "3"
    assert extract_number(f"1{'0' * 4290}e50").value is None


def test_alignment_of_statements_numbers_and_quotes_is_kept():
    """Cases where a backward search could pair things differently from a forward one."""
    assert extract_number("######\n5") == answers.Extracted("5", (7, 8), False)
    assert extract_number("#####5") == answers.Extracted("5", (5, 6), True)
    assert extract_number("the answer (our answer: 3) is 5").value == "5"
    assert extract_number("\\boxed{\\boxed{1} 2} then \\boxed{3").value == "1"
    assert extract_number("\\boxed{3 then \\boxed{4}") == answers.Extracted("4", (21, 22), False)
    assert extract_number("1.1.1.1").value == "1.1" and extract_number("1,234,5678").value == "1234567"
    assert extract('say "ab"cd"ef"gh" now', "text").value == "ef"
    assert extract('“ab"cd"', "text").value == "ab"
    assert extract("answer: option is (b), so the answer is C", "choice").value == "C"


@pytest.mark.parametrize("text, expected", NUMBER_CASES)
def test_text_beyond_ascii_reads_numbers_the_same(text, expected):
    """Text that is not ASCII is searched another way (by regex, from its digits or from what
    comes before them, whichever is rarer)."""
    assert extract_number("é " + text).value == expected
    assert extract_number("é" + "1" * 60 + "\n" + text).value == expected  # digits after a letter: no number


def test_digits_a_number_cannot_start_with_are_passed_over_in_any_script():
    for prefix in ("", "é"):
        assert extract_number(prefix + "x1 " * 500 + "then 7 or a1").value == "7"
        assert extract_number(prefix + "The answer is 4. " + "b2.3 " * 500).value == "4"
        assert extract_number(prefix + "$.5 and " + "a1.1" * 300).value == "0.5"
        assert normalise_number(prefix + "a1 " * 300 + "−3") == "-3"


def test_grids_beyond_the_bound_are_not_read():
    rows = "\n".join("01" for _ in range(GRID_LIMIT))
    assert extract(rows, "grid").value == rows
    assert extract(rows + "\n01", "grid").value is None
    assert parse_grid("1" * (GRID_LIMIT + 1)) is None


def test_extract_async_reads_long_texts_in_a_worker_thread(monkeypatch):
    threads = []
    real = answers.extract

    def spy(text, kind="number", truncated=False):
        threads.append(threading.get_ident())
        return real(text, kind, truncated)

    monkeypatch.setattr(answers, "extract", spy)
    long_text = "x " * ASYNC_THRESHOLD + "The answer is 7."

    async def main():
        return (
            threading.get_ident(),
            await extract_async("The answer is 5."),
            await extract_async(long_text, "number", truncated=True),
        )

    loop_thread, short, long = asyncio.run(main())
    assert short.value == "5" and long.value == "7"
    assert threads[0] == loop_thread and threads[1] != loop_thread
