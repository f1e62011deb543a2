"""A strategy is one registration and an option one declaration: the command line's strategy
flags, their ranges and help, and which strategy takes which all follow from them."""

import pytest
from typer.testing import CliRunner

from ponder.cli import app
from ponder.models.scripted import ScriptedModel, Step
from ponder.strategies import options, registry
from ponder.strategies.options import COUNT, OPTIONS, StrategyOption, declare, parse_strategy_list

runner = CliRunner()
TOY_HELP = "toy: how many times to play."


@pytest.fixture
def toy(monkeypatch):
    """A strategy `toy` taking one option of its own, `toy_option`, registered for this test only;
    its builder records the options it is given and answers directly."""
    saved = [(table, dict(table)) for table in (options.OPTIONS, registry.REGISTRY, registry.ALLOWED)]
    monkeypatch.setattr(registry, "STRATEGIES", registry.STRATEGIES)
    built = []
    declare(StrategyOption("toy_option", int, TOY_HELP, COUNT))

    @registry.register("toy", {"toy_option", "seed"})
    def build_toy(opts, budget):
        from ponder.strategies.chain import Direct

        built.append(opts)
        return Direct(budget=budget)

    yield built
    for table, copy in saved:
        table.clear()
        table.update(copy)


def _stderr(res) -> str:
    try:
        return res.stderr
    except ValueError:  # a click whose runner mixes the streams
        return res.output


def test_eval_reaches_a_registered_strategy_with_its_option(toy, monkeypatch, cli_models, tmp_path, data_dir):
    scripted = ScriptedModel([Step(["The answer is 18."])])
    cli_models(scripted)
    monkeypatch.setenv("PONDER_DATA_DIR", str(data_dir))
    res = runner.invoke(
        app,
        [
            "eval",
            "gsm8k",
            "--strategy",
            "toy",
            "--toy-option",
            "3",
            "-n",
            "1",
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert toy == [{"toy_option": 3}]
    assert "run 1 toy: 1/1 correct" in res.stdout
    scripted.assert_done()


@pytest.mark.parametrize("command", ["solve", "eval", "compare"])
def test_a_declared_option_is_a_flag_with_its_help(toy, command):
    res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    assert "--toy-option" in res.stdout and TOY_HELP in res.stdout


def test_a_declared_option_is_checked_against_its_range(toy):
    res = runner.invoke(app, ["eval", "gsm8k", "-m", "scripted", "-s", "toy", "--toy-option", "0"])
    assert res.exit_code == 2
    assert _stderr(res).strip() == "error: --toy-option must be at least 1, got 0"
    assert toy == []


def test_a_strategy_that_does_not_take_the_option_names_it(toy):
    res = runner.invoke(app, ["eval", "gsm8k", "-m", "scripted", "-s", "cot", "--toy-option", "3"])
    assert res.exit_code == 2
    assert "strategy 'cot' does not take option(s) toy_option" in _stderr(res)


def test_compare_gives_a_flag_only_to_the_strategies_that_take_it(toy, monkeypatch):
    seen = {}

    async def fake(session, task, plans, *args, **kwargs):
        seen["plans"] = plans
        return []

    monkeypatch.setattr("ponder.eval.evaluate.evaluate", fake)
    monkeypatch.setattr("ponder.cli.eval.show_report", lambda *args: None)
    res = runner.invoke(
        app,
        [
            "compare",
            "gsm8k",
            "--strategies",
            "direct,toy,toy[toy_option=2]",
            "--toy-option",
            "5",
            "--seed",
            "4",
        ],
    )
    assert res.exit_code == 0, res.output
    assert [(p.strategy, p.options) for p in seen["plans"]] == [
        ("direct", {"seed": 4}),
        ("toy", {"toy_option": 5, "seed": 4}),
        ("toy", {"toy_option": 2, "seed": 4}),
    ]


def test_the_registry_derives_its_tables(toy):
    assert registry.STRATEGIES[-1] == "toy"
    assert registry.ALLOWED["toy"] == {"toy_option", "seed"}
    assert parse_strategy_list("toy[toy-option=7]") == [("toy[toy-option=7]", "toy", {"toy_option": 7})]
    assert registry.build_strategy("toy", toy_option=2, seed=None).name == "direct"
    assert toy == [{"toy_option": 2}]


def test_a_registration_names_only_declared_options():
    with pytest.raises(ValueError, match="toy_optoin"):
        registry.register("toy", {"toy_optoin"})
    with pytest.raises(ValueError, match="already registered"):
        registry.register("cot", {"seed"})
    assert "toy" not in registry.REGISTRY


def test_an_option_is_declared_once():
    with pytest.raises(ValueError, match="already declared"):
        declare(StrategyOption("k", float, "Samples."))
    assert declare(OPTIONS["k"]) is OPTIONS["k"]


def test_every_registered_option_is_declared_and_every_flag_is_on_the_commands():
    for name, entry in registry.REGISTRY.items():
        assert entry.options <= set(OPTIONS), name
        assert registry.ALLOWED[name] == set(entry.options)
    assert registry.STRATEGIES == tuple(registry.REGISTRY)
    res = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "300"})
    for option in options.text_options().values():
        assert "--" + option.name.replace("_", "-") in res.stdout
    assert "--data-dir" in res.stdout and "--delimiter" not in res.stdout
