"""schemathesis over `ponder serve`'s OpenAPI schema: every operation fuzzed from its schema, on
the stub backend; no reply is a server error or out of its schema."""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from ponder.eval.session import Session
from ponder.server.app import create_app
from ponder.server.config import ServeConfig
from ponder.store import Store

_folder = tempfile.TemporaryDirectory(prefix="ponder-serve-schema-")
_session = Session(None, Store(Path(_folder.name) / "store.db"), model_spec="stub")
app = create_app(_session, ServeConfig(model="stub", aliases={"sc": "self-consistency[k=2]"}))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# Most generated model names are unknown (404); half the bodies with a valid model name name a
# served route instead, so the strategies and the pass-through are fuzzed too.
ROUTES = ("stub", "sc", "cot", "self-consistency[k=2]", "direct@stub")


# A schema-valid request may still ask for what its route cannot honour (temperature for a greedy
# strategy, stop for self-consistency): that is a 400 by design, so "schema-valid request
# accepted" is the one check left out.
@schema.parametrize()
@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema(case):
    model = case.body.get("model") if isinstance(case.body, dict) else None
    if isinstance(model, str) and 1 <= len(model) <= 2048:  # still valid: negative cases stay negative
        pick = zlib.crc32(repr(sorted(case.body)).encode()) % (2 * len(ROUTES))
        if pick < len(ROUTES):
            case.body["model"] = ROUTES[pick]
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
