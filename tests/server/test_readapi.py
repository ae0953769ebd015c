"""The read API: ``GET /v1/<group>/<command>`` returns what ``cxlab <group> <command> --json`` prints."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest
import typer
from fastapi.testclient import TestClient
from typer.core import TyperGroup

from cxlab.cli import app as cli_app
from cxlab.server import readapi
from cxlab.server.app import create_app
from cxlab.server.state import ServerState
from cxlab.store.filters import Filters
from tests.server.conftest import Served, add_keys, copy_store
from tests.server.live import CXLAB

EXPERIMENT = "shipping_email_festive"
FUNNEL = "/v1/journey/funnel?steps=page_view,add_to_cart,purchase&window=7d"
CASES = [
    FUNNEL,
    "/v1/journey/funnel?steps=page_view,checkout,purchase&window=3d&exclude=refund&exclude=email_click&by=channel",
    "/v1/journey/map",
    "/v1/channels/performance?freq=week",
    "/v1/channels/attribution?model=markov",
    "/v1/voice/nps?by=touchpoint",
    "/v1/customers/rfm",
    "/v1/experiment/list",
    f"/v1/experiment/analyze?experiment_id={EXPERIMENT}",
    "/v1/changes/list",
]


def cli_args(url: str) -> list[str]:
    """The CLI command line that ``url`` stands for, spelled the way a person would type it."""
    parts = urlsplit(url)
    group, command = parts.path.removeprefix("/v1/").split("/")
    args = [group, command]
    for name, value in parse_qsl(parts.query):
        if name == "experiment_id":
            args.append(value)
        elif value == "true":
            args.append(f"--{name.replace('_', '-')}")
        elif value == "false":
            args.append(f"--no-{name.replace('_', '-')}")
        else:
            args += [f"--{name.replace('_', '-')}", value]
    return args


@pytest.fixture(scope="module")
def api(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo shop served in-process, shared by this module's read-only tests."""
    db = copy_store(demo_db, tmp_path_factory.mktemp("readapi") / "store")
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        yield Served(db, client, keys)


@pytest.fixture(scope="module")
def cli_docs(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each case's ``--json`` output from the real CLI (concurrent processes, read-only) on a store copy."""
    db = copy_store(demo_db, tmp_path_factory.mktemp("readapi-cli") / "store")

    def run(url: str) -> Any:
        done = subprocess.run(
            [*CXLAB, *cli_args(url), "--db", str(db), "--json"], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{url}: {done.stderr}"
        return json.loads(done.stdout)

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


def same(a: Any, b: Any, where: str = "") -> None:
    """``a == b``, but floats only to 1e-9 relative: DuckDB's parallel sums add in no fixed order."""
    if isinstance(a, float) and isinstance(b, float | int):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow  # ten CLI processes (about 30 s on 2 cores)
@pytest.mark.parametrize("url", CASES)
def test_api_returns_what_the_cli_prints(api: Served, cli_docs: dict[str, Any], url: str) -> None:
    got = api.client.get(url, headers=api.auth("read"))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    same(got.json(), cli_docs[url], url)


def test_contract_funnel_shape(api: Served) -> None:
    doc = api.client.get(FUNNEL, headers=api.auth("read")).json()
    assert [s["step"] for s in doc["steps"]] == ["page_view", "add_to_cart", "purchase"]
    assert doc["window_seconds"] == 7 * 24 * 3600
    assert doc["unit"] == "people"
    counts = [s["units"] for s in doc["steps"]]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1] > 0


def test_keys_and_roles(api: Served) -> None:
    c = api.client
    assert c.get(FUNNEL).status_code == 401
    assert c.get(FUNNEL, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get(FUNNEL, headers=api.auth("write")).status_code == 403
    assert c.get(FUNNEL, headers=api.auth("admin")).status_code == 200


def _cli_commands() -> dict[tuple[str, ...], Any]:
    def walk(group: TyperGroup, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        for name, cmd in group.commands.items():
            yield (*path, name), cmd
            if isinstance(cmd, TyperGroup):
                yield from walk(cmd, (*path, name))

    root = typer.main.get_command(cli_app)
    assert isinstance(root, TyperGroup)
    return dict(walk(root, ()))


def test_only_reads_are_served_and_no_route_takes_a_path(api: Served) -> None:
    doc = api.client.get("/openapi.json").json()
    read_routes = {
        p: ops["get"]
        for p, ops in doc["paths"].items()
        if "get" in ops and ops["get"]["operationId"].startswith("read_")
    }
    cli = _cli_commands()
    path_options = {
        o.lstrip("-").replace("-", "_")
        for cmd in cli.values()
        for p in cmd.params
        if readapi._names_file(p)
        for o in [*p.opts, p.name]
    }
    assert {"db", "figure", "out", "paths", "stats", "file", "summary", "transactions"} <= path_options
    served = {tuple(p.removeprefix("/v1/").split("/")) for p in read_routes if p.count("/") >= 3}
    served &= set(cli)
    for path in readapi.COMMANDS:
        assert f"/v1/{'/'.join(path)}" in read_routes
    assert served == set(readapi.COMMANDS)
    for writes in [("voice", "analyze"), ("changes", "add"), ("privacy", "erase"), ("customers", "clv", "fit"),
                   ("channels", "journeys"), ("voice", "tone"), ("keys", "create"), ("import", "shopify")]:  # fmt: skip
        assert writes in cli and writes not in served
    assert {
        ("journey", "funnel"),
        ("customers", "clv"),
        ("experiment", "analyze"),
        ("voice", "themes"),
    } <= served
    for path, op in read_routes.items():
        names = {p["name"] for p in op.get("parameters", [])}
        assert not names & path_options, path
        assert {"from", "to", "channel", "country"} <= names
        assert {"200", "401", "403", "422"} <= set(op["responses"])
    funnel = {p["name"]: p for p in read_routes["/v1/journey/funnel"]["parameters"]}
    assert funnel["steps"]["required"] is True
    assert funnel["exclude"]["schema"]["anyOf"][0]["type"] == "array"
    depth = {p["name"]: p for p in read_routes["/v1/journey/paths"]["parameters"]}["depth"]
    assert depth["schema"]["anyOf"][0]["minimum"] == 2


def test_date_filter_matches_a_direct_count(api: Served, demo_db: Path) -> None:
    url = "/v1/experiment/list?from=2024-07-01&to=2024-12-31"
    doc = api.client.get(url, headers=api.auth("read")).json()
    everything = api.client.get("/v1/experiment/list", headers=api.auth("read")).json()
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        want = dict(
            con.execute(
                "SELECT variant, count(*) FROM exposures WHERE experiment_id = ? AND ts >= DATE '2024-07-01' "
                "AND ts < DATE '2025-01-01' GROUP BY variant",
                [EXPERIMENT],
            ).fetchall()
        )
    finally:
        con.close()
    got = {r["variant"]: r["units"] for r in doc["experiments"] if r["experiment_id"] == EXPERIMENT}
    assert got == want and all(n > 0 for n in got.values())
    total = {r["variant"]: r["units"] for r in everything["experiments"] if r["experiment_id"] == EXPERIMENT}
    assert all(got[v] < total[v] for v in got)
    assert all(r["first_exposure"] >= "2024-07-01" for r in doc["experiments"])


def test_channel_filter_matches_a_direct_count(api: Served, demo_db: Path) -> None:
    doc = api.client.get("/v1/channels/performance?channel=email", headers=api.auth("read")).json()
    assert [r["channel"] for r in doc["rows"]] == ["email"]
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        ((orders, buyers),) = con.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM orders WHERE channel = 'email'"
        ).fetchall()
        ((all_orders,),) = con.execute("SELECT count(*) FROM orders").fetchall()
    finally:
        con.close()
    assert (doc["rows"][0]["orders"], doc["rows"][0]["buyers"]) == (orders, buyers)
    assert 0 < orders < all_orders
    everything = api.client.get("/v1/channels/performance", headers=api.auth("read")).json()
    assert len(everything["rows"]) > 1


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("/v1/journey/funnel?steps=page_view,purchase&window=soon", "duration"),
        ("/v1/journey/funnel?steps=page_view,no_such_event", "no_such_event"),
        ("/v1/journey/funnel?window=7d", "steps"),
        ("/v1/journey/paths?depth=1", "depth"),
        ("/v1/journey/map?from=yesterday", "from"),
        ("/v1/journey/map?from=2025-02-01&to=2025-01-01", "after"),
        ("/v1/channels/attribution?model=astrology", "astrology"),
        ("/v1/experiment/analyze?experiment_id=nope", "nope"),
        ("/v1/experiment/analyze", "EXPERIMENT_ID"),
        ("/v1/channels/performance?start=soon", "start"),
        ("/v1/customers/personas?k=1", "k"),
        ("/v1/experiment/power?baseline=0.1&mde=0.1&kind=median", "median"),
        # bounded so a request can't run for hours, and numbers too large to compute with are bad input
        ("/v1/channels/attribution?bootstrap=1000000000000", "bootstrap"),
        ("/v1/channels/attribution?model=markov&max_steps=100000000000", "max-steps"),
        ("/v1/journey/paths?depth=100000", "depth"),
        ("/v1/customers/churn?months=1000000000", "months"),
        ("/v1/customers/churn?lookback=2.3e47", "out of range"),
        ("/v1/changes/list?window=1000000000000", "out of range"),
        ("/v1/journey/map?channel=nowhere", ""),
    ],
)
def test_bad_params_are_422_with_one_line(api: Served, url: str, needle: str) -> None:
    got = api.client.get(url, headers=api.auth("read"))
    assert got.status_code == 422, got.text
    detail = got.json()["detail"]
    text = detail if isinstance(detail, str) else json.dumps(detail)
    assert needle in text
    if isinstance(detail, str):
        assert "\n" not in detail and "Traceback" not in detail


def test_argument_values_are_never_options(api: Served) -> None:
    """A value that looks like an option (``--db=…``) stays a value: the server opens no file a caller names."""
    got = api.client.get("/v1/experiment/analyze?experiment_id=--stats=/etc/passwd", headers=api.auth("read"))
    assert got.status_code == 422 and "passwd" in got.json()["detail"]
    got = api.client.get("/v1/journey/funnel?steps=--db=/tmp/x.duckdb", headers=api.auth("read"))
    assert got.status_code == 422 and "x.duckdb" in got.json()["detail"]
    assert not Path("/tmp/x.duckdb").exists()


def test_run_command_is_cached_per_store_version(api: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    state: ServerState = api.client.app.state.cx  # type: ignore[attr-defined]
    runs: list[list[str]] = []
    execute = readapi._execute

    def counted(*args: Any) -> str:
        runs.append(args[2])
        return execute(*args)

    monkeypatch.setattr(readapi, "_execute", counted)
    params = {"steps": "page_view,purchase", "window": "7d", "exclude": []}
    doc = readapi.run_command(state, "journey", "funnel", params, Filters())
    again = readapi.run_command(state, "journey", "funnel", {"steps": "page_view,purchase"}, None)
    assert doc == again and len(runs) == 1 and runs[0] == ["--steps=page_view,purchase"]
    via_http = api.client.get("/v1/journey/funnel?steps=page_view,purchase", headers=api.auth("read")).json()
    assert via_http == doc and len(runs) == 1
    state.bump()  # new data: the cached result is stale
    assert readapi.run_command(state, "journey", "funnel", params) == doc and len(runs) == 2
    with pytest.raises(readapi.CommandError) as bad:
        readapi.run_command(state, "journey", "funnel", {"stepz": "x"})
    assert bad.value.status == 422 and "stepz" in bad.value.message
    with pytest.raises(readapi.CommandError) as missing:
        readapi.run_command(state, "journey", "nosuch", {})
    assert missing.value.status == 404


def test_concurrent_commands_keep_their_own_output(api: Served) -> None:
    """The JSON sink is per thread: concurrent requests never get each other's document."""
    state: ServerState = api.client.app.state.cx  # type: ignore[attr-defined]
    urls = ["/v1/journey/map", "/v1/changes/list", "/v1/customers/rfm", "/v1/experiment/list"]
    alone = {u: api.client.get(u, headers=api.auth("read")).json() for u in urls}
    barrier = threading.Barrier(len(urls))

    def run(i: int) -> Any:
        group, command = urls[i].removeprefix("/v1/").split("/")
        barrier.wait()
        return readapi._execute(state, readapi.COMMANDS[(group, command)], [], Filters(country="DE"))

    with ThreadPoolExecutor(len(urls)) as pool:
        texts = list(pool.map(run, range(len(urls))))
    for url, text in zip(urls, texts, strict=True):
        doc = json.loads(text)
        assert doc.keys() == alone[url].keys()


def test_flags_repeats_and_arguments_become_command_line_tokens(api: Served) -> None:
    perf = readapi.COMMANDS[("channels", "performance")]
    assert perf.args({"trend": False, "freq": "week", "by": "channel"}) == ["--freq=week", "--no-trend"]
    assert perf.args({"trend": True}) == []
    paths = readapi.COMMANDS[("journey", "paths")]
    assert paths.args({"keep_loops": True, "depth": 4, "top": 5}) == ["--keep-loops", "--top=5"]
    funnel = readapi.COMMANDS[("journey", "funnel")]
    assert funnel.args({"steps": "a,b", "exclude": ["x", "y"]}) == [
        "--steps=a,b",
        "--exclude=x",
        "--exclude=y",
    ]
    analyze = readapi.COMMANDS[("experiment", "analyze")]
    assert analyze.args({"experiment_id": EXPERIMENT, "metric": ["aov"]}) == [
        "--metric=aov",
        "--",
        EXPERIMENT,
    ]
    read = api.auth("read")
    with_trend = api.client.get("/v1/channels/performance", headers=read).json()
    without = api.client.get("/v1/channels/performance?trend=false", headers=read).json()
    assert "trend" in with_trend and "trend" not in without
    loops = api.client.get("/v1/journey/paths?keep_loops=true&depth=3", headers=read).json()
    collapsed = api.client.get("/v1/journey/paths?depth=3", headers=read).json()
    assert loops != collapsed
