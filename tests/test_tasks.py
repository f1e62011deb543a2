import pytest

from ponder.errors import DataError
from ponder.tasks import gsm8k
from ponder.tasks.data import data_dir as resolve_data_dir
from ponder.tasks.exemplars import load_exemplars


def test_gsm8k_loads_questions_and_numeric_gold_answers(data_dir):
    tasks = gsm8k.load("test", limit=3, data_dir=data_dir)
    assert [t.id for t in tasks] == ["gsm8k/test/0", "gsm8k/test/1", "gsm8k/test/2"]
    assert tasks[0].question.startswith("Janet") and tasks[0].answer == "18" and tasks[0].kind == "number"
    assert len(gsm8k.load("test", data_dir=data_dir)) == 1319


def test_the_data_folder_comes_from_the_environment(data_dir, monkeypatch):
    monkeypatch.setenv("PONDER_DATA_DIR", str(data_dir))
    assert gsm8k.load(limit=1)[0].answer == "18"
    monkeypatch.delenv("PONDER_DATA_DIR")
    with pytest.raises(DataError, match="--data-dir DIR or set PONDER_DATA_DIR"):
        resolve_data_dir()


def test_a_bad_line_is_named_by_file_and_line(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text(
        '{"question": "1+1?", "answer": "2 #### 2"}\n{"question": "broken"\n')
    with pytest.raises(DataError, match=r"test.jsonl:2: not valid JSON"):
        gsm8k.load(data_dir=tmp_path)
    (tmp_path / "gsm8k" / "test.jsonl").write_text('{"question": "1+1?", "answer": "two"}\n')
    with pytest.raises(DataError, match=r"test.jsonl:1: expected 'question' and an 'answer'"):
        gsm8k.load(data_dir=tmp_path)
    with pytest.raises(DataError, match="no split 'dev'"):
        gsm8k.load("dev", data_dir=tmp_path)
    with pytest.raises(DataError, match="train.jsonl is missing"):
        gsm8k.load("train", data_dir=tmp_path)


def test_exemplar_sets_from_json_and_lm_eval_yaml(data_dir):
    wei = load_exemplars("gsm8k", data_dir)
    assert len(wei) == 8 and wei[0].answer == "6" and wei[0].target.endswith("The answer is 6.")
    date = load_exemplars("date_understanding", data_dir)
    assert len(date) == 3 and "Options:" in date[0].question and date[0].target.endswith("So the answer is (D).")


def test_unknown_or_malformed_exemplar_sets_are_named(tmp_path):
    with pytest.raises(DataError, match="unknown exemplar set 'nope'"):
        load_exemplars("nope")
    bad = tmp_path / "shots.json"
    bad.write_text('{"exemplars": [{"question": "q"}]}')
    with pytest.raises(DataError, match="exemplar 0 needs string fields"):
        load_exemplars(str(bad))
