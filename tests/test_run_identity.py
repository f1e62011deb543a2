"""A run is what it ran: its identity covers the resolved configuration (defaults, templates,
exemplars, extraction version), the model and the benchmark's content, not what was typed."""

import json
import shutil
import sqlite3

import jinja2
import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.eval.evaluate import Plan, evaluate
from ponder.eval.runner import RunSpec, open_run
from ponder.eval.session import Session
from ponder.faithfulness.registry import PROBES, build_probe
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.store.db import MIGRATIONS, connect
from ponder.strategies import PROMPTS
from ponder.strategies.registry import STRATEGIES, build_strategy
from ponder.tasks.answers import EXTRACTION_VERSION

runner = CliRunner()


def scripted(*texts):
    """A model with one single-sample reply per text (none: any call fails)."""
    return ScriptedModel([Step([t]) for t in texts])


async def run_once(tmp_path, data_dir, model, plan, limit=1, task="gsm8k"):
    async with Session(model, Store(tmp_path / "s.sqlite"), owns_store=True) as session:
        [outcome] = await evaluate(session, task, [plan], limit=limit, data_dir=data_dir)
    return outcome


async def test_the_same_configuration_resumes_without_a_model_call(tmp_path, monkeypatch, data_dir):
    model = scripted("The answer is 18.")
    first = await run_once(tmp_path, data_dir, model, Plan("direct", {}))
    model.assert_done()
    empty = scripted()
    again = await run_once(
        tmp_path, data_dir, empty, Plan("direct", {"max_tokens": 32})
    )  # the default, typed
    assert again.run_id == first.run_id and again.progress.resumed == 1 and empty.requests == []


async def test_a_larger_limit_extends_the_same_run(tmp_path, monkeypatch, data_dir):
    model = scripted("The answer is 18.")
    first = await run_once(tmp_path, data_dir, model, Plan("direct", {}), limit=1)
    model = scripted("The answer is 3.")
    more = await run_once(tmp_path, data_dir, model, Plan("direct", {}), limit=2)
    model.assert_done()
    assert more.run_id == first.run_id and more.progress.resumed == 1 and more.progress.done == 2


async def test_a_changed_registry_default_makes_a_new_run(tmp_path, monkeypatch, data_dir):
    plan = Plan("self-consistency", {"k": 2, "prompt": "direct"})
    model = ScriptedModel([Step(["18", "18"])])
    first = await run_once(tmp_path, data_dir, model, plan)
    monkeypatch.setattr("ponder.strategies.registry.DEFAULT_TEMPERATURE", 0.9)
    model = ScriptedModel([Step(["18", "18"], expect={"temperature": 0.9})])
    second = await run_once(tmp_path, data_dir, model, plan)
    model.assert_done()
    assert second.run_id != first.run_id and second.progress.resumed == 0
    with Store(tmp_path / "s.sqlite") as s:
        configs = [json.loads(s.run(r)["config"]) for r in (first.run_id, second.run_id)]
    assert [c["resolved"]["temperature"] for c in configs] == [0.7, 0.9]
    assert configs[0]["options"] == configs[1]["options"] == {"k": 2, "prompt": "direct"}


async def test_a_changed_prompt_template_makes_a_new_run(tmp_path, monkeypatch, data_dir):
    model = scripted("18")
    first = await run_once(tmp_path, data_dir, model, Plan("direct", {}))
    folder = tmp_path / "prompts"
    shutil.copytree(PROMPTS.env.loader.searchpath[0], folder)
    (folder / "direct.j2").write_text("{{ question }}\n\nGive the final answer only.\n", encoding="utf-8")
    monkeypatch.setattr(PROMPTS.env, "loader", jinja2.FileSystemLoader(folder))
    model = scripted("18")
    second = await run_once(tmp_path, data_dir, model, Plan("direct", {}))
    model.assert_done()
    assert "Give the final answer only." in model.requests[0].messages[-1].content
    assert second.run_id != first.run_id
    with Store(tmp_path / "s.sqlite") as s:
        hashes = [
            json.loads(s.run(r)["config"])["resolved"]["templates"]["direct.j2"]
            for r in (first.run_id, second.run_id)
        ]
    assert hashes[0] != hashes[1] and hashes[1] == PROMPTS.sha256("direct.j2")


async def test_an_edited_exemplar_file_makes_a_new_run(tmp_path, monkeypatch, data_dir):
    shots = tmp_path / "shots.json"
    shots.write_text(
        json.dumps({"exemplars": [{"question": "1 + 1?", "target": "1 + 1 = 2. The answer is 2."}]})
    )
    plan = Plan("cot", {"exemplars": str(shots)})
    model = scripted("The answer is 18.")
    first = await run_once(tmp_path, data_dir, model, plan)
    empty = scripted()
    assert (await run_once(tmp_path, data_dir, empty, plan)).run_id == first.run_id and empty.requests == []
    shots.write_text(
        json.dumps({"exemplars": [{"question": "2 + 2?", "target": "2 + 2 = 4. The answer is 4."}]})
    )
    model = scripted("The answer is 18.")
    second = await run_once(tmp_path, data_dir, model, plan)
    model.assert_done()
    assert second.run_id != first.run_id and model.requests[0].messages[0].content == "2 + 2?"


async def test_changed_benchmark_content_makes_a_new_run(tmp_path, monkeypatch):
    rows = [{"question": "What is 2 + 2?", "answer": 4}, {"question": "What is 3 + 3?", "answer": 6}]
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = scripted("4")
    first = await run_once(tmp_path, None, model, Plan("direct", {}), task=f"jsonl:{tasks}")
    rows[1]["answer"] = 7  # an item beyond the limit: the benchmark changed all the same
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = scripted()  # the same request again: its reply comes from the cache
    second = await run_once(tmp_path, None, model, Plan("direct", {}), task=f"jsonl:{tasks}")
    assert second.run_id != first.run_id and second.progress.resumed == 0
    with Store(tmp_path / "s.sqlite") as s:
        assert [r["cached_calls"] for r in s.result_rows(second.run_id)] == [1]


async def test_the_same_benchmark_from_another_data_folder_is_the_same_run(tmp_path, monkeypatch, data_dir):
    model = scripted("18")
    first = await run_once(tmp_path, data_dir, model, Plan("direct", {}))
    elsewhere = tmp_path / "data"
    shutil.copytree(data_dir / "gsm8k", elsewhere / "gsm8k")
    empty = scripted()
    assert (await run_once(tmp_path, elsewhere, empty, Plan("direct", {}))).run_id == first.run_id
    assert empty.requests == []


def test_a_run_stored_before_identities_is_never_found_again(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    spec = RunSpec("scripted", "gsm8k:test", "direct", {})
    monkeypatch.setattr("ponder.store.db.MIGRATIONS", MIGRATIONS[:4])
    db = connect(path)
    db.execute(
        "INSERT INTO runs (created_at, kind, model, strategy, config) VALUES (0, 'eval', ?, ?, ?)",
        (spec.model, spec.strategy, json.dumps(spec.config(), sort_keys=True)),
    )
    db.close()
    monkeypatch.undo()
    res = runner.invoke(app, ["runs", "--store", str(path)])  # read-only: the store stays as it was
    assert res.exit_code == 0 and "│ 1  │ -  " in res.output, res.output
    with Store(path) as store:
        assert store.run(1)["identity"] is None
        run = open_run(store, spec)
        assert run != 1 and store.run(run)["identity"] == spec.identity()
        assert open_run(store, spec) == run


def test_two_runs_cannot_hold_one_identity(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.find_or_start_run("eval", "m", "cot", {}, identity="abc")
    with sqlite3.connect(tmp_path / "s.sqlite") as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO runs (created_at, kind, model, identity) VALUES (0, 'eval', 'm', 'abc')")
    db.close()


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_resolves_its_whole_configuration(name):
    judge = ScriptedModel([], model_id="judge-model")
    options = {"verifier_model": judge} if name in ("best-of-n", "beam-search") else {}
    config = build_strategy(name, **options).config()
    assert config["extraction"] == EXTRACTION_VERSION and config["name"] == name
    assert config["budget"] == {"per_call": None, "per_task": None} and "seed" in config
    json.dumps(config, allow_nan=False)
    prompt = config.get("prompt", config)
    assert prompt.get("exemplars_sha256") is None and prompt["templates"]  # agent-math has no exemplars
    assert all(len(h) == 64 for h in prompt["templates"].values())
    if name in ("best-of-n", "beam-search"):
        assert config["verifier"]["model"] == "judge-model" and config["verifier"]["templates"]


def test_a_reward_model_is_resolved_by_its_redacted_url_not_by_how_it_is_reached():
    config = build_strategy(
        "best-of-n", verifier="reward", reward_url="http://user:pw@rm:8000/score?key=s"
    ).config()
    assert config["verifier"] == {
        "url": "http://***@rm:8000/score?key=***",
        "model_name": None,
        "name": "reward-model",
    }


def test_defaults_and_exemplars_are_resolved(data_dir):
    sc = build_strategy("self-consistency", exemplars="gsm8k", data_dir=data_dir).config()
    assert (sc["k"], sc["temperature"], sc["prompt"]["name"], sc["prompt"]["max_tokens"]) == (
        8,
        0.7,
        "cot",
        512,
    )
    assert (
        len(sc["prompt"]["exemplars_sha256"]) == 64 and "templates" not in sc["prompt"]
    )  # few-shot: no template
    assert "data_dir" not in sc["prompt"]
    adaptive = build_strategy("adaptive-consistency").config()
    assert (adaptive["k"], adaptive["batch"], adaptive["rule"], adaptive["threshold"]) == (
        16,
        2,
        "beta",
        0.95,
    )


@pytest.mark.parametrize("name", sorted(PROBES))
def test_every_probe_resolves_its_configuration(name):
    options = {"exemplars": "date_understanding"} if name == "always-a" else {}
    config = build_probe(name, verifier_model=ScriptedModel([], model_id="editor"), **options).config()
    assert config["extraction"] == EXTRACTION_VERSION and config["editor"] == "editor"
    assert config["cot"]["name"] == "cot" and config["cot"]["extract_call"] is False
    json.dumps(config, allow_nan=False)
    if name in ("suggested", "mistakes", "paraphrase"):
        assert list(config["templates"]) == [
            {"suggested": "suggested.j2", "mistakes": "mistake.j2", "paraphrase": "paraphrase.j2"}[name]
        ]


def test_a_changed_probe_template_changes_the_probe_configuration(tmp_path, monkeypatch):
    from ponder.faithfulness import PROMPTS as PROBE_PROMPTS

    before = build_probe("suggested").config()
    folder = tmp_path / "prompts"
    shutil.copytree(PROBE_PROMPTS.env.loader.searchpath[0], folder)
    (folder / "suggested.j2").write_text("{{ question }}\n\nMy guess: {{ suggestion }}.\n", encoding="utf-8")
    monkeypatch.setattr(PROBE_PROMPTS.env, "loader", jinja2.FileSystemLoader(folder))
    after = build_probe("suggested").config()
    assert before["templates"] != after["templates"] and before["cot"] == after["cot"]


async def test_runs_lists_the_identity_and_runs_show_prints_the_resolved_configuration(
    tmp_path, monkeypatch, data_dir
):
    model = scripted("18")
    outcome = await run_once(tmp_path, data_dir, model, Plan("direct", {}))
    store = str(tmp_path / "s.sqlite")
    with Store(store) as s:
        run = s.run(outcome.run_id)
    res = runner.invoke(app, ["runs", "--store", store])
    assert res.exit_code == 0, res.output
    assert run["identity"][:8] in res.output and "gsm8k:test" in res.output
    res = runner.invoke(app, ["runs", "show", str(outcome.run_id), "--store", store])
    assert res.exit_code == 0, res.output
    assert f"identity: {run['identity']}" in res.output
    shown = json.loads(res.output[res.output.index("{") :])
    assert shown == json.loads(run["config"])
    assert shown["resolved"]["max_tokens"] == 32 and shown["resolved"]["templates"]["direct.j2"]
    res = runner.invoke(app, ["runs", "--store", store, "show", str(outcome.run_id)])
    assert res.exit_code == 0 and f"identity: {run['identity']}" in res.output
    res = runner.invoke(app, ["runs", "show", "99", "--store", store])
    assert res.exit_code == 2 and "run 99 is not in the store" in res.output
