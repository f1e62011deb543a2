"""Screenshots of `ponder view`'s pages over a store, for docs/view.md: the runs list, a run's
wrong items, one of them, two runs compared, a beam search's tree, a run in progress, the arenas,
an arena and a model-judged battle, a town run replayed and one of its agents, whichever the store
has. Debian's chromium through Playwright.

    .venv/bin/python scripts/view_screenshots.py STORE OUT_DIR [TOWN_STEP]

TOWN_STEP: the slider position of the town shots (default 9, the tenth step).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

import uvicorn
from playwright.async_api import Page, async_playwright

from ponder.view.app import create_app

PORT = 8791


def pages(store: Path) -> list[tuple[str, str]]:
    """(name, path) of each page worth a screenshot in the store."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    one = lambda sql: db.execute(sql).fetchone()  # noqa: E731
    found = [("runs", "/")]
    wrong = one(
        "SELECT run_id, task_id FROM results WHERE correct = 0 AND answer IS NOT NULL ORDER BY id LIMIT 1"
    )
    if wrong:
        found += [
            ("run", f"/runs/{wrong[0]}?show=wrong"),
            ("sample", f"/runs/{wrong[0]}/samples/{quote(wrong[1])}"),
        ]
    pair = one(
        """SELECT a.id, b.id FROM runs a JOIN runs b ON b.id > a.id
           AND json_extract(b.config, '$.task') = json_extract(a.config, '$.task') AND b.kind = a.kind
           WHERE a.kind = 'eval' ORDER BY a.id LIMIT 1"""
    )
    if pair:
        found.append(("compare", f"/compare?run={pair[0]}&run={pair[1]}"))
    beam = one(
        "SELECT r.run_id, r.task_id FROM results r JOIN runs u ON u.id = r.run_id WHERE u.strategy = 'beam-search' LIMIT 1"
    )
    if beam:
        found.append(("beam", f"/runs/{beam[0]}/samples/{quote(beam[1])}"))
    running = one("SELECT id FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
    if running:
        found.append(("live", f"/runs/{running[0]}"))
    arena = one("SELECT arena FROM battles ORDER BY id LIMIT 1")
    if arena:
        found += [("arenas", "/arenas"), ("arena", f"/arenas/{quote(arena[0], safe='/:')}")]
    judged = one(
        "SELECT id FROM battles WHERE json_extract(data, '$.verdicts') IS NOT NULL ORDER BY id LIMIT 1"
    )
    if judged:
        found.append(("battle", f"/battles/{judged[0]}"))
    town = one("SELECT id FROM runs WHERE kind = 'town' ORDER BY id LIMIT 1")
    if town:
        found += [("town-replay", f"/towns/{town[0]}"), ("town-agent", f"/towns/{town[0]}")]
    db.close()
    return found


async def town_page(page: Page, name: str, step: int) -> None:
    """The replay at slider position `step`; for the agent's shot, the first agent's panel in view."""
    slider = page.locator("#slider")
    await slider.fill(str(min(step, int(await slider.get_attribute("max") or 0))))
    await page.wait_for_timeout(300)
    if name == "town-agent":
        await page.locator("#agents button").first.click()
        await page.locator("#memories tbody tr").first.wait_for()
        await page.evaluate("document.getElementById('panel').scrollIntoView()")
        await page.evaluate("window.scrollBy(0, -120)")


async def shoot(store: Path, out: Path, town_step: int = 9) -> list[Path]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(store), host="127.0.0.1", port=PORT, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    written = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            for name, path in pages(store):
                await page.goto(f"http://127.0.0.1:{PORT}{path}")
                if name.startswith("town"):
                    await town_page(page, name, town_step)
                if name == "beam":
                    await page.locator("#tree").evaluate("e => e.scrollIntoView()")
                    await page.evaluate("window.scrollBy(0, -90)")
                target = out / f"{name}.png"
                await page.screenshot(path=target, full_page=name == "battle")
                written.append(target)
            await browser.close()
    finally:
        server.should_exit = True
        await serving
    return written


def main() -> None:
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and not sys.argv[3].isdigit()):
        sys.exit(__doc__)
    store, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(store, out, int(sys.argv[3]) if len(sys.argv) == 4 else 9)):
        print(path)


if __name__ == "__main__":
    main()
