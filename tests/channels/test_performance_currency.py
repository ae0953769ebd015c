"""Channel performance money (issue 12, point 12): a purchase that names its order takes that order's revenue
in the reporting currency (converted with [shop.rates], left out without a rate, and said so); unpaid channels
have no CPA or ROAS ("–", not 0)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cxlab.channels import SPEND, attribute, build_journeys, channel_performance
from cxlab.cli import app
from cxlab.config import Config, default_toml
from cxlab.store import Store

EVENTS = [  # event_id, ts, customer, session, event, channel, revenue, properties
    ("1", "2024-05-01 10:00", "c1", "s1", "ad_click", "paid_search", None, None),
    ("2", "2024-05-01 10:05", "c1", "s1", "purchase", None, 999.0, '{"order_id": "o1"}'),  # the order wins
    ("3", "2024-05-02 10:00", "c2", "s2", "ad_click", "social_ads", None, None),
    ("4", "2024-05-02 10:05", "c2", "s2", "purchase", None, 50.0, '{"order_id": "o2"}'),
    ("5", "2024-05-03 10:00", "c3", "s3", "organic_click", "organic_search", None, None),
    ("6", "2024-05-03 10:05", "c3", "s3", "purchase", None, 30.0, None),  # no order: the event's revenue
    ("7", "2024-05-04 10:00", "c4", "s4", "organic_click", "organic_search", None, None),
    ("8", "2024-05-04 10:05", "c4", "s4", "purchase", None, 20.0, '{"order_id": "o3"}'),
]
ORDERS = """INSERT INTO orders (order_id, customer_id, ts, revenue, currency) VALUES
 ('o1', 'c1', '2024-05-01 10:05', 100, 'EUR'), ('o2', 'c2', '2024-05-02 10:05', 50, 'GBP'),
 ('o3', 'c4', '2024-05-04 10:05', 20, 'GBP')"""


def make_store(path: Path, rates: str = "", orders: str = ORDERS) -> Store:
    text = default_toml()
    (path.parent / "cxlab.toml").write_text(text.replace("[journey]", f"{rates}\n[journey]", 1))
    s = Store(path, config=Config.for_store(path))
    cols = list(zip(*EVENTS, strict=True))
    names = ["event_id", "ts", "customer_id", "session_id", "event", "channel", "revenue", "properties"]
    data = {n: list(c) for n, c in zip(names, cols, strict=True)}
    data["revenue"] = pa.array(data["revenue"], pa.float64())
    data["channel"] = pa.array(data["channel"], pa.string())
    data["properties"] = pa.array(data["properties"], pa.string())
    s.ingest("events", pa.table(data))
    s.con.execute(orders)
    s.con.execute(SPEND.ddl())
    s.con.execute("INSERT INTO spend VALUES ('2024-05-01', 'paid_search', '(none)', 50.0)")
    return s


def test_without_a_rate_gbp_orders_have_no_amount_and_it_is_said(tmp_path: Path) -> None:
    with make_store(tmp_path / "cxlab.duckdb") as s:
        res = channel_performance(s.ibis(), s.config)
    t = res.table.set_index("channel")
    assert res.currency == "EUR"
    assert t.loc["paid_search", ["orders", "revenue", "aov"]].tolist() == [1, 100.0, 100.0]
    assert t.loc["social_ads", "orders"] == 1 and t.loc["social_ads", "revenue"] == 0.0
    assert math.isnan(t.loc["social_ads", "aov"])  # its one order has no amount in EUR
    assert t.loc["organic_search", ["orders", "revenue", "aov"]].tolist() == [2, 30.0, 30.0]
    summary = res.summary()
    assert "amounts in EUR" in summary
    assert "2 orders left out, no exchange rate to EUR" in summary and "GBP" in summary
    assert "2 orders have no amount in EUR" in summary


def test_with_a_rate_gbp_orders_are_converted(tmp_path: Path) -> None:
    with make_store(tmp_path / "cxlab.duckdb", "[shop.rates]\nGBP = 1.2") as s:
        res = channel_performance(s.ibis(), s.config)
    t = res.table.set_index("channel")
    assert t.loc["social_ads", "revenue"] == pytest.approx(60.0)
    assert t.loc["organic_search", "revenue"] == pytest.approx(54.0)
    assert t.loc["organic_search", "aov"] == pytest.approx(27.0)
    assert any("converted at 1 GBP = 1.2 EUR" in n for n in res.notes)
    assert not any("no amount" in n for n in res.notes)


def test_unpaid_channels_have_no_cpa_or_roas(tmp_path: Path) -> None:
    with make_store(tmp_path / "cxlab.duckdb") as s:
        res = channel_performance(s.ibis(), s.config)
    t = res.table.set_index("channel")
    assert t.loc["paid_search", ["cost", "cpa", "roas"]].tolist() == [50.0, 50.0, 2.0]
    assert t.loc["social_ads", "cost"] == 0.0  # a paid channel without spend in the period: cost 0
    assert all(math.isnan(x) for x in t.loc["organic_search", ["cost", "cpa", "roas"]])


def test_cli_labels_amounts_and_shows_a_dash_for_unpaid(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    make_store(db).close()
    runner = CliRunner()
    r = runner.invoke(app, ["channels", "performance", "--db", str(db)], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    organic = next(line for line in r.stdout.splitlines() if "organic_search" in line)
    cells = [c.strip() for c in organic.strip().strip("│").split("│")]
    assert cells[-4:-1] == ["–", "–", "–"]  # cost, CPA, ROAS
    assert "revenue (EUR)" in r.stdout and "EUR 30" in organic
    j = runner.invoke(app, ["channels", "performance", "--db", str(db), "--json"])
    doc = json.loads(j.stdout)
    assert doc["currency"] == "EUR" and any("left out" in n for n in doc["notes"])
    row = {x["channel"]: x for x in doc["rows"]}["organic_search"]
    assert row["cpa"] is None and row["roas"] is None and row["cost"] is None


def test_attribution_value_is_in_the_reporting_currency(tmp_path: Path) -> None:
    with make_store(tmp_path / "cxlab.duckdb", "[shop.rates]\nGBP = 1.2") as s:
        res = attribute(build_journeys(s.ibis(), config=s.config), "last")
    value = res.table.set_index("channel")["value"]
    assert value.to_dict() == pytest.approx(
        {"paid_search": 100.0, "social_ads": 60.0, "organic_search": 54.0}
    )
    assert res.currency == "EUR" and "value in EUR" in res.summary()
    assert any("converted at 1 GBP = 1.2 EUR" in n for n in res.to_dict()["notes"])


def test_all_orders_in_another_currency_are_reported_in_it_and_spend_is_flagged(tmp_path: Path) -> None:
    gbp = ORDERS.replace("'EUR'", "'GBP'")
    with make_store(tmp_path / "cxlab.duckdb", orders=gbp) as s:
        res = channel_performance(s.ibis(), s.config)
    t = res.table.set_index("channel")
    assert res.currency == "GBP"
    assert t.loc["organic_search", "revenue"] == 50.0 and t.loc["paid_search", "revenue"] == 100.0
    assert any("no order is in EUR" in n for n in res.notes)
    assert any("spend is in EUR" in n and "revenue in GBP" in n for n in res.notes)
