"""The report on real-shape stores (issue 12, points 9, 12, 15, 16): files loaded with ``cxlab ingest`` as
shops export them; every section the stored tables allow is in the report, the others are listed at its end
as missing data, money is in one currency with the conversion said, and no tag from the data survives.

- an events-only store: a cp1252 clickstream without ``session_id``;
- an orders-only store: a UK gift shop's invoices with US dates, in GBP (converted by ``[shop.rates]``) and
  EUR, a customer whose first purchase is the last day;
- a feedback-only store: reviews from Danish and Dutch shops with junk (``....``) and hostile text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import default_toml
from cxlab.pipeline import ReportRun, build_report
from cxlab.store import Store
from tests.realshape.shapes import EVENT_COLUMNS, INVOICES, ORDER_COLUMNS, write_csv

runner = CliRunner()
HOSTILE = '<img src=x onerror="alert(1)">'
JOURNEY_EVENTS = {"journey-stages", "journey-map", "journey-funnel", "journey-paths", "journey-swot"}

CLICKSTREAM = [  # event_id, ts, customer_id, anonymous_id, event, channel, touchpoint, revenue
    ("1", "2024-11-04 09:00:00", "", "a1", "ad_click", "paid_search", "search_ad", ""),
    ("2", "2024-11-04 09:02:00", "", "a1", "page_view", "", "site", ""),
    ("3", "2024-11-04 09:10:00", "", "a1", "add_to_cart", "", "cart", ""),
    ("4", "2024-11-04 09:12:00", "Jørgen", "a1", "purchase", "", "checkout", "59.90"),
    ("5", "2024-11-05 12:00:00", "Müller", "", "page_view", "organic_search", "site", ""),
    ("6", "2024-11-05 12:20:00", "Müller", "", "add_to_cart", "", "cart", ""),
    ("7", "2024-11-05 14:07:00", "Müller", "", "purchase", "", "checkout", "24.50"),
    ("8", "2024-11-06 10:00:00", "Søren", "", "page_view", "direct", "site", ""),
]


REVIEWS = [  # feedback_id, ts, source, score, text, touchpoint
    ("r1", "2024-03-01", "review", "5", "Super hurtig levering, tak!", "delivery"),
    ("r2", "2024-03-02", "review", "1", "....", "delivery"),
    ("r3", "2024-03-03", "review", "2", "Pakket kom for sent en var beskadiget", "delivery"),
    ("r4", "2024-03-04", "review", "4", "Prima service, snel geleverd", "delivery"),
    ("r5", "2024-03-05", "review", "1", f"Nooit meer {HOSTILE}", HOSTILE),
    ("r6", "2024-03-06", "nps", "9", "", ""),
    ("r7", "2024-03-07", "nps", "3", "!!!", ""),
]
FEEDBACK_COLUMNS = ["feedback_id", "ts", "source", "score", "text", "touchpoint"]


def _store(folder: Path, table: str, data: Path, *options: str) -> Path:
    db = folder / "cxlab.duckdb"
    toml = default_toml().replace("# [shop.rates]\n# GBP = 1.17", "[shop.rates]\nGBP = 1.17")
    (folder / "cxlab.toml").write_text(toml, encoding="utf-8")
    r = runner.invoke(app, ["ingest", table, str(data), "--db", str(db), *options])
    assert r.exit_code == 0, r.output
    return db


def _report(db: Path) -> tuple[ReportRun, dict[str, tuple[str, str]], str]:
    """The written report, its sections (id → title, summary as read) and the raw HTML."""
    with Store(db, read_only=True) as s:
        run = build_report(s, db.parent / "report.html")
    text = run.path.read_text(encoding="utf-8")
    found = re.findall(r'<section id="([^"]+)">\s*<h2>(.*?)</h2>\s*<p class="summary">(.*?)</p>', text, re.S)
    return run, {i: (html.unescape(t), html.unescape(s)) for i, t, s in found}, text


def _ran(sections: dict[str, tuple[str, str]]) -> set[str]:
    return {i for i, (_, s) in sections.items() if not s.startswith("Not run") and i != "not-run"}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def test_events_only_clickstream(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "clicks.csv", CLICKSTREAM, EVENT_COLUMNS, encoding="cp1252")
    run, sections, text = _report(_store(tmp_path, "events", f))
    assert {"overview", "stages", "journey-map", "funnel", "paths"} <= _ran(sections)
    missing = {n.id for n in run.not_run if n.id.startswith("journey-")}
    assert missing == {"journey-retention", "journey-swot"}  # no orders; 3 people leave nothing to compare
    assert sections["overview"][0] == "Key figures"
    assert "All data: Events from 2024-11-04 to 2024-11-06; 0 orders worth EUR 0." in html.unescape(text)
    assert sections["funnel"][1].startswith("Of 3 people with page_view, 2 (66.7%) got to purchase")
    assert "2 people" in sections["paths"][1], sections["paths"][1]
    assert "Cohort retention needs orders with customer_id" in sections["journey-retention"][1]
    assert sections["not-run"][0] == "What could not run"


def test_orders_only_invoices_in_two_currencies(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "invoices.csv", INVOICES, ORDER_COLUMNS, encoding="latin-1")
    run, sections, text = _report(_store(tmp_path, "orders", f, "--date-format", "%m/%d/%Y %H:%M"))
    assert {"overview", "retention"} <= _ran(sections)
    missing = {n.id: n for n in run.not_run if n.id.startswith("journey-")}
    assert set(missing) == JOURNEY_EVENTS and all(n.missing_data for n in missing.values())
    # 895.86 EUR + 316.32 GBP × 1.17 = 1,265.95 EUR; never 1,212 "EUR" summed as if all were EUR
    shown = html.unescape(text)
    assert "All data: No events; 7 orders worth EUR 1,266." in shown
    assert "5 orders in GBP (GBP 316) converted at 1 GBP = 1.17 EUR" in shown
    assert "Of 4 customers" in sections["retention"][1]
    listed = re.search(r'<section id="not-run">.*?</section>', text, re.S)
    assert listed is not None and all(html.escape(n.title) in listed.group(0) for n in run.not_run)


def test_feedback_only_with_junk_and_hostile_reviews(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "reviews.csv", REVIEWS, FEEDBACK_COLUMNS, encoding="cp1252")
    run, sections, text = _report(_store(tmp_path, "feedback", f))
    assert {"overview", "voice-scores"} <= _ran(sections)
    assert sections["journey-funnel"][1] == (
        "Not run (missing data): The purchase funnel needs events: none stored "
        "(load them with `cxlab ingest events FILE`)"
    )
    missing = {n.id for n in run.not_run if n.id.startswith("journey-")}
    assert missing == JOURNEY_EVENTS | {"journey-retention"}
    parsed = Elements()
    parsed.feed(text)
    assert not [t for t, _ in parsed.found if t == "img"]
    assert not [a for _, a in parsed.found if any(k.startswith("on") for k in a)]
    assert HOSTILE not in text


@pytest.mark.parametrize("shape", ["events", "orders"])
def test_report_command_writes_the_report(tmp_path: Path, shape: str) -> None:
    rows, columns, options = (
        (CLICKSTREAM, EVENT_COLUMNS, ())
        if shape == "events"
        else (INVOICES, ORDER_COLUMNS, ("--date-format", "%m/%d/%Y %H:%M"))
    )
    db = _store(tmp_path, shape, write_csv(tmp_path / "data.csv", rows, columns, "cp1252"), *options)
    out = tmp_path / "out.html"
    r = runner.invoke(app, ["report", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output  # only missing data, no failure
    assert "What could not run" in out.read_text(encoding="utf-8")
