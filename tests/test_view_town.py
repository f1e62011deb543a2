"""The town replay of `ponder view` over a small town run written straight to a store (no model):
the page lists the agents and embeds the map and the steps; an agent's panel as of a step has its
plan with the current items marked, only the memories made by then, their retrieval scores as
`score_all` gives them, and its reflections with the memories they cite; unknown runs and runs
that are not town runs are error pages; stored text is escaped everywhere. In chromium: play,
the slider, an agent's panel."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.town_files import write_town

from ponder.store import Store, StoredMemories, StoredMemory, StoredSteps, TownStep
from ponder.town.contracts import MemoryRecord, Weights
from ponder.town.scores import score_all
from ponder.view.app import create_app

EVIL = "<script>alert(1)</script>"
MAP = "#########\n#aaaaaab#\n#aaaaaaa#\n#.......#\n#########\n"
AGENTS = """agents:
  - name: Ana Lima
    age: 30
    traits: calm
    facts: [Ana bakes bread.]
    lifestyle: Ana wakes at 7:00.
    home: Ana house
    start: [1, 1]
    relationships: {}
  - name: Bo Park
    age: 40
    traits: loud
    facts: [Bo sells fish.]
    lifestyle: Bo wakes at 6:00.
    home: Ana house
    start: [2, 3]
    relationships: {}
"""
SCENARIO = """name: Baking day
start: "2025-02-14 07:00"
facts:
  - id: bread
    agent: Ana Lima
    text: Ana will sell bread today.
    question: Is anyone selling bread?
"""
DAY = datetime(2025, 2, 14)
PLAN = {
    "chunks": [
        {"start": "2025-02-14T06:00:00", "minutes": 60, "action": "sleeps", "where": "bed"},
        {"start": "2025-02-14T07:00:00", "minutes": 120, "action": "bakes bread", "where": "kitchen"},
    ],
    "hours": [
        {"start": "2025-02-14T07:00:00", "minutes": 15, "action": "lights the stove", "where": "stove"},
        {"start": "2025-02-14T07:15:00", "minutes": 45, "action": "kneads dough", "where": "kitchen"},
    ],
    "actions": [
        {"start": "2025-02-14T07:10:00", "minutes": 10, "action": "lights the stove", "where": "stove"}
    ],
}
# (number, kind, text, minute made, importance, evidence, embedding) of Ana's memories
MEMORIES = [
    (1, "observation", "Ana bakes bread.", 0, 5, (), (1.0, 0.0, 0.0, 0.0)),
    (2, "plan", "Ana plans to bake bread all morning", 0, 7, (), (0.0, 1.0, 0.0, 0.0)),
    (3, "observation", f"the stove is hot {EVIL}", 10, 3, (), (0.5, 0.5, 0.0, 0.0)),
    (4, "reflection", "Ana cares about her bread", 20, 8, (1, 3), (0.0, 0.8, 0.6, 0.0)),
    (5, "observation", "Bo Park walks in", 30, 9, (), (0.0, 0.0, 0.0, 1.0)),
]


def agent_state(tile: list[int], action: str, said: list[str]) -> dict[str, object]:
    return {
        "tile": tile,
        "action": action,
        "where": "Ana house:kitchen",
        "target": "Ana house:kitchen",
        "path": [],
        "said": said,
        "plan": PLAN,
        "known": [],
        "seen": [],
        "last_talk": {},
        "day": "2025-02-14",
    }


def fill(path: Path, folder: Path) -> int:
    """A town run of three steps (07:10, 07:20, 07:30) with Ana's memories, and an eval run."""
    with Store(path) as store:
        store.start_run("eval", "scripted", "direct", {"task": "gsm8k:test"})
        run_id = store.start_run(
            "town",
            "scripted",
            "town",
            {"task": "town:tiny", "town": str(folder), "step_minutes": 10, "embedder": "scripted"},
        )
        steps = StoredSteps(store)
        for i in range(3):
            said = [f"Fresh bread soon! {EVIL}"] if i == 1 else []
            steps.add_step(
                run_id,
                TownStep(
                    i + 1,
                    DAY.replace(hour=7, minute=10 * (i + 1)),
                    {
                        "agents": {
                            "Ana Lima": agent_state(
                                [1 + i, 1], ["wakes", "lights the stove", "kneads"][i], said
                            ),
                            "Bo Park": agent_state([2, 3], "sells fish", []),
                        },
                        "objects": {"Ana house:kitchen:stove": "cooking" if i else "idle"},
                    },
                ),
            )
        memories = StoredMemories(store)
        for number, kind, text, minute, importance, evidence, vec in MEMORIES:
            when = DAY.replace(hour=7, minute=minute)
            memories.add_memory(
                run_id, StoredMemory("Ana Lima", number, kind, text, when, when, importance, evidence, vec)
            )
    return run_id


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_town(tmp_path / "tiny", MAP, AGENTS, SCENARIO)


@pytest.fixture
def client(tmp_path: Path, tiny: Path) -> TestClient:
    path = tmp_path / "ponder.sqlite"
    assert fill(path, tiny) == 2
    return TestClient(create_app(path))


def embedded(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="town-data">(.*?)</script>', html, re.S)
    assert found
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_the_page_lists_the_agents_and_embeds_map_and_steps(client: TestClient) -> None:
    page = client.get("/towns/2")
    assert page.status_code == 200
    assert 'data-agent="Ana Lima"' in page.text and 'data-agent="Bo Park"' in page.text
    assert '<canvas id="map"' in page.text and "/static/town.js" in page.text
    data = embedded(page.text)
    assert data["agents"] == ["Ana Lima", "Bo Park"]
    town_map = data["map"]
    assert isinstance(town_map, dict)
    assert (town_map["width"], town_map["height"]) == (9, 5)
    assert town_map["tops"] == ["Ana house"]
    assert [a["address"] for a in town_map["areas"]] == ["Ana house", "Ana house:kitchen"]
    assert town_map["tiles"][0] == [-1] * 9
    assert town_map["tiles"][1] == [-1, 1, 1, 1, 1, 1, 1, 2, -1]
    assert town_map["tiles"][3] == [-1, 0, 0, 0, 0, 0, 0, 0, -1]
    assert town_map["objects"] == [{"address": "Ana house:kitchen:stove", "name": "stove", "tiles": [[7, 1]]}]
    steps = data["steps"]
    assert isinstance(steps, list)
    assert [s["step"] for s in steps] == [1, 2, 3]
    assert [s["time"] for s in steps] == ["2025-02-14T07:10:00", "2025-02-14T07:20:00", "2025-02-14T07:30:00"]
    assert steps[1]["agents"]["Ana Lima"] == {
        "tile": [2, 1],
        "action": "lights the stove",
        "where": "Ana house:kitchen",
        "said": [f"Fresh bread soon! {EVIL}"],
    }
    cooking = {"Ana house:kitchen:stove": "cooking"}
    assert [s["objects"] for s in steps] == [{}, cooking, cooking]
    assert client.get("/static/town.js").headers["content-type"].startswith("text/javascript")
    assert 'href="/towns/2"' in client.get("/runs/2").text
    assert "/towns/1" not in client.get("/runs/1").text


def test_the_agent_panel_as_of_a_step(client: TestClient) -> None:
    reply = client.get("/towns/2/agents/Ana Lima", params={"step": 2})
    assert reply.status_code == 200
    body = reply.json()
    assert (body["agent"], body["step"], body["time"]) == ("Ana Lima", 2, "2025-02-14T07:20:00")
    assert body["action"] == "lights the stove"
    assert [c["current"] for c in body["plan"]["chunks"]] == [False, True]
    assert [c["current"] for c in body["plan"]["hours"]] == [False, True]
    assert [a["action"] for a in body["plan"]["actions"]] == ["lights the stove"]
    # made at 07:30, after step 2's time: absent
    assert [m["number"] for m in body["memories"]] == [4, 3, 2, 1]
    assert body["memory_count"] == 4
    assert body["query"] == {"number": 2, "text": "Ana plans to bake bread all morning"}
    assert "plan memory" in body["caption"]
    now = datetime(2025, 2, 14, 7, 20)
    records = [
        MemoryRecord(n, "Ana Lima", k, t, DAY.replace(hour=7, minute=m), DAY.replace(hour=7, minute=m), i, e)
        for n, k, t, m, i, e, _ in MEMORIES[:4]
    ]
    expected = score_all(records, MEMORIES[1][6], [v for *_, v in MEMORIES[:4]], now, Weights())
    by_number = {m["number"]: m["scores"] for m in body["memories"]}
    for s in expected:
        got = by_number[s.memory.id]
        assert got["recency"] == pytest.approx(s.recency)
        assert got["importance"] == pytest.approx(s.importance)
        assert got["relevance"] == pytest.approx(s.relevance, abs=1e-6)
        assert got["score"] == pytest.approx(s.score, abs=1e-6)
    assert by_number[2]["relevance"] == pytest.approx(1.0)
    (reflection,) = body["reflections"]
    assert reflection["number"] == 4 and reflection["text"] == "Ana cares about her bread"
    assert reflection["evidence"] == [
        {"number": 1, "kind": "observation", "text": "Ana bakes bread."},
        {"number": 3, "kind": "observation", "text": f"the stove is hot {EVIL}"},
    ]
    latest = client.get("/towns/2/agents/Ana Lima").json()
    assert latest["step"] == 3 and [m["number"] for m in latest["memories"]][0] == 5
    early = client.get("/towns/2/agents/Ana Lima", params={"step": 1}).json()
    assert [m["number"] for m in early["memories"]] == [3, 2, 1] and early["reflections"] == []


def test_an_agent_without_a_plan_memory_has_equal_relevance(client: TestClient) -> None:
    body = client.get("/towns/2/agents/Bo Park", params={"step": 3}).json()
    assert body["memories"] == [] and body["query"] is None and body["memory_count"] == 0
    assert "no plan memory yet" in body["caption"]


def test_unknown_runs_agents_and_steps(client: TestClient) -> None:
    missing = client.get("/towns/9")
    assert missing.status_code == 404 and "no run 9" in missing.text
    assert client.get("/towns/x").status_code == 404
    not_town = client.get("/towns/1")
    assert not_town.status_code == 400 and "not a town run" in not_town.text
    assert client.get("/towns/1/agents/Ana Lima").status_code == 400
    nobody = client.get("/towns/2/agents/Nobody", params={"step": 1})
    assert nobody.status_code == 404 and "Nobody" in nobody.json()["error"]
    assert client.get("/towns/2/agents/Ana Lima", params={"step": 7}).status_code == 404
    assert client.get("/towns/2/agents/Ana Lima", params={"step": "x"}).status_code == 400


def test_stored_text_is_escaped_in_every_response(client: TestClient) -> None:
    page = client.get("/towns/2").text
    assert EVIL not in page and "\\u003cscript\\u003e" in page
    panel = client.get("/towns/2/agents/Ana Lima", params={"step": 3})
    assert panel.headers["content-type"].startswith("application/json")
    assert EVIL not in panel.text and "<" not in panel.text
    assert f"the stove is hot {EVIL}" in [m["text"] for m in panel.json()["memories"]]
    name = "<img src=x onerror=alert(1)>"
    missing = client.get("/towns/2/agents/" + name, params={"step": 1})
    assert missing.status_code == 404 and "<" not in missing.text and name in missing.json()["error"]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: $PONDER_TOWN_SCREENSHOTS when set, else a temporary folder."""
    folder = Path(os.environ.get("PONDER_TOWN_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
async def test_replay_play_slider_and_an_agent_panel_in_chromium(
    tmp_path: Path, tiny: Path, shots: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    from servers import launch_chromium, served

    path = tmp_path / "ponder.sqlite"
    run_id = fill(path, tiny)
    async with served(create_app(path)) as base:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("dialog", lambda d: errors.append(d.message))
                await page.goto(f"{base}/towns/{run_id}")
                time = page.locator("#time")
                await expect(time).to_have_text("2025-02-14 07:10")
                await page.get_by_role("button", name="play").click()
                await expect(time).to_have_text("2025-02-14 07:20", timeout=5_000)
                await expect(time).to_have_text("2025-02-14 07:30", timeout=5_000)
                await expect(page.locator("#play")).to_have_text("play", timeout=5_000)
                await page.locator("#slider").fill("1")
                await expect(time).to_have_text("2025-02-14 07:20")
                await expect(page.locator("#step-number")).to_have_text("step 2 of 3")
                await page.screenshot(path=shots / "replay.png")
                await page.get_by_role("button", name="Ana Lima").click()
                rows = page.locator("#memories tbody tr")
                await expect(rows).to_have_count(4)
                await expect(page.locator("#memory-3 td.text")).to_have_text(f"the stove is hot {EVIL}")
                await expect(page.locator("#panel li.current").first).to_contain_text("bakes bread")
                await expect(page.locator("#reflections")).to_contain_text("Ana cares about her bread")
                await page.locator("#slider").fill("2")
                await expect(rows).to_have_count(5)
                await page.locator("#panel").scroll_into_view_if_needed()
                await page.screenshot(path=shots / "agent.png")
                assert errors == []
            finally:
                await browser.close()
    for name in ("replay", "agent"):
        assert (shots / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
