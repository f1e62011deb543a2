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


def test_a_bad_line_is_named_by_file_and_line(tmp_path, without_shipped_data):
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text(
        '{"question": "1+1?", "answer": "2 #### 2"}\n{"question": "broken"\n'
    )
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
    assert (
        len(date) == 3 and "Options:" in date[0].question and date[0].target.endswith("So the answer is (D).")
    )


def test_unknown_or_malformed_exemplar_sets_are_named(tmp_path):
    with pytest.raises(DataError, match="unknown exemplar set 'nope'"):
        load_exemplars("nope")
    bad = tmp_path / "shots.json"
    bad.write_text('{"exemplars": [{"question": "q"}]}')
    with pytest.raises(DataError, match="exemplar 0 needs string fields"):
        load_exemplars(str(bad))


def test_jsonl_that_is_not_utf8_is_named_by_file_line_byte_and_column(tmp_path):
    from ponder.tasks.data import read_jsonl

    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"question": "caf\xc3\xa9 \xff"}\n')
    with pytest.raises(DataError, match=rf"^{path}:3: not UTF-8 \(byte 0xff at column 20\)$"):
        list(read_jsonl(path))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"\n \n", "the file is empty"),
        (b'{"a": 1}\n[1]\n', ":2: expected a JSON object, got an array"),
        (b'"text"\n', ":1: expected a JSON object, got a string"),
        (b"3\n", ":1: expected a JSON object, got a number"),
        (b"null\n", ":1: expected a JSON object, got null"),
        (b"{oops\n", ":1: not valid JSON"),
    ],
)
def test_malformed_jsonl_files_are_named(tmp_path, content, message):
    from ponder.tasks.data import read_jsonl

    path = tmp_path / "d.jsonl"
    path.write_bytes(content)
    with pytest.raises(
        DataError, match=rf"^{path}{message}" if message.startswith(":") else rf"^{path}: {message}"
    ):
        list(read_jsonl(path))


def test_jsonl_with_a_byte_order_mark_and_crlf_reads(tmp_path):
    from ponder.tasks.data import read_jsonl

    path = tmp_path / "d.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}\r\n')
    assert [row for _, row in read_jsonl(path)] == [{"a": 1}, {"a": 2}]


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    from ponder.tasks.data import read_json, read_jsonl

    with pytest.raises(DataError, match=f"^{tmp_path}: is a folder"):
        list(read_jsonl(tmp_path))
    with pytest.raises(DataError, match=f"^{tmp_path}: is a folder"):
        read_json(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        list(read_jsonl(tmp_path / "nope.jsonl"))
    with pytest.raises(DataError, match="no such file"):
        read_json(tmp_path / "nope.json")


def test_every_json_loader_names_bad_bytes_and_empty_files(tmp_path):
    from ponder.tasks import arc, bigbench, svamp

    files = {
        svamp: (svamp.FILE, "svamp"),
        bigbench: (bigbench.FILES["date"], "date"),
        arc: (arc.FILES["arc-agi-1"], "arc-agi-1"),
    }
    for module, (relative, name) in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'{\n  "x": "\x80"\n}')
        with pytest.raises(DataError, match=rf"^{path}:2: not UTF-8 \(byte 0x80 at column 9\)$"):
            module.load_benchmark(name, None, data_dir=tmp_path)
        path.write_bytes(b"  \n")
        with pytest.raises(DataError, match=rf"^{path}: the file is empty$"):
            module.load_benchmark(name, None, data_dir=tmp_path)


def test_gsm_symbolic_templates_that_are_not_utf8_are_named(tmp_path):
    from ponder.tasks import gsm_symbolic

    folder = tmp_path / "gsm_symbolic" / "templates" / "p1"
    folder.mkdir(parents=True)
    (folder / "0001.json").write_bytes(b'{"question": "\xfe"}')
    with pytest.raises(DataError, match=r"0001.json:1: not UTF-8 \(byte 0xfe"):
        gsm_symbolic.load_benchmark("gsm-symbolic", "p1", data_dir=tmp_path)
    (folder / "0001.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="0001.json: expected a JSON object"):
        gsm_symbolic.load_benchmark("gsm-symbolic", "p1", data_dir=tmp_path, count=2)


def test_exemplar_files_that_are_not_utf8_empty_or_folders_are_named(tmp_path):
    yaml_file = tmp_path / "shots.yaml"
    yaml_file.write_bytes(b'fewshot_config:\n  samples:\n  - input: "\xe9"\n')
    with pytest.raises(DataError, match=rf"^{yaml_file}:3: not UTF-8 \(byte 0xe9 at column 13\)$"):
        load_exemplars(str(yaml_file))
    yaml_file.write_text("- just a list\n")
    with pytest.raises(DataError, match="expected fewshot_config.samples"):
        load_exemplars(str(yaml_file))
    json_file = tmp_path / "shots.json"
    json_file.write_text("")
    with pytest.raises(DataError, match=rf"^{json_file}: the file is empty$"):
        load_exemplars(str(json_file))
    folder = tmp_path / "shots"
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder"):
        load_exemplars(str(folder))


def test_a_jsonl_task_file_that_is_a_folder_is_named(tmp_path):
    from ponder.tasks.registry import load_tasks

    with pytest.raises(DataError, match=f"task file {tmp_path} is a folder"):
        load_tasks(f"jsonl:{tmp_path}")
