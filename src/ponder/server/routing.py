"""Which strategy answers a request, on which backend: read from the model field,

    self-consistency[k=8]@local              a strategy with options, on a backend
    chain-of-draft@openai:gpt-4o-mini@URL    on an OpenAI-compatible server
    cot                                      on the default backend
    sc8                                      an alias from the config
    local, openai:MODEL@URL, gpt-4o-mini     no strategy: passed straight through

and from the request's `ponder` extension, whose strategy and options win over the field's.
Bracketed options are the strategy's (as `ponder solve` takes them as flags) plus `kind` (how the
answer is read: number, math, text…) and `reply` (answer or chain).

Backends are the default one and those the config lists: a request cannot point the server at
a URL of its choosing (it would send the server's API key there). A plain model name goes to the
default backend's server under that name when the default is an OpenAI-compatible server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ponder.errors import ConfigError
from ponder.redact import redact_spec
from ponder.server.errors import APIError, bad_request
from ponder.server.schema import PonderOptions
from ponder.strategies.options import parse_strategy_list, split_top_level, text_options
from ponder.strategies.registry import ALLOWED, STRATEGIES, checked_options
from ponder.tasks.answers import KINDS

SERVER_KEYS = ("kind", "reply")
REPLIES = ("answer", "chain")


@dataclass(frozen=True)
class Route:
    """`backend`: the model spec that answers; `strategy`: None to pass the request through;
    `options`: the strategy's options; `kind`, `reply`: how the answer is read and given (None: the server's defaults)."""

    backend: str
    strategy: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    reply: str | None = None

    @property
    def name(self) -> str:
        """The route as a model name (credentials in a URL redacted)."""
        backend = redact_spec(self.backend)
        if self.strategy is None:
            return backend
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.strategy}{f'[{opts}]' if opts else ''}@{backend}"


@dataclass(frozen=True)
class Backends:
    """The backends clients may name: `default` and `allowed` (specs)."""

    default: str
    allowed: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)

    def resolve(self, spec: str) -> str:
        """The backend spec a request names: one served, or a model at a served server's URL."""
        spec = spec.strip()
        served = (self.default, *self.allowed)
        if spec in served:
            return spec
        kind, _, rest = spec.partition(":")
        if kind == "openai" and "@" in rest:
            url = rest.partition("@")[2]
            if any(s.startswith("openai:") and s.partition("@")[2] == url for s in served):
                return spec
        if self.default.startswith("openai:") and ":" not in spec and "@" not in spec and spec:
            return f"openai:{spec}@{self.default.partition('@')[2]}"
        names = ", ".join(redact_spec(s) for s in served)
        raise APIError(
            404,
            f"model {redact_spec(spec)!r} is not served here: the backends are {names}, with an optional "
            "strategy in front (e.g. self-consistency[k=8]@BACKEND); see GET /v1/models",
            param="model",
            code="model_not_found",
        )


def _split(text: str) -> tuple[str, str | None]:
    """`head@rest` at the first '@' outside brackets (rest None when there is none)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "@" and depth == 0:
            return text[:i], text[i + 1 :]
    return text, None


def _strategy_name(head: str) -> str:
    return head.partition("[")[0].strip()


def _server_keys(head: str) -> tuple[str, dict[str, str]]:
    """The strategy text without `kind=`/`reply=` pairs, and those pairs."""
    name, bracket, rest = head.partition("[")
    if not bracket or not rest.endswith("]"):
        return head, {}
    kept, ours = [], {}
    for pair in split_top_level(rest[:-1]):
        key, eq, value = pair.partition("=")
        if eq and key.strip() in SERVER_KEYS:
            ours[key.strip()] = value.strip()
        elif pair.strip():
            kept.append(pair.strip())
    return (f"{name}[{','.join(kept)}]" if kept else name), ours


def parse_model(text: str, backends: Backends) -> Route:
    """The route a model field names (see the module's docstring)."""
    text = backends.aliases.get(text.strip(), text).strip()
    head, rest = _split(text)
    if _strategy_name(head) not in STRATEGIES:
        return Route(backends.resolve(text))
    backend = backends.default if rest is None else backends.resolve(backends.aliases.get(rest, rest))
    head, ours = _server_keys(head)
    try:
        [(_, name, options)] = parse_strategy_list(head)
        checked_options("strategy", name, ALLOWED, options)
    except ConfigError as e:
        raise bad_request(f"model {text!r}: {e}", param="model") from None
    return _with_server_keys(Route(backend, name, options), ours, "model")


def _with_server_keys(route: Route, ours: dict[str, Any], where: str) -> Route:
    kind, reply = ours.get("kind"), ours.get("reply")
    if kind is not None and kind not in KINDS:
        raise bad_request(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}", param=where)
    if reply is not None and reply not in REPLIES:
        raise bad_request(f"{where}: reply must be answer or chain, got {reply!r}", param=where)
    return Route(route.backend, route.strategy, route.options, kind or route.kind, reply or route.reply)


def typed_options(strategy: str, given: dict[str, Any]) -> dict[str, Any]:
    """Options from the `ponder` extension (JSON values), checked as the bracketed ones are."""
    known = text_options()
    out: dict[str, Any] = {}
    for raw_key, value in given.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise bad_request(
                f"ponder.options: unknown option {raw_key!r}; the options are {', '.join(known)}",
                param="ponder.options",
            )
        base = known[key].type
        ok = (
            isinstance(value, bool)
            if base is bool
            else isinstance(value, str)
            if base not in (int, float)
            else isinstance(value, int | float) and not isinstance(value, bool)
        )
        if base is int and isinstance(value, float):
            ok = value.is_integer()
        if not ok:
            raise bad_request(
                f"ponder.options.{raw_key}: expected a {base.__name__}, got {value!r}",
                param=f"ponder.options.{raw_key}",
            )
        value = base(value) if base in (int, float) else value
        bounds = known[key].bounds
        problem = bounds.problem(value) if bounds else None
        if problem:
            raise bad_request(f"ponder.options.{raw_key} {problem}", param=f"ponder.options.{raw_key}")
        out[key] = value
    return out


def route_for(model: str, extension: PonderOptions | None, backends: Backends) -> Route:
    """The route of a request: its model field, then its `ponder` extension on top."""
    route = parse_model(model, backends)
    if extension is None:
        return route
    strategy = extension.strategy or route.strategy
    options = dict(route.options)
    if extension.strategy and extension.strategy != route.strategy:
        options = {}
    if strategy is None:
        if extension.options or extension.kind or extension.reply:
            raise bad_request("ponder: options, kind and reply need a strategy", param="ponder")
        return route
    if strategy not in STRATEGIES:
        raise bad_request(
            f"ponder.strategy: unknown strategy {strategy!r}; the strategies are {', '.join(STRATEGIES)}",
            param="ponder.strategy",
        )
    options.update(typed_options(strategy, extension.options))
    try:
        checked_options("strategy", strategy, ALLOWED, options)
    except ConfigError as e:
        raise bad_request(f"ponder: {e}", param="ponder.options") from None
    ours = {k: v for k, v in (("kind", extension.kind), ("reply", extension.reply)) if v is not None}
    return _with_server_keys(Route(route.backend, strategy, options, route.kind, route.reply), ours, "ponder")
