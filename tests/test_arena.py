"""The arena: players, battles and their JSONL, the store, the judges, play() end to end on the
scripted model, the MT-Bench items, and the CLI."""

import json
import re

import pytest
from typer.testing import CliRunner

from ponder.arena.battles import Battle, read_jsonl, write_jsonl
from ponder.arena.judges import Answer, CorrectnessJudge, LLMJudge, load_judge_prompts, parse_verdict
from ponder.arena.play import pairings, play
from ponder.arena.players import parse_players
from ponder.cli import app
from ponder.errors import ConfigError, DataError
from ponder.models.scripted import ScriptedModel, Step
from ponder.store import Store
from ponder.strategies.chain import Direct
from ponder.tasks.answers import extract
from ponder.tasks.registry import load_tasks
from ponder.types import Task


def test_players_parse_with_options_and_models():
    players = parse_players(
        "direct, cot[exemplars=gsm8k]@local:qwen2.5-coder-1.5b,self-consistency[k=4,temperature=0.5]", "local"
    )
    assert [p.name for p in players] == [
        "direct@local",
        "cot[exemplars=gsm8k]@local:qwen2.5-coder-1.5b",
        "self-consistency[k=4,temperature=0.5]@local",
    ]
    assert [p.model for p in players] == ["local", "local:qwen2.5-coder-1.5b", "local"]
    assert players[2].option_dict == {"k": 4, "temperature": 0.5}
    assert (
        parse_players("cot@openai:gpt-x@http://127.0.0.1:8080/v1,direct", "local")[0].model
        == "openai:gpt-x@http://127.0.0.1:8080/v1"
    )


def test_a_players_name_holds_no_credentials_but_its_model_does():
    [secret, _] = parse_players(
        "cot@openai:gpt-x@http://me:hunter22@127.0.0.1:8080/v1?key=abc123,direct", "local"
    )
    assert "hunter22" not in secret.name and "abc123" not in secret.name
    assert secret.name.startswith("cot@openai:gpt-x@http://") and "127.0.0.1:8080/v1" in secret.name
    assert secret.model == "openai:gpt-x@http://me:hunter22@127.0.0.1:8080/v1?key=abc123"


@pytest.mark.parametrize(
    "text,message",
    [
        ("cot", "at least two"),
        ("cot,cot", "named twice"),
        ("cot,direct@", "nothing after"),
        ("cot[wdth=2],direct", "OPTION=VALUE"),
    ],
)
def test_bad_players_are_named(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_players(text, "local")


def test_pairings_are_seeded_per_item_and_cover_all_pairs():
    names = ["a", "b", "c", "d"]
    every = pairings(names, "q1", None, 0)
    assert len(every) == 6 and {frozenset(p) for p in every} == {
        frozenset((x, y)) for i, x in enumerate(names) for y in names[i + 1 :]
    }
    assert pairings(names, "q1", None, 0) == every
    two = pairings(names, "q1", 2, 0)
    assert len(two) == 2 and two == pairings(names, "q1", 2, 0)
    firsts = {pairings(names, f"q{i}", None, 0)[0][0] for i in range(30)}
    assert len(firsts) > 1  # who is model_a varies


def test_battles_round_trip_through_jsonl(tmp_path):
    battles = [
        Battle("q1", "a", "b", "model_a", "correctness", 1, {"answers": ["1", "2"]}),
        Battle("q2", "b", "c", "tie (bothbad)", "human", 2),
    ]
    path = tmp_path / "b.jsonl"
    assert write_jsonl(battles, path) == 2
    row = json.loads(path.read_text().splitlines()[0])
    assert {k: row[k] for k in ("model_a", "model_b", "winner", "judge", "turn", "question_id")} == {
        "model_a": "a",
        "model_b": "b",
        "winner": "model_a",
        "judge": "correctness",
        "turn": 1,
        "question_id": "q1",
    }
    back = read_jsonl(path)
    assert back == battles and back[0].data == {"answers": ["1", "2"]}
    assert [b.outcome for b in back] == [("a", "b", 1.0), ("b", "c", 0.5)]


@pytest.mark.parametrize(
    "line,message",
    [
        (
            '{"model_a": "a", "model_b": "b", "winner": "draw", "question_id": 1}',
            ":2: field 'winner' is 'draw'",
        ),
        ('{"model_a": "a", "winner": "tie", "question_id": 1}', ":2: field 'model_b' is missing"),
        ('{"model_a": "a", "model_b": "a", "winner": "tie", "question_id": 1}', ":2: model_a and model_b"),
        (
            '{"model_a": "a", "model_b": "b", "winner": "tie", "question_id": 1, "turn": 0}',
            ":2: field 'turn'",
        ),
        ("[1, 2]", ":2: expected a JSON object"),
        ("{oops", ":2: not valid JSON"),
    ],
)
def test_bad_battle_lines_are_named_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "b.jsonl"
    path.write_text('{"model_a": "a", "model_b": "b", "winner": "tie", "question_id": 1}\n' + line + "\n")
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        read_jsonl(path)


def test_store_keeps_battles_by_arena_and_judge_and_imports_once(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.add_battle("x", Battle("q1", "a", "b", "model_a", "correctness"))
        store.add_battle("x", Battle("q1", "a", "b", "model_b", "human"))
        store.add_battle("x", Battle("q1", "a", "b", "tie", "human"))  # people may vote twice
        store.add_battle("y", Battle("q1", "a", "b", "tie", "correctness"))
        assert len(store.battles("x")) == 3 and len(store.battles("x", "human")) == 2
        assert [b.winner for b in store.battles(judge="correctness")] == ["model_a", "tie"]
        added, skipped = store.import_battles(
            "x", [Battle("q1", "a", "b", "tie", "correctness"), Battle("q2", "a", "b", "tie", "correctness")]
        )
        assert (added, skipped) == (1, 1)
        assert {(r["arena"], r["judge"], r["battles"]) for r in store.arenas()} == {
            ("x", "correctness", 2),
            ("x", "human", 2),
            ("y", "correctness", 1),
        }


@pytest.mark.parametrize(
    "text,verdict",
    [
        ("A is better. [[A]]", "A"),
        ("[[B]]", "B"),
        ("tie: [[C]]", "C"),
        ("[[A]] at first, but finally [[B]]", "B"),
        ("I pick [A].", "A"),
        ("[A] or [B]?", None),
        ("Assistant A", None),
    ],
)
def test_verdicts_are_read_from_the_judge_reply(text, verdict):
    assert parse_verdict(text) == verdict


async def test_correctness_judge():
    task = Task("q", "1+1?", "2")
    judge = CorrectnessJudge()
    right, wrong = Answer("a", "2", "2", True), Answer("b", "3", "3", False)
    assert (await judge.decide(task, right, wrong)).winner == "model_a"
    assert (await judge.decide(task, wrong, right)).winner == "model_b"
    assert (await judge.decide(task, right, right)).winner == "tie"
    assert (await judge.decide(task, wrong, wrong)).winner == "tie (bothbad)"
    with pytest.raises(ConfigError, match="gold answers"):
        await judge.decide(Task("q", "?", None, "open"), Answer("a", "x"), Answer("b", "y"))


@pytest.mark.parametrize(
    "first,second,winner",
    [
        ("[[A]]", "[[B]]", "model_a"),
        ("[[B]]", "[[A]]", "model_b"),
        ("[[A]]", "[[A]]", "tie"),
        ("[[C]]", "[[C]]", "tie"),
        ("[[A]]", "no idea", "tie"),
        ("no idea", "none", None),
    ],
)
async def test_llm_judge_asks_both_orders_and_keeps_only_consistent_verdicts(data_dir, first, second, winner):
    model = ScriptedModel([Step([first]), Step([second])])
    judge = LLMJudge(model, load_judge_prompts(data_dir))
    task = Task("gsm8k/test/0", "How many eggs?", "18")
    decision = await judge.decide(task, Answer("p", "ANSWER-P"), Answer("q", "ANSWER-Q"))
    assert decision.winner == winner
    ab, ba = (r.messages[-1].content for r in model.requests)
    assert ab.index("ANSWER-P") < ab.index("ANSWER-Q") and ba.index("ANSWER-Q") < ba.index("ANSWER-P")
    assert "The answer is 18." in ab and decision.data["prompt"] == "pair-math-v1"  # gold answer as reference
    assert model.requests[0].messages[0].role == "system" and model.requests[0].temperature == 0.0


async def test_llm_judge_without_a_reference_uses_pair_v2(data_dir):
    model = ScriptedModel([Step(["[[A]]"]), Step(["[[B]]"])])
    judge = LLMJudge(model, load_judge_prompts(data_dir))
    [writing] = load_tasks("mt-bench", 1, data_dir)
    decision = await judge.decide(writing, Answer("p", "x"), Answer("q", "y"))
    assert decision.data["prompt"] == "pair-v2" and decision.winner == "model_a"
    assert writing.question in model.requests[0].messages[-1].content


def test_mt_bench_items_are_open_ended_with_references_where_given(data_dir):
    tasks = load_tasks("mt-bench", data_dir=data_dir)
    assert len(tasks) == 80 and all(t.kind == "open" and t.answer is None for t in tasks)
    assert sum("reference" in t.meta for t in tasks) == 30
    assert all(len(t.meta["turns"]) == 2 and t.question == t.meta["turns"][0] for t in tasks)
    assert Direct().user(tasks[0]) == tasks[0].question  # asked as it is, not "final answer only"
    assert extract("  A long reply.\n", "open").value == "A long reply."
    assert extract("   ", "open").value is None


def _gsm8k_script(answers: dict[str, list[str]]) -> list[Step]:
    return [Step([text]) for texts in answers.values() for text in texts]


async def test_play_answers_judges_stores_and_adds_a_player_for_its_own_battles_only(
    tmp_path, session_of, data_dir
):
    # gsm8k items 0 and 1 have gold answers 18 and 3
    model = ScriptedModel(
        _gsm8k_script(
            {
                "direct": ["18", "5"],
                "chain-of-draft": ["#### 18", "#### 3"],
                "cot": ["So 18. The answer is 18.", "The answer is 4."],
            }
        )
    )
    store = tmp_path / "s.sqlite"
    players = parse_players("direct,chain-of-draft,cot[exemplars=gsm8k]", "scripted")
    async with session_of(None, store=store, models={"scripted": model}) as session:
        played = await play(session, "gsm8k", players, limit=2, data_dir=data_dir)
    model.assert_done()
    assert (played.new, played.kept, played.undecided) == (6, 0, 0) and played.arena == "gsm8k:test"
    with Store(store) as s:
        battles = s.battles("gsm8k:test", "correctness")
    scores = {}
    for b in battles:
        a, c, x = b.outcome
        scores[a] = scores.get(a, 0) + x
        scores[c] = scores.get(c, 0) + 1 - x
    # item 0: all right, three ties; item 1: only chain-of-draft right, direct v cot both bad
    assert scores == {
        "chain-of-draft@scripted": 3.0,
        "cot[exemplars=gsm8k]@scripted": 1.5,
        "direct@scripted": 1.5,
    }
    assert sorted(b.winner for b in battles).count("tie (bothbad)") == 1
    # again: nothing asked, nothing judged
    async with session_of(None, store=store, models={"scripted": model}) as session:
        again = await play(session, "gsm8k", players, limit=2, data_dir=data_dir)
    assert (again.new, again.kept) == (0, 6) and again.runs == played.runs
    # a fourth player: only its answers (2 calls) and its 3 battles per item
    model.steps = [Step(["18"]), Step(["3"])]
    more = parse_players("direct,chain-of-draft,cot[exemplars=gsm8k],direct[max_tokens=16]", "scripted")
    async with session_of(None, store=store, models={"scripted": model}) as session:
        grown = await play(session, "gsm8k", more, limit=2, data_dir=data_dir)
    model.assert_done()
    assert (grown.new, grown.kept) == (6, 6)


async def test_play_stores_the_players_runs_with_each_battle(tmp_path, session_of, data_dir):
    model = ScriptedModel(_gsm8k_script({"direct": ["18", "5"], "chain-of-draft": ["#### 18", "#### 3"]}))
    store = tmp_path / "s.sqlite"
    players = parse_players("direct,chain-of-draft", "scripted")
    async with session_of(None, store=store, models={"scripted": model}) as session:
        played = await play(session, "gsm8k", players, limit=2, data_dir=data_dir)
    with Store(store) as s:
        battles = s.battles("gsm8k:test")
        assert len(battles) == 2 and len(set(played.runs.values())) == 2
        for b in battles:
            assert b.data["runs"] == {"model_a": played.runs[b.model_a], "model_b": played.runs[b.model_b]}
            assert b.question_id in {r.task.id for r in s.results(b.data["runs"]["model_a"])}


async def test_correctness_on_items_without_gold_fails_before_any_call(session_of, data_dir):
    model = ScriptedModel([])
    async with session_of(None, models={"scripted": model}) as session:
        with pytest.raises(ConfigError, match="--judge MODEL"):
            await play(
                session, "mt-bench", parse_players("direct,cot", "scripted"), limit=2, data_dir=data_dir
            )
        assert session.store.runs() == []
    assert model.requests == []


def test_cli_import_ratings_export(tmp_path):
    runner = CliRunner()
    battles = (
        [Battle(f"q{i}", "strong", "weak", "model_a", "correctness") for i in range(8)]
        + [Battle(f"r{i}", "weak", "strong", "model_a", "correctness") for i in range(2)]
        + [Battle(f"s{i}", "mid", "weak", "tie", "correctness") for i in range(4)]
        + [Battle(f"t{i}", "strong", "mid", "model_a", "correctness") for i in range(3)]
        + [Battle("t9", "strong", "mid", "model_b", "correctness")]
    )
    src = tmp_path / "in.jsonl"
    write_jsonl(battles, src)
    store = str(tmp_path / "s.sqlite")
    r = runner.invoke(app, ["arena", "import", str(src), "--arena", "toy", "--store", store])
    assert r.exit_code == 0 and "18 battles added to toy, 0 already there" in r.output
    r = runner.invoke(app, ["arena", "import", str(src), "--arena", "toy", "--store", store])
    assert "0 battles added to toy, 18 already there" in r.output
    out_dir = tmp_path / "rep"
    r = runner.invoke(
        app,
        ["arena", "ratings", "toy", "--store", store, "--rounds", "50", "--out", str(out_dir)],
        env={"COLUMNS": "200"},
    )
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if "@" not in line]
    order = [name for line in lines for name in ("strong", "mid", "weak") if f" {name} " in line]
    assert order == ["strong", "mid", "weak"]
    board = json.loads((out_dir / "leaderboard.json").read_text())
    assert (
        board["battles"] == 18
        and board["ties"] == 4
        and [r["player"] for r in board["leaderboard"]] == ["strong", "mid", "weak"]
    )
    assert board["observed"][0][2] == pytest.approx(0.8)  # strong beat weak 8 of 10
    html = (out_dir / "arena.html").read_text()
    assert html.count("<img") == 3 and "strong" in html
    r = runner.invoke(app, ["arena", "export", str(tmp_path / "out.jsonl"), "--store", store])
    assert r.exit_code == 0 and read_jsonl(tmp_path / "out.jsonl") == battles
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model_a": "a", "model_b": "b", "winner": "A", "question_id": 1}\n')
    r = runner.invoke(app, ["arena", "import", str(bad), "--arena", "toy", "--store", store])
    assert r.exit_code == 2 and "bad.jsonl:1: field 'winner'" in r.output
    r = runner.invoke(app, ["arena", "ratings", "nothing-here", "--store", store])
    assert r.exit_code == 2 and "no battles" in r.output


def _stored_answers(store_path, data_dir):
    """Two players' answers to two GSM8K items, stored as eval runs without any model; the tasks,
    the answers and each player's run."""
    from ponder.eval.runner import RunSpec, open_run
    from ponder.types import Compute, Result

    tasks = load_tasks("gsm8k", 2, data_dir)
    runs = {}
    with Store(store_path) as store:
        for player, texts in (
            ("direct@x", ["18", "5"]),
            ("cot@x", ["16 - 7 = 9, 9 * 2 = 18. The answer is 18.", "2 + 1 = 3. The answer is 3."]),
        ):
            run = open_run(store, RunSpec("x", "gsm8k:test", player.split("@")[0], {}))
            for t, text in zip(tasks, texts):
                answer = extract(text, "number").value
                store.add_result(run, Result(t, player, answer, text, answer == t.answer, (), Compute()))
            runs[player] = run
        from ponder.arena.play import load_answers

        return tasks, load_answers(store, runs), runs


@pytest.mark.browser
async def test_a_person_votes_in_headless_chromium_and_the_vote_is_stored(tmp_path, data_dir):

    from playwright.async_api import async_playwright

    from ponder.arena.vote import Ballot
    from ponder.view.app import create_app
    from ponder.view.vote import Voting
    from servers import launch_chromium, served

    store_path = tmp_path / "s.sqlite"
    tasks, answers, runs = _stored_answers(store_path, data_dir)
    web = create_app(store_path, vote=Voting("gsm8k:test", Ballot(tasks, answers, seed=1, runs=runs)))
    async with served(web) as base:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await browser.new_page()
                await page.goto(f"{base}/vote")
                question = await page.locator("#prompt").inner_text()
                assert question.strip() in {t.question.strip() for t in tasks}
                assert await page.locator(".player").count() == 0  # identities hidden before the vote
                shown_a = await page.locator("#answer-a pre").inner_text()
                await page.get_by_role("button", name="A is better").click()
                await page.wait_for_selector("#reveal")
                reveal = await page.locator("#reveal").inner_text()
                assert "Your vote: A is better" in reveal
                a_name = (await page.locator("#answer-a .player").inner_text()).strip()
                assert a_name in answers and f"A was {a_name}" in reveal
                task_id = next(t.id for t in tasks if t.question.strip() == question.strip())
                assert answers[a_name][task_id].text.strip() == shown_a.strip()
                await page.click("#battle")  # the stored battle's page, with both answers
                assert (await page.locator("#winner").inner_text()).startswith("model_a")
                assert (await page.locator("#answer-a .player").inner_text()).strip() == a_name
                assert shown_a.strip() in await page.locator("#answer-a .reply").inner_text()
                await page.go_back()
                await page.click("#next")
                await page.get_by_role("button", name="Both are bad").click()
                await page.wait_for_selector("#reveal")
            finally:
                await browser.close()
    with Store(store_path) as store:
        votes = store.battles("gsm8k:test", "human")
    assert [v.winner for v in votes] == ["model_a", "tie (bothbad)"]
    assert votes[0].model_a == a_name and votes[0].question_id == task_id
    assert {votes[0].model_a, votes[0].model_b} == {"direct@x", "cot@x"}
    assert votes[0].data["runs"] == {"model_a": runs[votes[0].model_a], "model_b": runs[votes[0].model_b]}


async def test_the_vote_endpoint_refuses_bad_and_replayed_votes(tmp_path, data_dir):
    import httpx

    from ponder.arena.vote import Ballot
    from ponder.view.app import create_app
    from ponder.view.vote import Voting

    store_path = tmp_path / "s.sqlite"
    tasks, answers, runs = _stored_answers(store_path, data_dir)
    ballot = Ballot(tasks, answers, seed=2, runs=runs)
    web = create_app(store_path, vote=Voting("gsm8k:test", ballot))
    form = {"content-type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as client:
        page = await client.get("/vote")
        assert page.status_code == 200 and "A is better" in page.text
        [token] = list(ballot.shown)
        bad = await client.post("/vote", content=f"token={token}&winner=%3Cscript%3E", headers=form)
        assert bad.status_code == 400 and "field &#39;winner&#39;" in bad.text
        assert "<script>" not in bad.text and "&lt;script&gt;" in bad.text
        ok = await client.post("/vote", content=f"token={token}&winner=tie", headers=form)
        assert ok.status_code == 200 and "Your vote" in ok.text
        [battle_link] = re.findall(r'href="(/battles/\d+)"', ok.text)
        assert 'href="/vote"' in ok.text
        again = await client.post("/vote", content=f"token={token}&winner=tie", headers=form)
        assert again.status_code == 400 and "already used" in again.text
        unknown = await client.post("/vote", content="token=nope&winner=tie", headers=form)
        assert unknown.status_code == 400 and "unknown or already used" in unknown.text
        shown = await client.get(battle_link)  # the view's read-only store sees the new battle
        assert shown.status_code == 200 and "human" in shown.text and 'id="answer-b"' in shown.text
    with Store(store_path) as store:
        [vote] = store.battles("gsm8k:test", "human")
        assert vote.winner == "tie" and set(vote.data["runs"].values()) == set(runs.values())
    with pytest.raises(ConfigError, match="nothing to vote on"):
        Ballot(tasks, {"only@x": answers["direct@x"]})


async def test_the_view_serves_no_voting_page_unless_asked(tmp_path, data_dir):
    import httpx

    from ponder.view.app import create_app

    store_path = tmp_path / "s.sqlite"
    _stored_answers(store_path, data_dir)
    form = {"content-type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store_path)), base_url="http://test"
    ) as client:
        assert (await client.get("/vote")).status_code == 404
        assert (await client.post("/vote", content="token=x&winner=tie", headers=form)).status_code in (
            404,
            405,
        )
    with Store(store_path) as store:
        assert store.battles() == []


async def test_direct_holds_an_mt_bench_conversation_and_turn_two_is_judged_with_both_turns(
    tmp_path, session_of, data_dir
):
    model = ScriptedModel(
        [
            Step(["P1"]),
            Step(["P2"]),
            Step(["Q1"]),
            Step(["Q2"]),  # answers: 2 players x 2 turns
            Step(["[[A]]"]),
            Step(["[[B]]"]),  # turn 1, both orders: consistent
            Step(["[[A]]"]),
            Step(["[[A]]"]),
        ]
    )  # turn 2: inconsistent -> tie
    players = parse_players("direct,direct[max_tokens=64]", "scripted")
    store = tmp_path / "s.sqlite"
    async with session_of(None, model, store=store, models={"scripted": model}) as session:
        played = await play(session, "mt-bench", players, limit=1, data_dir=data_dir)
    model.assert_done()
    [item] = load_tasks("mt-bench", 1, data_dir)
    second = model.requests[1]
    assert [(m.role, m.content) for m in second.messages] == [
        ("user", item.meta["turns"][0]),
        ("assistant", "P1"),
        ("user", item.meta["turns"][1]),
    ]
    assert played.new == 2
    with Store(store) as s:
        battles = s.battles("mt-bench")
    assert [(b.turn, b.judge) for b in battles] == [(1, "llm:scripted"), (2, "llm:scripted")]
    assert battles[1].winner == "tie" and battles[1].data["prompt"] == "pair-v2-multi-turn"
    turn2 = model.requests[6].messages[-1].content
    assert all(x in turn2 for x in ("P1", "P2", "Q1", "Q2", item.meta["turns"][1]))
    first_a = battles[0].model_a
    assert battles[0].winner == "model_a" and first_a in {p.name for p in players}
    # a player that does not hold conversations (cot) meets the others on turn 1 only
    model.steps = [Step(["C1"]), Step(["[[C]]"]), Step(["[[C]]"]), Step(["[[B]]"]), Step(["[[A]]"])]
    more = parse_players("direct,direct[max_tokens=64],cot", "scripted")
    async with session_of(None, model, store=store, models={"scripted": model}) as session:
        grown = await play(session, "mt-bench", more, limit=1, data_dir=data_dir)
    model.assert_done()
    assert (grown.new, grown.kept) == (2, 2)
