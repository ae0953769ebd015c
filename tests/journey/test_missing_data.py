"""Journey analyses on stores that lack something: a clear MissingData naming it, or a result from what is
there; a funnel step that matches nothing is a typo (exit 2, closest names); money read from orders in one
currency, with the conversion notes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cxlab.config import Config
from cxlab.errors import MissingData
from cxlab.journey import funnel, journey_map, paths, retention, stage_funnel, swot
from cxlab.journey.cli import app
from cxlab.store import Store

ROWS = [
    ("p1", 0, "page_view", "site"),
    ("p1", 1, "add_to_cart", "cart"),
    ("p1", 2, "purchase", "checkout"),
    ("p2", 0, "page_view", "site"),
]


def orders_only(tmp_path: Path) -> Store:
    s = Store(tmp_path / "cxlab.duckdb")
    s.ingest(
        "orders",
        pa.table(
            {
                "order_id": ["o1", "o2", "o3"],
                "customer_id": ["c1", "c1", "c2"],
                "ts": ["2024-01-05", "2024-02-07", "2024-01-20"],
                "revenue": [10.0, 20.0, 30.0],
                "currency": ["EUR", "EUR", "EUR"],
            }
        ),
    )
    return s


def test_events_only_store_retention_names_the_missing_orders(make_store: Callable[[Any], Store]) -> None:
    s = make_store(ROWS)
    with pytest.raises(MissingData, match="Cohort retention needs orders with customer_id"):
        retention(s.ibis(), s.config)
    db = str(s.path)
    s.close()
    r = CliRunner().invoke(app, ["retention", "--db", db])
    assert r.exit_code == 2 and "needs orders" in r.output and "merge" not in r.output


def test_orders_only_store_event_analyses_name_the_missing_events(tmp_path: Path) -> None:
    with orders_only(tmp_path) as s:
        con, cfg = s.ibis(), s.config
        for run in (
            lambda: journey_map(con, cfg),
            lambda: stage_funnel(con, cfg),
            lambda: swot(con, cfg),
            lambda: paths(con, cfg, start="cart"),
            lambda: funnel(con, cfg, ["page_view", "purchase"]),
        ):
            with pytest.raises(MissingData, match="needs events: none stored"):
                run()
        assert retention(con, cfg).customers == 2  # what orders allow still runs
    r = CliRunner().invoke(app, ["swot", "--db", str(tmp_path / "cxlab.duckdb")])
    assert r.exit_code == 2 and "needs events" in r.output


def test_one_stage_journeys_have_no_flows_and_still_draw(make_store: Callable[[Any], Store]) -> None:
    s = make_store([("p1", 0, "page_view", "site"), ("p2", 1, "page_view", "site")])
    m = journey_map(s.ibis(), s.config)
    assert m.flows.empty and m.people == 2
    fig = m.flow_figure()  # was numpy's "ufunc 'add' did not contain a loop"
    assert all(v != v for row in fig.data[0].z for v in row)  # every cell empty (NaN): nobody moved


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "page_view,add_to_crt,purchase",
            "no stored event is called 'add_to_crt'; did you mean add_to_cart?",
        ),
        (
            "touchpoint:site,touchpoint:chekout",
            "no stored touchpoint is called 'chekout'; did you mean checkout?",
        ),
        ("page_view,zzzz", "no stored event is called 'zzzz'; stored: add_to_cart, page_view, purchase"),
    ],
)
def test_funnel_step_matching_nothing_is_an_error_with_closest_names(
    make_store: Callable[[Any], Store], steps: str, expected: str
) -> None:
    s = make_store(ROWS)
    with pytest.raises(ValueError, match="funnel step"):
        funnel(s.ibis(), s.config, steps.split(","))
    db = str(s.path)
    s.close()
    r = CliRunner().invoke(app, ["funnel", "--steps", steps, "--db", db])
    assert r.exit_code == 2
    assert expected in " ".join(r.output.split())


def test_swot_money_reads_orders_in_one_currency(tmp_path: Path) -> None:
    """Orders in EUR and GBP: GBP converted with [shop.rates], the note in the summary and the JSON."""
    n = 60
    people = [f"c{i}" for i in range(n)]
    events = pa.table(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ts": ["2024-03-01"] * n,
            "customer_id": people,
            "event": ["purchase"] * n,
            "channel": ["email" if i % 2 else "organic_search" for i in range(n)],
            "touchpoint": ["checkout"] * n,
            "revenue": [999.0] * n,  # events' revenue has no currency: the orders' is used
        }
    )
    orders = pa.table(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": people,
            "ts": ["2024-03-01"] * n,
            "revenue": [100.0] * n,
            "currency": ["GBP" if i % 2 else "EUR" for i in range(n)],
        }
    )
    cfg = Config.default()
    cfg = cfg.model_copy(
        update={"shop": cfg.shop.model_copy(update={"currency": "EUR", "rates": {"GBP": 1.2}})}
    )
    with Store(tmp_path / "cxlab.duckdb", config=cfg) as s:
        s.ingest("events", events)
        s.ingest("orders", orders)
        res = swot(s.ibis(), s.config, min_n=10)
    t = res.to_frame().set_index(["kind", "name", "metric"])
    assert t.loc[("channel", "email", "revenue_per_customer"), "value"] == pytest.approx(120.0)
    assert t.loc[("channel", "organic_search", "revenue_per_customer"), "value"] == pytest.approx(100.0)
    assert res.currency == "EUR"
    assert "30 orders in GBP (GBP 3,000) converted at 1 GBP = 1.2 EUR" in res.summary()
    assert res.to_dict()["currency_notes"] == list(res.notes) and len(res.notes) == 1
