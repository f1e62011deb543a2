"""`ponder serve`: an OpenAI-compatible endpoint on loopback that answers with ponder's strategies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from ponder.cli.common import guard, in_session, out
from ponder.cli.options import COUNT, POSITIVE, ModelOpt, Opt, StoreOpt, VerifierModelOpt, checked
from ponder.errors import ConfigError

SERVE_PORT = 8000  # ServeConfig's default port


def serve(
    model: ModelOpt = None,
    config: Annotated[
        Path | None, Opt("--config", help="YAML file: backends, aliases, reply, limits (flags win).")
    ] = None,
    host: Annotated[str | None, Opt("--host", help="Address to serve on (default loopback).")] = None,
    port: Annotated[int | None, Opt("--port", help=f"Port to serve on (default {SERVE_PORT}).")] = None,
    backend: Annotated[
        list[str] | None, Opt("--backend", help="Another model spec clients may name (repeatable).")
    ] = None,
    alias: Annotated[
        list[str] | None,
        Opt("--alias", help="NAME=ROUTE, e.g. sc8=self-consistency\\[k=8]@local (repeatable)."),
    ] = None,
    reply: Annotated[
        str | None, Opt("--reply", help="A strategy's reply content: answer (default) or chain.")
    ] = None,
    api_key: Annotated[
        list[str] | None, Opt("--api-key", help="A key clients must send as a Bearer token (repeatable).")
    ] = None,
    api_keys_file: Annotated[Path | None, Opt("--api-keys-file", help="File of keys, one per line.")] = None,
    concurrency: Annotated[
        int | None,
        Opt("--concurrency", help="Requests in flight at once; more get 429.", callback=checked(COUNT)),
    ] = None,
    max_tokens: Annotated[
        int | None, Opt("--max-tokens", help="Most tokens one call may generate.", callback=checked(COUNT))
    ] = None,
    max_samples: Annotated[
        int | None, Opt("--max-samples", help="Most samples one request may draw.", callback=checked(COUNT))
    ] = None,
    timeout: Annotated[
        float | None,
        Opt("--timeout", metavar="SECONDS", help="Wall time of one request.", callback=checked(POSITIVE)),
    ] = None,
    store: StoreOpt = None,
    verifier_model: VerifierModelOpt = None,
    cache: Annotated[
        bool,
        Opt(
            "--cache/--no-cache",
            help="Reuse stored completions of identical requests (off: sampling stays fresh).",
        ),
    ] = False,
) -> None:
    """Serve the OpenAI API (chat completions, completions, models) on loopback, each request
    answered by the strategy its model field names (`self-consistency\\[k=8]@local`) or passed
    straight through, and stored with its every call."""
    import uvicorn

    from ponder.server.app import create_app
    from ponder.server.config import check_exposure, load_config, read_keys

    def settings() -> Any:
        cfg = load_config(config)
        updates: dict[str, Any] = {"cache": cache}
        for name, value in (("model", model), ("host", host), ("port", port), ("reply", reply)):
            if value is not None:
                updates[name] = value
        if reply is not None and reply not in ("answer", "chain"):
            raise ConfigError(f"--reply must be answer or chain, got {reply!r}")
        if backend:
            updates["backends"] = [*cfg.backends, *backend]
        if alias:
            aliases = dict(cfg.aliases)
            for pair in alias:
                name, eq, route = pair.partition("=")
                if not eq or not name.strip() or not route.strip():
                    raise ConfigError(f"--alias {pair!r}: expected NAME=ROUTE")
                aliases[name.strip()] = route.strip()
            updates["aliases"] = aliases
        keys = [*cfg.api_keys, *(api_key or []), *(read_keys(api_keys_file) if api_keys_file else [])]
        updates["api_keys"] = keys
        limits = {
            k: v
            for k, v in (
                ("concurrency", concurrency),
                ("max_tokens", max_tokens),
                ("max_samples", max_samples),
                ("timeout_s", timeout),
            )
            if v is not None
        }
        updates["limits"] = cfg.limits.model_copy(update=limits)
        chosen = cfg.model_copy(update=updates)
        check_exposure(chosen)
        return chosen

    chosen = guard(settings)
    bind_port = chosen.port

    async def run(session: Any) -> None:
        app = create_app(session, chosen)
        engine = app.state.engine
        opened = engine.model(engine.backends.default)
        url = f"http://{chosen.host}:{bind_port}/v1"
        out.print(
            f"serving {opened.model_id} at {url}  (store {session.store.path}; Ctrl-C to stop)",
            markup=False,
            highlight=False,
        )
        server = uvicorn.Server(uvicorn.Config(app, host=chosen.host, port=bind_port, log_level="warning"))
        await server.serve()

    guard(lambda: in_session(run, chosen.model, store, verifier_model, cache))
