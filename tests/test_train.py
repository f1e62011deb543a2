"""`ponder train sft|prm|grpo` on the tiny random Qwen2 (seconds per step), and the config's
failure paths. The 0.5B runs are commands whose figures are in docs/training.md."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ponder.cli import app

pytest.importorskip("trl")
runner = CliRunner()
train = pytest.mark.train


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # config paths are relative to the current folder


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def sft_rows(n=6):
    return "".join(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"What is {i} + {i}?\n\nLet's think step by step."},
                    {"role": "assistant", "content": f"{i} + {i} = {2 * i}. The answer is {2 * i}."},
                ],
                "provenance": {"item": str(i)},
            }
        )
        + "\n"
        for i in range(n)
    )


@train
def test_sft_trains_logs_every_step_and_saves_a_loadable_model(tmp_path):
    from transformers import AutoModelForCausalLM

    write(tmp_path, "sft.jsonl", sft_rows())
    config = write(
        tmp_path,
        "sft.yaml",
        "model: tiny\ndata: sft.jsonl\noutput: out\nmax_steps: 3\nlearning_rate: 0.001\n",
    )
    res = runner.invoke(app, ["train", "sft", str(config)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 3 and all(0 < x < 20 for x in losses)
    assert losses[-1] < losses[0]  # lr 1e-3 on 6 short rows: the loss falls
    assert (tmp_path / "out" / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert "sft: per step" in res.output and "saved the model to" in res.output
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "model")
    assert model.config.hidden_size == 64


@train
def test_grpo_logs_reward_length_clipping_and_groups_that_train_nothing(tmp_path):
    config = write(
        tmp_path,
        "grpo.yaml",
        "kind: grpo\nmodel: tiny\ndata: gsm8k:train\nlimit: 2\noutput: out\nmax_steps: 1\nbatch_size: 1\n"
        "num_generations: 2\nmax_completion_length: 8\nrewards:\n  - name: correctness\n"
        "  - name: relative_length\n  - name: format\n    weight: 0.5\n",
    )
    res = runner.invoke(app, ["train", "grpo", str(config)])
    assert res.exit_code == 0, res.output
    [step] = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()][:1]
    for key in ("reward", "completions/mean_length", "completions/clipped_ratio", "frac_reward_zero_std"):
        assert key in step
    for name in ("correctness", "relative_length", "answer_format"):
        assert f"rewards/{name}/mean" in step
    header = res.output.split("────")[0]  # a header too wide for the terminal wraps at its spaces
    assert all(word in header for word in ("correctness", "relative", "answer", "format", "zero-std"))
    # a random model's 8 tokens answer nothing: every group's rewards agree, so nothing is learned
    assert step["completions/mean_length"] == 8 and step["completions/clipped_ratio"] == 1
    assert step["frac_reward_zero_std"] == 1 and step["loss"] == 0 and step["grad_norm"] == 0


@train
def test_prm_trains_a_step_classifier_that_beam_search_uses(tmp_path):
    import asyncio

    from ponder.details import BeamSearchDetails
    from ponder.models.scripted import ScriptedModel, Step
    from ponder.strategies.registry import build_strategy
    from ponder.types import Task

    rows = []
    for i in range(6):
        good = {
            "prompt": f"What is {i} + {i}?",
            "completions": [f"{i} + {i} = {2 * i}.", f"The answer is {2 * i}."],
        }
        rows.append({**good, "labels": [True, True]})
        rows.append({**good, "completions": [f"{i} + {i} = {2 * i + 1}."], "labels": [False]})
    write(tmp_path, "steps.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    config = write(
        tmp_path, "prm.yaml", "model: tiny\ndata: steps.jsonl\noutput: out\nmax_steps: 2\nbatch_size: 4\n"
    )
    res = runner.invoke(app, ["train", "prm", str(config)])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "out" / "model"

    strategy = build_strategy(
        "beam-search", verifier=f"prm:{folder}", width=1, expand=2, max_steps=2, delimiter="\n"
    )
    model = ScriptedModel(
        [Step(["2 + 2 = 4.", "2 + 2 = 5."]), Step(["The answer is 4.", "The answer is 5."]), Step([" 4."])]
    )
    result = asyncio.run(strategy.run(Task("t", "What is 2 + 2?", "4"), model))
    model.assert_done()
    assert isinstance(result.details, BeamSearchDetails)
    prm_calls = [c for c in result.calls if c.purpose == "verify-prm"]
    assert len(prm_calls) == 4 and all(0 < float(c.completions[0].text) < 1 for c in prm_calls)
    assert all(c.completions[0].usage.prompt_tokens > 0 for c in prm_calls)
    assert result.answer == "4"


def test_config_errors_name_the_file_and_field(tmp_path):
    cases = [
        ("kind: sft\ndata: d.jsonl\noutput: o\nmax_stepz: 3\n", "max_stepz: Extra inputs are not permitted"),
        ("kind: grpo\ndata: d.jsonl\noutput: o\n", "kind: the config is for grpo, not sft"),
        ("data: d.jsonl\noutput: o\nmax_steps: 0\n", "max_steps: Input should be greater than or equal to 1"),
        ("data: [unclosed\n", "not YAML"),
        ("- a\n- b\n", "expected a mapping of settings, got a list"),
        ("output: o\n", "data: Field required"),
    ]
    for text, message in cases:
        config = write(tmp_path, "c.yaml", text)
        res = runner.invoke(app, ["train", "sft", str(config)])
        assert res.exit_code == 2 and f"{config}:" in res.output and message in res.output, (
            text,
            res.output,
        )
    config = write(tmp_path, "b.yaml", "")
    config.write_bytes(b"data: \xff\n")
    res = runner.invoke(app, ["train", "sft", str(config)])
    assert res.exit_code == 2 and "not UTF-8" in res.output
    res = runner.invoke(app, ["train", "sft", str(tmp_path / "none.yaml")])
    assert res.exit_code == 2 and "no such file" in res.output
    budget = "data: gsm8k:train\noutput: o\nrewards:\n  - name: budget\n    budget: 10\n"
    res = runner.invoke(app, ["train", "grpo", str(write(tmp_path, "g.yaml", budget))])
    assert (
        res.exit_code == 2
        and "g.yaml:4: rewards.0: the budget reward needs budget and a window" in res.output
    )
    res = runner.invoke(app, ["train", "sft", str(tmp_path)])
    assert res.exit_code == 2 and "a folder, not a config file" in res.output


@train
def test_bad_data_is_named_by_file_and_line(tmp_path):
    config = write(tmp_path, "sft.yaml", "model: tiny\ndata: sft.jsonl\noutput: out\nmax_steps: 1\n")
    for text, message in [
        (sft_rows(2) + "{not json\n", "sft.jsonl:3: not JSON"),
        (sft_rows(1) + '{"text": "x"}\n', "sft.jsonl:2: expected a JSON object with messages"),
        ('{"messages": [{"role": "user", "content": "q"}]}\n', "row 1: 'messages' must be messages ending"),
        ("\n\n", "sft.jsonl: no rows"),
    ]:
        write(tmp_path, "sft.jsonl", text)
        res = runner.invoke(app, ["train", "sft", str(config)])
        assert res.exit_code == 2 and message in res.output, (text, res.output)
    (tmp_path / "sft.jsonl").write_bytes(sft_rows(1).encode() + b'{"messages": "\xff"}\n')
    res = runner.invoke(app, ["train", "sft", str(config)])
    assert res.exit_code == 2 and "sft.jsonl:2: not UTF-8" in res.output
    res = runner.invoke(
        app, ["train", "sft", str(write(tmp_path, "x.yaml", "model: tiny\ndata: nope.jsonl\noutput: o\n"))]
    )
    assert res.exit_code == 2 and "nope.jsonl: no such file" in res.output
    config = write(
        tmp_path, "t.yaml", "model: tiny\ndata: sft.jsonl\noutput: out\ntrainer:\n  no_such_setting: 1\n"
    )
    write(tmp_path, "sft.jsonl", sft_rows(2))
    res = runner.invoke(app, ["train", "sft", str(config)])
    assert res.exit_code == 2 and "trainer:" in res.output and "no_such_setting" in res.output


@train
def test_export_writes_a_gguf_that_llama_cpp_serves(tmp_path):
    """The default model round-trips: dequantised to transformers weights, exported, requantised
    to Q4_K_M; the file has the shipped file's size and the local backend answers with it."""
    from llama_cpp import Llama

    from ponder.models.weights import models_dir
    from ponder.train.weights import hf_dir

    folder = hf_dir("local")  # dequantised once (about a minute), then kept
    out = tmp_path / "m.gguf"
    res = runner.invoke(app, ["train", "export", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    shipped = models_dir() / "qwen2.5-coder-0.5b.gguf"
    assert out.stat().st_size == shipped.stat().st_size
    reply = Llama(str(out), n_ctx=256, verbose=False).create_chat_completion(
        [{"role": "user", "content": "What is 2 + 3? Answer with the number."}], max_tokens=8, temperature=0
    )
    assert "5" in reply["choices"][0]["message"]["content"]


@train
def test_export_refuses_a_model_of_another_architecture(tmp_path):
    from ponder.train.weights import causal_lm, save

    model, tokenizer = causal_lm("tiny")
    save(model, tokenizer, tmp_path / "tiny")
    res = runner.invoke(app, ["train", "export", str(tmp_path / "tiny"), "--out", str(tmp_path / "t.gguf")])
    assert res.exit_code == 2 and "of the base model qwen2.5-coder-0.5b.gguf" in res.output
    res = runner.invoke(app, ["train", "export", str(tmp_path), "--quantize", "q2"])
    assert res.exit_code == 2 and "--quantize 'q2'" in res.output
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".*tmp"))


def test_the_shipped_configs_read():
    from pathlib import Path

    from ponder.train.config import read_config

    folder = Path(__file__).resolve().parents[1] / "configs" / "train"
    kinds = {}
    for path in sorted(folder.glob("*.yaml")):
        config, _ = read_config(path)
        kinds[path.name] = config.kind
    assert kinds == {
        "grpo-0.5b-correctness.yaml": "grpo",
        "grpo-0.5b-kimi.yaml": "grpo",
        "grpo-0.5b.yaml": "grpo",
        "prm-0.5b.yaml": "prm",
        "sft-0.5b.yaml": "sft",
    }


@train
def test_a_stopped_run_resumes_from_its_checkpoint(tmp_path):
    write(tmp_path, "sft.jsonl", sft_rows())
    saving = "model: tiny\ndata: sft.jsonl\noutput: out\nlearning_rate: 0.001\ntrainer:\n  save_strategy: steps\n  save_steps: 1\n"
    res = runner.invoke(
        app, ["train", "sft", str(write(tmp_path, "a.yaml", saving + "max_steps: 2\n")), "--resume"]
    )
    assert res.exit_code == 2 and "--resume: no checkpoint under" in res.output
    res = runner.invoke(app, ["train", "sft", str(write(tmp_path, "a.yaml", saving + "max_steps: 2\n"))])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "checkpoints" / "checkpoint-2").is_dir()
    res = runner.invoke(
        app, ["train", "sft", str(write(tmp_path, "b.yaml", saving + "max_steps: 3\n")), "--resume"]
    )
    assert res.exit_code == 0, res.output
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [1, 2, 2, 3, 3]  # two steps and their summary, then the third and its summary


def test_the_grpo_table_has_a_column_per_reward_in_the_order_logged():
    from ponder.cli.train import columns

    steps = [
        {"reward": 0.5, "rewards/correctness/mean": 0.5, "rewards/kimi_length/mean": 0.0},
        {"reward": 0.0, "rewards/correctness/mean": 0.0, "rewards/answer_format/mean": 1.0},
    ]
    cols = columns("grpo", steps)
    assert cols[:4] == [
        ("reward", "reward"),
        ("rewards/correctness/mean", "correctness"),
        ("rewards/kimi_length/mean", "kimi length"),
        ("rewards/answer_format/mean", "answer format"),
    ]
    assert ("completions/mean_length", "length") in cols and (
        "frac_reward_zero_std",
        "zero-std groups",
    ) in cols
    assert columns("sft", steps) == [
        ("loss", "loss"),
        ("mean_token_accuracy", "token acc"),
        ("num_tokens", "tokens"),
    ]
