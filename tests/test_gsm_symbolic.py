"""GSM-Symbolic: the template language, instances of the real templates, NoOp, and the set metrics."""

import random
import re

import pytest

from ponder.errors import DataError
from ponder.eval.runner import RunSpec, open_run, run_tasks
from ponder.models.scripted import ScriptedModel, Step
from ponder.report.write import write_report
from ponder.store import Store
from ponder.strategies.chain import Direct
from ponder.tasks.gsm_symbolic import set_accuracy
from ponder.tasks.registry import load_tasks
from ponder.tasks.symbolic_template import TemplateError, draw, parse, render
from ponder.tasks.symbolic_vocab import Word

TOY = """{name,Ann} buys {n,3} boxes of {k,12} eggs and eats {frac,half} of them. How many eggs are left?

#init:
- name = sample(names_female)
- $n = range(2, 9)
- $k = range(6, 25, 6)
- $frac = sample(fractions)

#conditions:
- is_int(n * k * frac)
- divides(n * k, 4)

#answer: n * k - int(n * k * frac)"""


def test_a_template_draws_values_that_meet_its_conditions_and_renders_them():
    template = parse(TOY)
    for seed in range(30):
        env, answer = draw(template, random.Random(seed))
        n, k, frac = env["n"], env["k"], env["frac"]
        assert 2 <= n < 9 and k in (6, 12, 18, 24) and isinstance(frac, Word)
        assert (n * k * frac).denominator == 1 and (n * k) % 4 == 0
        assert answer == str(n * k - int(n * k * frac))
        question = render(template, env)
        assert question == (
            f"{env['name']} buys {n} boxes of {k} eggs and eats {frac.text} of them. How many eggs are left?"
        )
    once, again = draw(template, random.Random(5)), draw(template, random.Random(5))
    assert (render(template, once[0]), once[1]) == (render(template, again[0]), again[1])


def test_number_words_print_as_words_and_compute_as_numbers():
    w = Word("one-third", "1/3")
    assert str(w) == "one-third" and w * 9 == 3 and int(w * 9) == 3 and w[0] == "one-third" and w[1] * 3 == 1


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('true')",
        "().__class__",
        "open('/etc/passwd')",
        "[x for x in range(3)]",
        "lambda: 1",
    ],
)
def test_expressions_outside_the_whitelist_are_refused(expr):
    with pytest.raises(TemplateError):
        template = parse(f"Q {{x,1}}?\n#init:\n- $x = {expr}\n#answer: x")
        draw(template, random.Random(0), tries=1)


def test_an_unsatisfiable_template_gives_none_and_a_bad_one_is_named():
    template = parse("Q {x,1}?\n#init:\n- $x = range(1, 5)\n#conditions:\n- x > 10\n#answer: x")
    assert draw(template, random.Random(0), tries=50) is None
    with pytest.raises(TemplateError, match="needs '#init:' and '#answer:'"):
        parse("no sections here")
    with pytest.raises(TemplateError, match="does not define 'y'"):
        t = parse("Q {y,1}?\n#init:\n- $x = range(1, 5)\n#answer: x")
        render(t, draw(t, random.Random(0))[0])


def test_the_real_templates_give_reproducible_instances_and_the_originals(symbolic_data_dir):
    tasks = load_tasks("gsm-symbolic", count=3, data_dir=symbolic_data_dir)
    assert len(tasks) == 100 * 4
    assert tasks == load_tasks("gsm-symbolic", count=3, data_dir=symbolic_data_dir)
    originals = [t for t in tasks if t.meta["instance"] == "original"]
    gsm = {int(t.id.rsplit("/", 1)[1]): t for t in load_tasks("gsm8k", data_dir=symbolic_data_dir)}
    for t in originals:
        assert (
            t.question == gsm[t.meta["original_id"]].question
            and t.answer == gsm[t.meta["original_id"]].answer
        )
    instances = [t for t in tasks if t.meta["instance"] != "original"]
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", t.answer) for t in instances)
    assert all("{" not in t.question for t in instances)
    # most instances differ from their original
    assert sum(t.question != gsm[t.meta["original_id"]].question for t in instances) > 0.95 * len(instances)


def test_an_instance_answer_recomputed_from_its_question(symbolic_data_dir):
    # template 0006: "{name} has {x} {area}s of {fruit} field. There are {k} {fruit}s per {area}. {name} can
    # harvest his {fruit}s every {n} months. How many {fruit}s can {name} harvest within a year?"
    harvests = [
        t
        for t in load_tasks("gsm-symbolic", count=5, data_dir=symbolic_data_dir)
        if t.meta["template"] == "0006" and t.meta["instance"] != "original"
    ]
    assert len(harvests) == 5
    for t in harvests:
        x, k, n = map(
            int, re.search(r"has (\d+) .*There are (\d+) .*every (\d+) months", t.question).groups()
        )
        assert t.answer == str(x * k * (12 // n))


def test_noop_adds_one_irrelevant_clause_before_the_question_and_keeps_the_answer(symbolic_data_dir):
    plain = load_tasks("gsm-symbolic", count=2, data_dir=symbolic_data_dir)
    noop = load_tasks("gsm-symbolic:noop", count=2, data_dir=symbolic_data_dir)
    assert [t.answer for t in plain] == [t.answer for t in noop]
    for a, b in zip(plain, noop):
        if a.meta["instance"] == "original":
            assert a.question == b.question
            continue
        head, _, question = a.question.rpartition(". ")
        if head:  # the clause goes before the last sentence
            assert b.question.startswith(head + ".") and b.question.endswith(" " + question)
        else:  # a one-sentence problem gets it in front
            assert b.question.endswith(" " + a.question)
        assert len(b.question.split()) > len(a.question.split())


def test_set_accuracy_worked_example():
    items = [
        ({"instance": "original"}, True),
        ({"instance": "original"}, True),
        ({"instance": 0}, True),
        ({"instance": 0}, False),
        ({"instance": 1}, False),
        ({"instance": 1}, False),
    ]
    s = set_accuracy(items)
    assert s["per_set"] == [0.5, 0.0] and s["mean"] == 0.25 and s["original"] == 1.0 and s["drop"] == 0.75
    assert s["std"] == pytest.approx(0.3535534, abs=1e-6) and (s["min"], s["max"]) == (0.0, 0.5)
    assert set_accuracy([({"instance": "original"}, True)]) is None


async def test_the_report_shows_sets_and_the_drop(tmp_path, symbolic_data_dir):
    tasks = load_tasks("gsm-symbolic", count=2, data_dir=symbolic_data_dir)[
        :6
    ]  # two templates: original + 2 each
    replies = [t.answer if t.meta["instance"] != 1 else "-1" for t in tasks]
    with Store(tmp_path / "s.sqlite") as store:
        run = open_run(store, RunSpec("scripted", "gsm-symbolic:symbolic", "direct", {}))
        await run_tasks(Direct(), ScriptedModel([Step([r]) for r in replies]), tasks, store, run)
    written = write_report(tmp_path / "s.sqlite", [run], tmp_path / "r")
    sym = written.runs[0].symbolic
    assert sym["per_set"] == [1.0, 0.0] and sym["original"] == 1.0 and sym["drop"] == 0.5
    html = written.html.read_text()
    assert 'id="symbolic"' in html and "+50.0 points" in html
    assert any(p.name == "symbolic_sets.png" for p in written.figures)


def test_a_broken_template_file_is_named(tmp_path):
    folder = tmp_path / "gsm_symbolic" / "templates" / "symbolic"
    folder.mkdir(parents=True)
    (folder / "0000.json").write_text(
        '{"question": "q", "answer": "#### 1", "question_annotated": "Q {x,1}?"}'
    )
    with pytest.raises(DataError, match=r"0000.json: field 'question_annotated': needs '#init:'"):
        load_tasks("gsm-symbolic", data_dir=tmp_path)
