"""`ponder view`: serve the read-only browser view of a store on loopback."""

from __future__ import annotations

from typing import Annotated

from ponder.cli.common import guard, out
from ponder.cli.options import HostOpt, Opt, PortOpt, StoreOpt

VIEW_PORT = 8766


def view(
    store: StoreOpt = None,
    port: PortOpt = VIEW_PORT,
    host: HostOpt = "127.0.0.1",
    open_page: Annotated[bool, Opt("--open/--no-open", help="Open the page in a browser.")] = False,
) -> None:
    """Browse the store's runs, their samples and every model call in a web page; reads the store
    only, never calls a model."""
    import uvicorn

    from ponder.store import default_store_path
    from ponder.view.app import create_app

    path = store if store is not None else default_store_path()
    web = guard(lambda: create_app(path))
    url = f"http://{host}:{port}/"
    out.print(f"viewing {path}: {url}  (Ctrl-C to stop)", markup=False, highlight=False)
    if open_page:
        open_when_served(url)
    uvicorn.run(web, host=host, port=port, log_level="warning")


def open_when_served(url: str, delay_s: float = 1.0) -> None:
    """Open `url` in a browser after `delay_s`, once the server has had time to start."""
    import threading
    import webbrowser

    timer = threading.Timer(delay_s, webbrowser.open, args=(url,))
    timer.daemon = True
    timer.start()
