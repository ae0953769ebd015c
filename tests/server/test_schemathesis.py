"""Schemathesis against ``/openapi.json``: every endpoint, valid keys, no server errors, responses as documented."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from cxlab.assist.service import build_index
from cxlab.server.app import create_app
from cxlab.store import Store
from tests.server.conftest import add_keys, copy_store
from tests.server.test_assist_api import ENTRIES

EXAMPLES = 8
"""Generated cases per operation: enough to hit bad types, bounds and empty values, bounded in time."""


STORE = Path(tempfile.mkdtemp(prefix="cxlab-schemathesis-")) / "store"
APP = create_app(STORE / "cxlab.duckdb")
"""The app is made at import (schemathesis needs its OpenAPI document to make the tests); its store is opened
on the first request, after :func:`keys` has put a copy of the demo shop there. ``from_asgi`` would start the
app (and open the store) just to read ``/openapi.json``, so the document is taken from FastAPI directly."""
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP  # calls go to the app in-process, as with ``from_asgi``
schema.location = "/openapi.json"


@pytest.fixture(scope="module")
def keys(demo_db: Path) -> Iterator[dict[str, str]]:
    """Keys on the app's own copy of the demo store (fuzzed writes never reach the shared one)."""
    keys = add_keys(copy_store(demo_db, STORE))
    with Store(STORE / "cxlab.duckdb") as store:  # POST /v1/assist answers from an index (503 without one)
        build_index(store.con, store.config, ENTRIES)
    yield keys
    shutdown_lifespans()  # schemathesis starts the app's lifespan once and keeps it: stop it (store closed)
    shutil.rmtree(STORE.parent, ignore_errors=True)


@pytest.mark.slow  # every operation of the API, including the first voice analysis of the store (about 30 s)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms(case: schemathesis.Case, keys: dict[str, str]) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {keys['admin']}"},
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
