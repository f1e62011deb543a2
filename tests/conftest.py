"""Unit tests never reach a real model: the llama.cpp engine and real HTTP transports refuse
to run unless the test is marked `live` (mock transports are unaffected)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import settings

# Shared machines are noisy: judge property tests by their examples, not by how fast each one ran.
settings.register_profile("ponder", deadline=None)
settings.load_profile("ponder")


def _refuse(*args, **kwargs):
    raise RuntimeError("a unit test tried to reach a real model: mark it @pytest.mark.live")


@pytest.fixture(autouse=True)
def _block_real_models(request, monkeypatch):
    if request.node.get_closest_marker("live"):
        return
    if request.node.get_closest_marker("loopback"):
        _block_engine(monkeypatch)
        return
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", _refuse)
    _block_engine(monkeypatch)


def _block_engine(monkeypatch):
    try:
        from ponder.models import batch_engine
    except ImportError:
        return
    monkeypatch.setattr(batch_engine.BatchEngine, "__init__", _refuse)


@pytest.fixture(autouse=True)
def _isolated_paths(tmp_path, monkeypatch, request):
    """Each test gets its own store; unit tests also get an empty models folder (not those that
    train, which read the default model's tokenizer and weights)."""
    monkeypatch.setenv("PONDER_STORE", str(tmp_path / "store.sqlite"))
    if not request.node.get_closest_marker("live") and not request.node.get_closest_marker("train"):
        monkeypatch.setenv("PONDER_MODELS_DIR", str(tmp_path / "models"))


@pytest.fixture
def data_dir():
    """The benchmark files that ship inside ponder, as a data folder: no outside folder needed."""
    from ponder.tasks.data import shipped_dir

    return shipped_dir()


@pytest.fixture
def symbolic_data_dir():
    """A data folder holding GSM-Symbolic, which does not ship: $PONDER_DATA_DIR, else ../shared/data
    beside the checkout. Without one the test is skipped on a user's machine and fails where
    PONDER_REQUIRE_DATA is set (CI sets it)."""
    import os
    from pathlib import Path

    path = Path(os.environ.get("PONDER_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
    if not (path / "gsm_symbolic" / "templates").is_dir():
        message = (
            f"GSM-Symbolic templates are missing from {path}: set PONDER_DATA_DIR to a folder holding "
            "gsm_symbolic/templates/"
        )
        if os.environ.get("PONDER_REQUIRE_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def without_shipped_data(monkeypatch):
    """Loaders see no shipped copy, as with an install that lacks ponder.data (folder, then hub)."""
    monkeypatch.setattr("ponder.tasks.data.shipped", lambda relative: None)


@pytest.fixture
def session_of(tmp_path):
    """`session_of(model, judge=None, store=None, cache=True, models=None)`: a Session over the
    given model objects and the store at `store` (default: s.sqlite in the test's folder), which it
    closes; `models` maps the specs the work names (an arena's players) to model objects."""
    from ponder.eval.session import Session
    from ponder.store import Store

    def make(model, judge=None, store=None, cache=True, models=None):
        table = dict(models or {})
        return Session(
            model,
            Store(store or tmp_path / "s.sqlite"),
            judge,
            cache,
            opener=lambda spec, **options: table[spec],
            owns_store=True,
        )

    return make


@pytest.fixture
def cli_models(monkeypatch):
    """For tests of commands, which name models by spec: `cli_models(model)` makes every spec a
    command opens resolve to `model`; `cli_models({spec: model})` maps specs one by one."""

    def use(models):
        def opener(spec, **options):
            return models[spec] if isinstance(models, dict) else models

        monkeypatch.setattr("ponder.models.get_model", opener)

    return use
