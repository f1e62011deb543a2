"""The arena pages of `ponder view`: the arenas list, an arena's leaderboard and battles a page
at a time, and one battle with both players' stored answers and a model judge's verdicts in both
orders; stored text renders escaped, battles without runs still show, unknown ids are 404 pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ponder.store import Store
from ponder.types import Battle, Compute, Result, Task
from ponder.view.app import create_app

EVIL = "<script>alert(1)</script>"
JUDGE = "llm:judge"


def answer(task: Task, player: str, text: str, value: str | None, correct: bool | None) -> Result:
    return Result(task, player, value, text, correct, (), Compute())


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Two players' runs on two items; arena `gsm8k:test` with a model judge's battles (runs
    recorded, one reply hostile) and an imported battle; arena `mt/bench` with 120 battles."""
    path = tmp_path / "ponder.sqlite"
    q0, q1 = Task("gsm8k/0", "How many eggs?", "18"), Task("gsm8k/1", f"Why {EVIL}?", "3")
    with Store(path) as s:
        strong = s.start_run("eval", "x", "cot", {"task": "gsm8k"})
        weak = s.start_run("eval", "x", "direct", {"task": "gsm8k"})
        s.add_result(strong, answer(q0, "cot@x", "16 - 7 = 9, 9 * 2 = 18. The answer is 18.", "18", True))
        s.add_result(strong, answer(q1, "cot@x", "So 3.", "3", True))
        s.add_result(weak, answer(q0, "direct@x", "17", "17", False))
        s.add_result(weak, answer(q1, "direct@x", f"It is {EVIL}", None, None))
        runs = {"model_a": strong, "model_b": weak}
        verdicts = {
            "prompt": "pair-math-v1",
            "verdicts": ["A", "A"],
            "replies": ["Assistant A is right. [[A]]", "Assistant B is right. [[B]]"],
            "consistent": True,
        }
        s.add_battle(
            "gsm8k:test",
            Battle("gsm8k/0", "cot@x", "direct@x", "model_a", JUDGE, 1, {**verdicts, "runs": runs}),
        )
        split = {"prompt": "pair-v2", "verdicts": ["B", "C"], "replies": [f"B {EVIL} [[B]]", "[[C]]"]}
        s.add_battle(
            "gsm8k:test",
            Battle(
                "gsm8k/1", "cot@x", "direct@x", "tie", JUDGE, 1, {**split, "consistent": False, "runs": runs}
            ),
        )
        s.import_battles(
            "gsm8k:test", [Battle("gsm8k/7", "direct@x", "cot@x", "model_b", "human", 1, {"note": EVIL})]
        )
        s.import_battles(
            "mt/bench",
            [
                Battle(f"mt/{i:03d}", "p", "q", "model_a" if i % 3 else "tie", "correctness")
                for i in range(120)
            ],
        )
    return path


@pytest.fixture
def client(store_path: Path) -> TestClient:
    return TestClient(create_app(store_path))


def battle_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<td class="num"><a href="/battles/(\d+)">', html)]


def leaderboard(html: str) -> list[str]:
    table = html[html.index('id="leaderboard"') : html.index("</table>", html.index('id="leaderboard"'))]
    return re.findall(r'<td class="player">([^<]*)</td>', table)


def test_arenas_list_every_arena_and_judge_with_links(client):
    res = client.get("/arenas")
    assert res.status_code == 200
    rows = re.findall(
        r'<td><a href="(/arenas/[^"]+)">([^<]+)</a></td>\s*<td><a href="[^"]+">([^<]+)</a></td>\s*<td class="num">(\d+)</td>',
        res.text,
    )
    assert [(href, arena, judge, int(n)) for href, arena, judge, n in rows] == [
        ("/arenas/gsm8k:test", "gsm8k:test", "human", 1),
        ("/arenas/gsm8k:test", "gsm8k:test", JUDGE, 2),
        ("/arenas/mt/bench", "mt/bench", "correctness", 120),
    ]
    assert "/arenas/gsm8k:test?judge=llm%3Ajudge" in res.text


def test_an_arena_page_shows_its_leaderboard_and_battles_newest_first(client):
    res = client.get("/arenas/gsm8k:test")
    assert res.status_code == 200
    assert leaderboard(res.text) == ["cot@x", "direct@x"]  # cot@x: two wins and a tie
    assert battle_ids(res.text) == [3, 2, 1]
    assert "3 battles" in res.text and "page 1 of 1" in res.text
    cells = re.findall(r"<td>(yes|no)</td>", res.text)
    assert cells == ["no", "yes"]  # the human battle has no orders to agree


def test_an_arena_page_for_one_judge(client):
    res = client.get("/arenas/gsm8k:test", params={"judge": JUDGE})
    assert res.status_code == 200
    assert battle_ids(res.text) == [2, 1]
    tallies = re.findall(
        r'<td class="player">([^<]*)</td>(?:\s*<td class="num">[^<]*</td>){3}\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
        res.text,
    )
    assert tallies == [("cot@x", "1", "1", "0"), ("direct@x", "0", "1", "1")]


def test_an_arena_with_a_slash_is_paged_50_at_a_time(client, store_path):
    first = client.get("/arenas/mt/bench")
    assert first.status_code == 200 and "page 1 of 3" in first.text
    with Store(store_path) as s:
        ids = [r[0] for r in s._read("SELECT id FROM battles WHERE arena = 'mt/bench' ORDER BY id DESC")]
    assert battle_ids(first.text) == ids[:50]
    assert battle_ids(client.get("/arenas/mt/bench", params={"page": 2}).text) == ids[50:100]
    last = client.get("/arenas/mt/bench", params={"page": 3})
    assert battle_ids(last.text) == ids[100:] and 'rel="next"' not in last.text and 'rel="prev"' in last.text
    assert battle_ids(client.get("/arenas/mt/bench", params={"page": 99}).text) == ids[100:]
    assert battle_ids(client.get("/arenas/mt/bench", params={"page": "x"}).text) == ids[:50]
    assert leaderboard(first.text) == ["p", "q"]


def test_a_battle_page_shows_both_answers_and_both_orders(client):
    res = client.get("/battles/1")
    assert res.status_code == 200
    html = res.text
    assert "How many eggs?" in html and "gold: 18" in html
    a, b = html.index('id="answer-a"'), html.index('id="answer-b"')
    assert a < html.index("9 * 2 = 18. The answer is 18.") < b < html.index(">17</div>")
    assert 'href="/runs/1/samples/gsm8k/0"' in html and 'href="/runs/2/samples/gsm8k/0"' in html
    assert '<span class="correct">correct</span>' in html and '<span class="wrong">wrong</span>' in html
    assert 'id="winner">model_a (cot@x)' in html and 'id="consistent">yes' in html
    verdicts = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", html)
    assert verdicts == [
        ("A (cot@x) shown first", "A (cot@x) is better"),
        ("B (direct@x) shown first", "A (cot@x) is better"),
    ]
    assert html.count('<details class="judge-reply">') == 2
    assert "Assistant A is right. [[A]]" in html and "Assistant B is right. [[B]]" in html
    assert 'href="/arenas/gsm8k:test"' in html


def test_a_battle_whose_orders_disagree(client):
    html = client.get("/battles/2").text
    assert "no: the verdict is a tie" in html
    assert "B (direct@x) is better" in html and ">tie<" in html


def test_a_battle_without_runs_says_the_answers_are_not_in_the_store(client):
    res = client.get("/battles/3")
    assert res.status_code == 200
    assert "gsm8k/7" in res.text and "records no runs, so the answers are not in the store" in res.text
    assert "/runs/" not in res.text and 'id="verdicts"' not in res.text
    assert "&lt;script&gt;" in res.text  # its other data, escaped


def test_stored_text_renders_escaped(client):
    pages = [client.get(p).text for p in ("/battles/2", "/battles/3", "/arenas", "/arenas/gsm8k:test")]
    assert all(EVIL not in html for html in pages)
    battle = pages[0]
    assert f"Why {EVIL.replace('<', '&lt;').replace('>', '&gt;')}?" in battle
    assert battle.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # question, answer, reply


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/arenas/nothing", "no arena &#39;nothing&#39;"),
        ("/arenas/gsm8k:test?judge=nobody", "no battles judged by &#39;nobody&#39;"),
        ("/battles/999", "no battle 999"),
        ("/battles/abc", "battle ids are numbers"),
    ],
)
def test_unknown_arenas_and_battles_are_404_pages(client, path, message):
    res = client.get(path)
    assert res.status_code == 404 and message in res.text


def test_the_arena_pages_never_write(store_path):
    before = store_path.read_bytes()
    with TestClient(create_app(store_path)) as client:
        for path in ("/arenas", "/arenas/gsm8k:test", "/battles/1", "/battles/3", "/vote"):
            client.get(path)
    assert store_path.read_bytes() == before


def test_a_second_turn_battle_shows_both_questions_and_every_reply(tmp_path):
    from ponder.details import ConversationDetails

    path = tmp_path / "s.sqlite"
    task = Task("mt/81", "Write a poem.", None, "open", {"turns": ["Write a poem.", "Now shorter."]})
    with Store(path) as s:
        runs = {}
        for key, player in (("model_a", "direct@x"), ("model_b", "direct[max_tokens=9]@x")):
            runs[key] = s.start_run("eval", "x", "direct", {"task": "mt-bench"})
            turns = (f"{player} long poem", f"{player} short poem")
            result = Result(
                task, player, turns[-1], turns[-1], None, (), Compute(), ConversationDetails(turns=turns)
            )
            s.add_result(runs[key], result)
        s.add_battle(
            "mt-bench", Battle("mt/81", "direct@x", "direct[max_tokens=9]@x", "tie", JUDGE, 2, {"runs": runs})
        )
    html = TestClient(create_app(path)).get("/battles/1").text
    assert "turn 2" in html and "Now shorter." in html and "Write a poem." in html
    for player in ("direct@x", "direct[max_tokens=9]@x"):
        assert f"{player} long poem" in html and f"{player} short poem" in html
    assert html.count('class="ungraded"') == 2


def ratings_shown(html: str) -> list[tuple[str, str, str]]:
    table = html[html.index('id="leaderboard"') : html.index("</table>", html.index('id="leaderboard"'))]
    return re.findall(
        r'<td class="player">([^<]*)</td>\s*<td class="num">([^<]*)</td>\s*<td class="num">([^<]*)</td>',
        table,
    )


def test_the_leaderboard_is_the_clis_and_follows_new_battles(client, store_path):
    from ponder.arena.report import rate

    def cli_ratings() -> list[tuple[str, str, str]]:
        with Store(store_path, readonly=True) as s:
            rows = rate(s.battles("mt/bench"), "bt", 1000, 0).rows
        return [(r.player, f"{r.rating:.0f}", f"{r.lower:.0f} – {r.upper:.0f}") for r in rows]

    assert ratings_shown(client.get("/arenas/mt/bench").text) == cli_ratings()
    with Store(store_path) as s:
        s.import_battles(
            "mt/bench", [Battle(f"mt/x{i}", "q", "p", "model_a", "correctness") for i in range(90)]
        )
    after = client.get("/arenas/mt/bench").text
    assert "210 battles" in after
    assert ratings_shown(after) == cli_ratings() and [p for p, _, _ in ratings_shown(after)] == ["q", "p"]
