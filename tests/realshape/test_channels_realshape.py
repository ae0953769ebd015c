"""Real-shape channel data (issue 12, points 10, 12, 16), loaded through ``cxlab ingest`` as shops export it:

- a clickstream in cp1252 without a ``session_id`` column, where only the landing click carries a channel
  (``channels performance`` showed 0% conversion for every channel while attribution credited every purchase);
- an orders-only store with GBP and EUR invoices (no events: performance and attribution say what is missing);
- channel names with odd characters (HTML, rich markup, a spreadsheet formula) that must come out as written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlab.channels.report import SECTIONS
from cxlab.cli import app
from cxlab.config import default_toml
from cxlab.errors import MissingData
from cxlab.store import Store
from tests.realshape.shapes import cli_json, ingest_file, write_csv

runner = CliRunner()

CLICKSTREAM = [  # event_id, ts, customer_id, anonymous_id, event, channel, campaign, revenue (no session_id)
    ("1", "2024-11-04 09:00:00", "", "a1", "ad_click", "paid_search", "Été-promo €", ""),
    ("2", "2024-11-04 09:02:00", "", "a1", "page_view", "", "", ""),
    ("3", "2024-11-04 09:10:00", "", "a1", "add_to_cart", "", "", ""),
    ("4", "2024-11-04 09:12:00", "u1", "a1", "purchase", "", "", "59.90"),
    ("5", "2024-11-10 20:00:00", "u1", "", "email_sent", "email", "Nyhedsbrev", ""),  # sent: not a visit
    ("6", "2024-11-11 08:00:00", "u1", "", "email_click", "email", "Nyhedsbrev", ""),
    ("7", "2024-11-11 08:05:00", "u1", "", "page_view", "", "", ""),
    ("8", "2024-11-05 12:00:00", "c2", "", "organic_click", "organic_search", "", ""),
    ("9", "2024-11-05 12:20:00", "c2", "", "page_view", "", "", ""),
    ("10", "2024-11-05 12:45:00", "c2", "", "purchase", "", "", "24.50"),
    ("11", "2024-11-06 10:00:00", "c3", "", "ad_click", "social_ads", "Black Friday", ""),
    ("12", "2024-11-06 10:05:00", "c3", "", "page_view", "", "", ""),
    (
        "13",
        "2024-11-06 11:00:00",
        "c3",
        "",
        "ad_click",
        "social_ads",
        "Black Friday",
        "",
    ),  # 55 min: new visit
    ("14", "2024-11-06 11:03:00", "c3", "", "page_view", "", "", ""),
    ("15", "2024-11-07 15:00:00", "c4", "", "page_view", "direct", "", ""),
    ("16", "2024-11-07 15:10:00", "c4", "", "purchase", "", "", "100.00"),
]
COLUMNS = ["event_id", "ts", "customer_id", "anonymous_id", "event", "channel", "campaign", "revenue"]


@pytest.fixture(scope="module")
def sessionless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sessionless")
    db = folder / "cxlab.duckdb"
    ingest_file(db, "events", write_csv(folder / "clicks.csv", CLICKSTREAM, COLUMNS, encoding="cp1252"))
    return db


def test_performance_sessionises_events_without_session_id(sessionless: Path) -> None:
    doc = cli_json("channels", "performance", "--db", str(sessionless))
    rows = {r["channel"]: r for r in doc["rows"]}
    got = {c: (r["sessions"], r["converting_sessions"], r["orders"], r["revenue"]) for c, r in rows.items()}
    assert got == {
        "direct": (1, 1, 1, 100.0),
        "email": (1, 0, 0, 0.0),
        "organic_search": (1, 1, 1, 24.5),
        "paid_search": (1, 1, 1, 59.9),
        "social_ads": (2, 0, 0, 0.0),
    }
    assert doc["derived_sessions"] == 6
    assert any("6 of 6 sessions had no session_id" in n and "30-minute inactivity" in n for n in doc["notes"])


def test_attribution_and_performance_count_the_same_purchases(sessionless: Path) -> None:
    doc = cli_json("channels", "attribution", "--model", "last", "--db", str(sessionless))
    credited = {c["channel"]: c["conversions"] for c in doc["channels"] if c["conversions"]}
    assert credited == {"direct": 1.0, "organic_search": 1.0, "paid_search": 1.0}


def test_cp1252_campaign_names_survive(sessionless: Path) -> None:
    doc = cli_json("channels", "performance", "--by", "campaign", "--db", str(sessionless))
    campaigns = {(r["channel"], r["campaign"]) for r in doc["rows"]}
    assert ("paid_search", "Été-promo €") in campaigns and ("email", "Nyhedsbrev") in campaigns


ORDERS = [  # a UK gift shop's invoices, a few in EUR
    ("536365", "17850", "2010-12-01 08:26:00", "139.12", "GBP"),
    ("536366", "17850", "2010-12-01 08:28:00", "22.20", "GBP"),
    ("536367", "13047", "2010-12-01 08:34:00", "278.73", "GBP"),
    ("536368", "12583", "2010-12-01 08:45:00", "855.86", "EUR"),
]


@pytest.fixture(scope="module")
def orders_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("orders_only")
    db = folder / "cxlab.duckdb"
    columns = ["order_id", "customer_id", "ts", "revenue", "currency"]
    ingest_file(db, "orders", write_csv(folder / "invoices.csv", ORDERS, columns))
    return db


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["performance"], "Channel performance needs events"),
        (["attribution"], "Channel journeys needs events"),
        (["compare"], "Channel journeys needs events"),
    ],
)
def test_orders_only_store_says_what_is_missing(orders_only: Path, command: list[str], message: str) -> None:
    r = runner.invoke(app, ["channels", *command, "--db", str(orders_only)])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_orders_only_report_sections_each_say_what_is_missing(orders_only: Path) -> None:
    with Store(orders_only, read_only=True) as store:
        for make in SECTIONS:
            with pytest.raises(MissingData, match="needs events"):
                make(store)


ODD = ["Facebook & Insta <b>ads</b>", "[bold]promo[/bold]", '=HYPERLINK("http://x.example","win")']


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("odd")
    toml = default_toml().replace(
        'names = [\n  "direct",', "names = [\n  " + ", ".join(json.dumps(c) for c in ODD) + ', "direct",'
    )
    assert all(c in toml for c in ODD[:2])
    (folder / "cxlab.toml").write_text(toml, encoding="utf-8")
    db = folder / "cxlab.duckdb"
    rows = []
    for i, channel in enumerate(ODD):
        rows += [
            (f"{i}a", f"2024-05-0{i + 1} 10:00:00", f"c{i}", "", "ad_click", channel, "", ""),
            (f"{i}b", f"2024-05-0{i + 1} 10:05:00", f"c{i}", "", "purchase", "", "", "10"),
        ]
    ingest_file(db, "events", write_csv(folder / "events.csv", rows, COLUMNS))
    return db


def test_odd_channel_names_come_out_as_written(odd: Path, tmp_path: Path) -> None:
    doc = cli_json("channels", "performance", "--db", str(odd))
    assert sorted(r["channel"] for r in doc["rows"]) == sorted(ODD)
    assert all(r["orders"] == 1 for r in doc["rows"])
    shown = runner.invoke(app, ["channels", "performance", "--db", str(odd)], env={"COLUMNS": "300"})
    assert shown.exit_code == 0 and "[bold]promo[/bold]" in shown.stdout  # rich markup printed, not applied
    out = tmp_path / "paths.csv"
    r = runner.invoke(app, ["channels", "journeys", "--db", str(odd), "--out", str(out)])
    assert r.exit_code == 0, r.output
    written = pd.read_csv(out)["path"].tolist()
    assert "'" + ODD[2] in written and ODD[0] in written  # the formula is text in a spreadsheet


def test_odd_channel_names_in_the_report_are_plain_in_tables_and_escaped_in_figures(odd: Path) -> None:
    with Store(odd, read_only=True) as store:
        perf = SECTIONS[0](store)
    assert perf.table is not None and sorted(perf.table["channel"]) == sorted(ODD)
    labels = [str(y) for fig in perf.figures[:1] for trace in fig.data for y in trace.y]
    assert "Facebook &amp; Insta &lt;b&gt;ads&lt;/b&gt;" in labels
    assert not any("<b>" in y for y in labels)
