"""A Session holds the models, the judge, the store and the cache setting, and closes them once."""

import pytest

from ponder.errors import ConfigError, StoreError
from ponder.eval.session import Session
from ponder.models.cached import CachedModel
from ponder.models.scripted import ScriptedModel
from ponder.store import Store


class Closing(ScriptedModel):
    def __init__(self, name: str) -> None:
        super().__init__([])
        self.model_id = name
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


class Opener:
    def __init__(self) -> None:
        self.opened: list[tuple[str, dict]] = []
        self.models: dict[str, Closing] = {}

    def __call__(self, spec: str, **options: object) -> Closing:
        self.opened.append((spec, options))
        self.models[spec] = Closing(spec)
        return self.models[spec]


async def test_open_makes_the_model_judge_and_store(tmp_path):
    opener = Opener()
    session = Session.open("local", tmp_path / "s.sqlite", judge="other", cache=False, opener=opener)
    assert session.model is opener.models["local"] and session.judge is opener.models["other"]
    assert isinstance(session.store, Store) and session.cache is False
    cached = session.cached()
    assert isinstance(cached, CachedModel) and cached.inner is session.model and cached.read is False
    judge = session.cached_judge()
    assert judge is not None and judge.inner is session.judge
    await session.aclose()
    assert opener.models["local"].closed == 1 and opener.models["other"].closed == 1
    with pytest.raises(StoreError, match="closed database"):  # the store it opened is closed
        session.store.results_summary(1)


async def test_http_options_go_to_http_models_only(tmp_path):
    opener = Opener()
    url = "openai:m@http://127.0.0.1:9/v1"
    session = Session.open(
        "local",
        tmp_path / "s.sqlite",
        judge=url,
        model_options={"timeout": 5.0, "connect_timeout": None},
        opener=opener,
    )
    assert opener.opened == []  # nothing is opened before it is used
    assert session.judge is opener.models[url] and session.model is opener.models["local"]
    assert opener.opened == [(url, {"timeout": 5.0}), ("local", {})]
    session.model_for("openai:n@http://127.0.0.1:9/v1")
    assert opener.opened[-1] == ("openai:n@http://127.0.0.1:9/v1", {"timeout": 5.0})
    await session.aclose()


def test_http_options_without_an_http_model_are_refused(tmp_path):
    opener = Opener()
    with pytest.raises(ConfigError, match=r"--connect-timeout, --timeout apply to openai:MODEL@URL models"):
        Session.open(
            "local", tmp_path / "s.sqlite", model_options={"timeout": 1, "connect_timeout": 2}, opener=opener
        )
    assert opener.opened == []


def test_no_model_spec_means_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PONDER_MODEL", "scripted-default")
    opener = Opener()
    session = Session.open(None, tmp_path / "s.sqlite", opener=opener)
    assert session.model.model_id == "scripted-default"
    assert opener.opened == [("scripted-default", {})]


async def test_model_for_opens_each_spec_once_and_aclose_closes_each_once(tmp_path):
    opener = Opener()
    async with Session.open("a", tmp_path / "s.sqlite", opener=opener) as session:
        assert session.model_for(None) is session.model
        assert session.model_for("a") is session.model  # the session's own model is not reopened
        b = session.model_for("b")
        assert session.model_for("b") is b
    assert [spec for spec, _ in opener.opened] == ["a", "b"]
    assert opener.models["a"].closed == 1 and opener.models["b"].closed == 1
    await session.aclose()  # a second close does nothing
    assert opener.models["a"].closed == 1


async def test_a_given_store_stays_open_and_given_models_are_closed(tmp_path):
    model, judge = Closing("m"), Closing("j")
    with Store(tmp_path / "s.sqlite") as store:
        async with Session(model, store, judge) as session:
            run = session.store.start_run("eval", "m", "cot", {})
        assert store.results_summary(run) == []  # still open
    assert model.closed == 1 and judge.closed == 1


def test_a_store_that_cannot_open_is_an_error_naming_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=str(blocker)):
        Session.open("local", blocker / "s.sqlite", opener=Opener())


async def test_a_view_with_another_model_shares_the_store_and_closes_nothing(tmp_path):
    opener = Opener()
    async with Session.open("a", tmp_path / "s.sqlite", judge="j", cache=False, opener=opener) as session:
        b = session.model_for("b")
        view = session.using(b)
        assert view.model is b and view.judge is None and view.store is session.store
        assert session.using(b, session.judge).judge is opener.models["j"]
        assert view.cache is False and view.cached().inner is b
        await view.aclose()
        assert b.closed == 0 and opener.models["j"].closed == 0
        assert session.store.results_summary(1) == []  # the store is still open
    assert [spec for spec, _ in opener.opened] == ["b", "j"]  # "a" was never needed
    assert b.closed == 1 and opener.models["j"].closed == 1


async def test_a_closed_session_opens_no_more_models(tmp_path):
    opener = Opener()
    session = Session.open("a", tmp_path / "s.sqlite", opener=opener)
    await session.aclose()
    with pytest.raises(ConfigError, match="closed"):
        session.model_for("b")
    assert opener.opened == []
