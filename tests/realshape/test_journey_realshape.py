"""Real-shape journey data (issue 12, points 9, 11, 16), loaded through ``cxlab ingest`` as shops export it:

- a cp1252 clickstream without ``session_id`` whose visitor signs in at the purchase (anonymous clicks
  stitched to the customer), names with æ/ø/ü: funnels per person and per derived session, paths, the map;
- typos in funnel steps (``add_to_crt``, ``touchpoint:chekout``): exit 2 with the closest stored names;
- a UK gift shop's invoices with US dates, in GBP and EUR, a customer whose first purchase is the last day:
  cohort retention from orders alone, and the event analyses saying what is missing instead of crashing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from tests.realshape.shapes import EVENT_COLUMNS, INVOICES, ORDER_COLUMNS, cli_json, write_csv

runner = CliRunner()

CLICKSTREAM = [  # event_id, ts, customer_id, anonymous_id, event, channel, touchpoint, revenue
    ("1", "2024-11-04 09:00:00", "", "a1", "ad_click", "paid_search", "search_ad", ""),
    ("2", "2024-11-04 09:02:00", "", "a1", "page_view", "", "site", ""),
    ("3", "2024-11-04 09:10:00", "", "a1", "add_to_cart", "", "cart", ""),
    ("4", "2024-11-04 09:12:00", "Jørgen", "a1", "purchase", "", "checkout", "59.90"),
    ("5", "2024-11-05 12:00:00", "Müller", "", "page_view", "organic_search", "site", ""),
    ("6", "2024-11-05 12:20:00", "Müller", "", "add_to_cart", "", "cart", ""),
    ("7", "2024-11-05 14:00:00", "Müller", "", "page_view", "", "site", ""),  # 100 min later: new visit
    ("8", "2024-11-05 14:05:00", "Müller", "", "add_to_cart", "", "cart", ""),
    ("9", "2024-11-05 14:07:00", "Müller", "", "purchase", "", "checkout", "24.50"),
    ("10", "2024-11-06 10:00:00", "Søren", "", "page_view", "direct", "site", ""),
    ("11", "2024-11-06 10:03:00", "Søren", "", "add_to_cart", "", "cart", ""),
]


@pytest.fixture(scope="module")
def clicks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clicks")
    db = folder / "cxlab.duckdb"
    f = write_csv(folder / "clicks.csv", CLICKSTREAM, EVENT_COLUMNS, encoding="cp1252")
    r = runner.invoke(app, ["ingest", "events", str(f), "--db", str(db)])
    assert r.exit_code == 0, r.output
    return db


@pytest.fixture(scope="module")
def invoices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("invoices")
    db = folder / "cxlab.duckdb"
    f = write_csv(folder / "invoices.csv", INVOICES, ORDER_COLUMNS, encoding="latin-1")
    r = runner.invoke(app, ["ingest", "orders", str(f), "--db", str(db), "--date-format", "%m/%d/%Y %H:%M"])
    assert r.exit_code == 0, r.output
    return db


def test_funnel_per_person_and_per_derived_session(clicks: Path) -> None:
    steps = "page_view,add_to_cart,purchase"
    people = cli_json("journey", "funnel", "--steps", steps, "--db", str(clicks))
    assert [(s["step"], s["customers"]) for s in people["steps"]] == [
        ("page_view", 3),
        ("add_to_cart", 3),
        ("purchase", 2),  # a1's anonymous clicks are Jørgen's
    ]
    sessions = cli_json("journey", "funnel", "--steps", steps, "--unit", "sessions", "--db", str(clicks))
    assert [s["sessions"] for s in sessions["steps"]] == [4, 4, 2]  # Müller's two visits, 30-min timeout


def test_paths_after_the_cart_keep_names_as_written(clicks: Path) -> None:
    doc = cli_json("journey", "paths", "--start", "cart", "--db", str(clicks))
    assert {p["path"]: p["units"] for p in doc["paths"]} == {
        "cart > checkout": 1,
        "cart > site > cart > checkout": 1,
        "cart": 1,
    }
    assert doc["units"] == 3


def test_map_counts_people_per_touchpoint(clicks: Path) -> None:
    doc = cli_json("journey", "map", "--db", str(clicks))
    assert {r["touchpoint"]: r["people"] for r in doc["rows"]} == {
        "search_ad": 1,
        "site": 3,
        "cart": 3,
        "checkout": 2,
    }
    assert doc["people"] == 3


@pytest.mark.parametrize(
    ("steps", "said"),
    [
        (
            "page_view,add_to_crt,purchase",
            "no stored event is called 'add_to_crt'; did you mean add_to_cart?",
        ),
        ("touchpoint:chekout", "no stored touchpoint is called 'chekout'; did you mean checkout?"),
    ],
)
def test_funnel_typo_exits_2_with_the_closest_names(clicks: Path, steps: str, said: str) -> None:
    r = runner.invoke(app, ["journey", "funnel", "--steps", steps, "--db", str(clicks)])
    assert r.exit_code == 2 and said in " ".join(r.output.split())


def test_events_only_store_retention_says_orders_are_missing(clicks: Path) -> None:
    r = runner.invoke(app, ["journey", "retention", "--db", str(clicks)])
    assert r.exit_code == 2
    assert "Cohort retention needs orders with customer_id" in " ".join(r.output.split())


def test_retention_from_invoices_alone(invoices: Path) -> None:
    doc = cli_json("journey", "retention", "--db", str(invoices))
    cells = {(c["cohort"][:7], c["offset"]): (c["customers"], c["active"]) for c in doc["cohorts"]}
    assert cells == {
        ("2010-12", 0): (2, 2),
        ("2010-12", 1): (2, 1),
        ("2010-12", 2): (2, 1),
        ("2011-01", 0): (1, 1),
        ("2011-01", 1): (1, 0),
        ("2011-02", 0): (1, 1),  # first purchase on the last day: its cohort, nothing after it
    }
    assert doc["customers"] == 4
    curve = {r["days"]: (r["customers"], r["repeaters"]) for r in doc["repeat_curve"]}
    assert curve[14] == (3, 1) and curve[60] == (2, 1) and curve[90] == (0, 0)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["map"], "The journey map needs events"),
        (["swot"], "Strengths and weaknesses needs events"),
        (["paths", "--start", "cart"], "Paths needs events"),
        (["funnel", "--steps", "page_view,purchase"], "A funnel needs events"),
    ],
)
def test_orders_only_store_event_analyses_say_what_is_missing(
    invoices: Path, command: list[str], message: str
) -> None:
    r = runner.invoke(app, ["journey", *command, "--db", str(invoices)])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
