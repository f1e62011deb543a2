"""Every benchmark loader on its real data file, and each scorer on real items of it."""

import json

import pytest

from ponder.errors import ConfigError, DataError
from ponder.tasks.answers import extract, same_answer
from ponder.tasks.registry import BENCHMARKS, canonical_spec, load_tasks

COUNTS = {
    "gsm8k": 1319,
    "gsm8k:train": 7473,
    "svamp": 1000,
    "aqua": 254,
    "aqua:dev": 254,
    "date": 369,
    "sports": 1000,
    "strategyqa": 2290,
    "math500": 500,
}


@pytest.mark.parametrize("spec", COUNTS)
def test_each_data_file_loads_whole_with_unique_ids_and_gold_answers(spec, data_dir):
    tasks = load_tasks(spec, data_dir=data_dir)
    assert len(tasks) == COUNTS[spec]
    assert len({t.id for t in tasks}) == len(tasks)
    assert all(t.question.strip() and t.answer for t in tasks)


def score(text, task):
    return same_answer(extract(text, task.kind).value, task.answer, task.kind)


def test_gsm8k_and_svamp_score_numbers(data_dir):
    [t] = load_tasks("gsm8k", 1, data_dir)
    assert t.answer == "18" and score("16 - 3 - 4 = 9, 9 * $2 = $18.\nThe answer is $18.00.", t)
    assert not score("The answer is 9.", t)
    [s] = load_tasks("svamp", 1, data_dir)
    assert s.question == (
        "Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each "
        "pack. How much do you have to pay to buy each pack?"
    )
    assert s.answer == "51" and score("76 - 25 = 51. The answer is 51.", s)


def test_aqua_shows_the_options_and_scores_letters(data_dir):
    t = load_tasks("aqua", data_dir=data_dir)[2]
    assert t.question.endswith("Answer Choices: (A) 36 (B) 15 (C) 17 (D) 5 (E) 7")
    assert t.answer == "A" and t.kind == "choice"
    assert score("36 is divisible by 9 and 12. The answer is (A).", t)
    assert not score("Answer: B", t)


def test_date_options_are_shuffled_reproducibly_and_scored_by_letter(data_dir):
    first = load_tasks("date", data_dir=data_dir)
    again = load_tasks("date", data_dir=data_dir)
    assert [t.question for t in first] == [t.question for t in again]
    t = first[0]
    assert "(D) 05/01/2021" in t.question and t.answer == "D"
    # the file lists the right option first; after shuffling, the gold letters spread out
    letters = {x.answer for x in first}
    assert len(letters) == 6
    assert score("Today is 05/01/2021. So the answer is (D).", t)


def test_sports_and_strategyqa_score_yes_no(data_dir):
    sports = load_tasks("sports", 2, data_dir)
    assert (
        sports[0].question == 'Is the following sentence plausible? "Jamal Murray was perfect from the line"'
    )
    assert sports[0].answer == "yes" and score(
        "Jamal Murray is a basketball player. So the answer is yes.", sports[0]
    )
    q = load_tasks("strategyqa", 1, data_dir)[0]
    assert q.answer == "yes" and q.kind == "yesno" and not score("The answer is No.", q)


def test_math500_scores_normalised_latex(data_dir):
    tasks = {t.id: t for t in load_tasks("math500", data_dir=data_dir)}
    polar = tasks["math500/test/precalculus/807.json"]
    assert polar.answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert score("So the point is \\boxed{(3, \\frac{\\pi}{2})}.", polar)
    assert not score("\\boxed{(3, \\pi)}", polar)
    halves = [t for t in tasks.values() if t.answer in ("\\frac{1}{2}", "\\frac12")]
    assert halves and score("\\boxed{\\dfrac{1}{2}}", halves[0]) and score("\\boxed{0.5}", halves[0])


def test_generated_tasks_are_reproducible_and_their_answers_right():
    letters = load_tasks("last-letter:2", count=50)
    assert letters == load_tasks("last-letter", count=50)
    assert load_tasks("last-letter", count=10) == letters[:10]
    for t in letters:
        name = t.question.split('"')[1]
        assert t.answer == "".join(w[-1] for w in name.split()).lower() and len(name.split()) == 2
    assert all(len(t.question.split('"')[1].split()) == 4 for t in load_tasks("last-letter:4", count=20))
    assert score(
        'The last letters are "k" and "a", so the answer is "ka".', type(letters[0])("x", "q", "ka", "text")
    )
    flips = load_tasks("coin-flip:4", count=200)
    for t in flips:
        n = t.question.count(" flips the coin.")
        assert t.question.count("flip the coin.") + n == 4
        assert t.answer == ("yes" if n % 2 == 0 else "no")
    assert {t.answer for t in flips} == {"yes", "no"}


def test_custom_jsonl_with_named_fields_and_scorers(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(
        json.dumps({"q": "Capital of France?", "a": "Paris", "id": "fr"})
        + "\n"
        + json.dumps({"q": "2 + 2?", "a": "4"})
        + "\n"
    )
    tasks = load_tasks(f"jsonl:{path}", question_field="q", answer_field="a", scorer="exact")
    assert [t.id for t in tasks] == ["mine/fr", "mine/2"] and tasks[0].kind == "text"
    assert score("The answer is Paris.", tasks[0])
    with pytest.raises(DataError, match=r"mine.jsonl:1: field 'a' is not a number"):
        load_tasks(f"jsonl:{path}", question_field="q", answer_field="a")
    with pytest.raises(DataError, match=r"mine.jsonl:1: field 'question' is missing"):
        load_tasks(f"jsonl:{path}")
    with pytest.raises(ConfigError, match="unknown scorer"):
        load_tasks(f"jsonl:{path}", scorer="fuzzy")


def test_malformed_files_are_named_with_the_field(tmp_path):
    (tmp_path / "aqua_rat").mkdir()
    (tmp_path / "aqua_rat" / "test.json").write_text(
        json.dumps({"question": "q", "options": ["A)1", "B)2"], "correct": "C"}) + "\n"
    )
    with pytest.raises(DataError, match=r"test.json:1: field 'correct' must be one of A, B"):
        load_tasks("aqua", data_dir=tmp_path)
    (tmp_path / "bigbench").mkdir()
    (tmp_path / "bigbench" / "strategyqa_task.json").write_text(
        json.dumps({"examples": [{"input": "q?", "target_scores": {"Yes": 1, "No": 1}}]})
    )
    with pytest.raises(DataError, match="example 0: field 'target_scores'"):
        load_tasks("strategyqa", data_dir=tmp_path)


def test_specs_are_checked_and_made_canonical():
    assert canonical_spec("gsm8k") == canonical_spec("gsm8k:test") == "gsm8k:test"
    assert canonical_spec("last-letter") == "last-letter:2"
    with pytest.raises(ConfigError, match="unknown task 'gsm9k'"):
        canonical_spec("gsm9k")
    with pytest.raises(ConfigError, match="no variant 'dev'"):
        canonical_spec("gsm8k:dev")
    with pytest.raises(ConfigError, match="number of words"):
        load_tasks("last-letter:many")
    assert set(BENCHMARKS) >= {"gsm8k", "svamp", "aqua", "date", "sports", "strategyqa", "math500"}


def test_a_missing_file_says_both_ways_to_get_the_data(tmp_path, without_shipped_data):
    with pytest.raises(
        DataError,
        match=r"gsm8k/test.jsonl is missing.*PONDER_DATA_DIR.*"
        r"(install `datasets` and be online to fetch openai/gsm8k|from the hub failed)",
    ):
        load_tasks("gsm8k", data_dir=tmp_path)
    with pytest.raises(DataError, match="PONDER_DATA_DIR"):
        load_tasks("sports", data_dir=tmp_path)


def test_the_hub_copy_is_used_where_the_folder_lacks_the_file(tmp_path, monkeypatch, without_shipped_data):
    import sys
    import types

    asked = []

    def load_dataset(name, config, split):
        asked.append((name, config, split))
        return [{"question": "What is 2 + 2?", "answer": "2 + 2 = 4\n#### 4"}, {"question": "broken"}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(DataError, match=r"openai/gsm8k\[train\] row 2: expected 'question' and an 'answer'"):
        load_tasks("gsm8k:train", data_dir=tmp_path)
    assert asked == [("openai/gsm8k", "main", "train")]
    rows = [{"problem": "What is $1/2 + 1/2$?", "answer": "1", "unique_id": "test/x/1.json"}]
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=lambda *a, **k: rows))
    [t] = load_tasks("math500", data_dir=tmp_path)
    assert t.id == "math500/test/x/1.json" and t.answer == "1" and t.kind == "math"
