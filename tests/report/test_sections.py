"""Each report section stands alone: a store with only some tables gets every section they allow, the rest
are listed at the end with why (missing data vs failure), and a failure says so in the result."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import cxlab.report.sections as report_sections
from cxlab.config import Config
from cxlab.errors import MissingData
from cxlab.pipeline import build_report
from cxlab.report.section import Section
from cxlab.report.sections import NOT_RUN_ID, build_sections, run_sections
from cxlab.store import Store

JOURNEY = {"stages", "journey-map", "funnel", "paths"}
TOO_FEW = {"journey-swot"}
"""40 people are too few to compare a touchpoint with its peers (30 each): strengths and weaknesses say so."""
JOURNEY_NOT_RUN = {"journey-stages", "journey-map", "journey-funnel", "journey-paths", "journey-swot"}
N = 40


def events() -> pa.Table:
    steps = [
        ("page_view", "site"),
        ("add_to_cart", "cart"),
        ("checkout", "checkout"),
        ("purchase", "checkout"),
    ]
    rows = [
        (f"c{p}", f"2024-0{1 + p % 3}-1{k} 10:00", e, tp)
        for p in range(N)
        for k, (e, tp) in enumerate(steps[: 1 + p % 4])
    ]
    return pa.table(
        {
            "event_id": [f"e{i}" for i in range(len(rows))],
            "ts": [r[1] for r in rows],
            "customer_id": [r[0] for r in rows],
            "event": [r[2] for r in rows],
            "touchpoint": [r[3] for r in rows],
            "channel": ["email" if int(r[0][1:]) % 2 else "paid_search" for r in rows],
            "revenue": [50.0 if r[2] == "purchase" else None for r in rows],
        }
    )


def orders(currencies: tuple[str, ...] = ("EUR",)) -> pa.Table:
    return pa.table(
        {
            "order_id": [f"o{i}" for i in range(N)],
            "customer_id": [f"c{i % 25}" for i in range(N)],
            "ts": [f"2024-0{1 + i % 4}-{1 + i % 27:02d}" for i in range(N)],
            "revenue": [100.0] * N,
            "currency": [currencies[i % len(currencies)] for i in range(N)],
        }
    )


def feedback() -> pa.Table:
    return pa.table(
        {
            "feedback_id": [f"f{i}" for i in range(N)],
            "ts": ["2024-03-01"] * N,
            "source": ["nps"] * N,
            "score": [float(i % 11) for i in range(N)],
        }
    )


def shape(tmp_path: Path, tables: dict[str, pa.Table], config: Config | None = None) -> Store:
    s = Store(tmp_path / "cxlab.duckdb", config=config)
    for name, data in tables.items():
        s.ingest(name, data)
    return s


def ran(sections: list[Section]) -> set[str]:
    return {s.id for s in sections if not s.summary.startswith("Not run") and s.id != NOT_RUN_ID}


@pytest.mark.parametrize(
    ("tables", "runs", "missing"),
    [
        ({"events": events()}, JOURNEY, {"journey-retention"} | TOO_FEW),
        ({"orders": orders()}, {"retention"}, JOURNEY_NOT_RUN),
        ({"feedback": feedback()}, {"voice-scores"}, JOURNEY_NOT_RUN | {"journey-retention"}),
    ],
    ids=["events-only", "orders-only", "feedback-only"],
)
def test_partial_store_gets_every_section_its_tables_allow(
    tmp_path: Path, tables: dict[str, pa.Table], runs: set[str], missing: set[str]
) -> None:
    with shape(tmp_path, tables) as s:
        built = build_sections(s)
        journey_missing = {n.id for n in built.not_run if n.id.startswith("journey-")}
    assert {"overview"} | runs <= ran(built.sections)
    assert journey_missing == missing
    assert all(n.missing_data for n in built.not_run if n.id.startswith("journey-"))
    last = built.sections[-1]
    assert last.id == NOT_RUN_ID and last.title == "What could not run" and last.table is not None
    assert list(last.table["section"]) == [n.title for n in built.not_run]
    placed = [s for s in built.sections if s.id in missing]  # each shown in its place, saying why
    assert len(placed) == len(missing) and all("Not run (missing data): " in s.summary for s in placed)


def test_a_failing_analysis_is_listed_and_the_rest_still_runs(tmp_path: Path) -> None:
    def broken(_store: Store) -> Section:
        raise RuntimeError("the model did not converge")

    def lacking(_store: Store) -> Section:
        raise MissingData("needs exposures: none stored")

    def fine(_store: Store) -> Section:
        return Section("fine", "Fine", "ran")

    with shape(tmp_path, {"events": events()}) as s:
        built = run_sections(s, [broken, lacking, fine])
    assert [x.id for x in built.sections] == ["broken", "lacking", "fine", NOT_RUN_ID]
    assert [(n.id, n.missing_data) for n in built.not_run] == [("broken", False), ("lacking", True)]
    assert [n.reason for n in built.failed] == ["RuntimeError: the model did not converge"]
    assert built.sections[-1].summary == "2 of 3 sections could not run: 1 for lack of data, 1 failed."


def test_build_report_says_what_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_store: Store) -> Section:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(report_sections, "registered", lambda: [report_sections.overview, broken])
    with shape(tmp_path, {"events": events()}) as s:
        run = build_report(s, tmp_path / "report.html")
    html = run.path.read_text(encoding="utf-8")
    assert [n.id for n in run.failed] == ["broken"]
    assert run.to_dict()["not_run"] == [
        {"section": "broken", "reason": "ZeroDivisionError: division by zero", "missing_data": False}
    ]
    assert "What could not run" in html and "ZeroDivisionError: division by zero" in html


def test_full_store_lists_nothing_as_not_run(tmp_path: Path) -> None:
    with shape(tmp_path, {"events": events(), "orders": orders()}) as s:
        built = build_sections(s)
    journey = {n.id for n in built.not_run if n.id.startswith("journey-")}
    assert journey == TOO_FEW and {"retention"} | JOURNEY <= ran(built.sections)


def test_overview_reports_orders_in_one_currency_with_the_note(tmp_path: Path) -> None:
    cfg = Config.default()
    cfg = cfg.model_copy(
        update={"shop": cfg.shop.model_copy(update={"currency": "EUR", "rates": {"GBP": 1.2}})}
    )
    with shape(tmp_path, {"orders": orders(("EUR", "GBP", "USD", "EUR"))}, cfg) as s:
        summary = report_sections.overview(s).summary
    # 20 EUR orders + 10 GBP at 1.2; the 10 USD orders have no rate and are left out
    assert summary.startswith("No events; 40 orders worth EUR 3,200.")
    assert "10 orders in GBP (GBP 1,000) converted at 1 GBP = 1.2 EUR" in summary
    assert "10 orders left out, no exchange rate to EUR: 10 in USD (USD 1,000)" in summary
