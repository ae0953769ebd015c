"""Strengths and weaknesses told plainly: conflicting findings about one place are one row, complaints argue
only weaknesses, the statistics sit in the details, progress is reported, and nothing to say is said."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from cxlab.display import DASH
from cxlab.errors import MissingData
from cxlab.journey.report import swot_section
from cxlab.journey.swot import COLUMNS, STEPS, Swot, swot
from cxlab.store import Store
from tests.journey.conftest import Rows

JARGON = ("Newcombe", "Welch", "holm", "Holm", "p <", "p =", "CI", " pp", "e-0", "n=")


def row(name: str, kind: str, metric: str, verdict: str, value: float, peer: float, **kw: object) -> dict:
    """One comparison of the SWOT table, with made-up but consistent statistics."""
    base = {
        "kind": kind, "name": name, "peer_group": "all", "metric": metric, "value": value, "peer_value": peer,
        "peer_median": peer, "diff": value - peer, "ci_low": value - peer - 0.02, "ci_high": value - peer + 0.02,
        "effect_size": 0.3, "n": 800, "peers": 4, "peer_n": 5000, "p_value": 1e-9, "p_adjusted": 2.5e-8,
        "money_at_stake": 12_000.0, "money_per_month": 1_000.0, "verdict": verdict,
    }  # fmt: skip
    return base | kw


def made(*rows: dict) -> Swot:
    table = pd.DataFrame(list(rows))
    table["evidence"] = [r.get("evidence", []) for r in rows]
    return Swot(table[[*COLUMNS, "evidence"]], "EUR", 12.0)


def test_a_place_weak_on_one_metric_and_strong_on_another_is_one_row_with_both() -> None:
    s = made(
        row("checkout", "touchpoint", "negative_feedback", "weakness", 0.30, 0.12, money_per_month=800.0),
        row("checkout", "touchpoint", "next_stage", "strength", 0.70, 0.60, money_per_month=300.0),
        row("delivery", "touchpoint", "negative_feedback", "weakness", 0.31, 0.12, money_per_month=2_000.0),
        row("email", "channel", "conversion", "strength", 0.20, 0.10, money_per_month=500.0),
    )
    places = s.places()
    assert [(p["verdict"], p["name"]) for p in places] == [
        ("weakness", "delivery"),
        ("mixed signals", "checkout"),
        ("strength", "email"),
    ]
    mixed = places[1]
    assert "conflict" in mixed["sentence"]
    assert "30.0% of its feedback is negative" in mixed["sentence"]  # the weakness …
    assert "70.0% of the people who did something here went on" in mixed["sentence"]  # … and the strength
    assert mixed["worth_per_month"] is None  # no money claimed for a place whose signals disagree
    assert set(s.mixed["metric"]) == {"negative_feedback", "next_stage"}
    assert "Mixed signals about checkout" in s.headline()
    assert (
        "checkout" not in s.headline().split("Mixed signals")[0]
    )  # not also named biggest weakness/strength
    fig = s.figure()
    rows_of = {t.name: list(t.y) for t in fig.data}
    assert "checkout (touchpoint)" in rows_of["weakness"] and "checkout (touchpoint)" in rows_of["strength"]
    assert fig.layout.margin.l is None  # no fixed left margin: labels take the room they need


def test_a_place_weak_on_two_metrics_is_one_row_worth_its_biggest_gap() -> None:
    s = made(
        row("social_ads", "channel", "conversion", "weakness", 0.15, 0.31, peer_group="paid",
            money_per_month=3_000.0),
        row("social_ads", "channel", "revenue_per_customer", "weakness", 52.0, 98.0, peer_group="paid",
            money_per_month=2_000.0),
    )  # fmt: skip
    (place,) = s.places()
    assert place["worth_per_month"] == 1_500.0  # half the bigger gap; the measures overlap, never added up
    assert "15.0% of the people it brought in bought something" in place["sentence"]
    assert "spent EUR 52.00 each, against EUR 98.00 for the other paid channels" in place["sentence"]
    assert "EUR 1,500 a month" in place["sentence"]
    (bar,) = [t for t in s.figure().data if len(t.x)]
    assert list(bar.x) == [-1_500.0]  # the chart says what the table says


def test_complaints_are_evidence_of_weaknesses_only() -> None:
    said = ["late parcels (40 texts)"]
    s = made(
        row("delivery", "touchpoint", "negative_sentiment", "weakness", 0.6, 0.2, evidence=said),
        row(
            "product",
            "touchpoint",
            "negative_sentiment",
            "strength",
            0.1,
            0.3,
            evidence=["too small (3 texts)"],
        ),
    )
    weak, strong = s.places()
    assert "complaints: late parcels (40 texts)" in weak["sentence"]
    assert "complaint" not in strong["sentence"].lower() and "too small" not in strong["sentence"]


def test_plain_words_up_front_statistics_in_the_details() -> None:
    s = made(row("delivery", "touchpoint", "negative_feedback", "weakness", 0.31, 0.12, n=561, peer_n=3670))
    (place,) = s.places()
    for text in (s.headline(), place["sentence"]):
        assert not any(j in text for j in JARGON), text
    assert "Biggest weakness: delivery (touchpoint), where 31.0% of its feedback is negative" in s.headline()
    assert "n = 561 feedback items (peers 3,670)" in place["details"]
    assert "95% CI" in place["details"] and "holm-adjusted p < 0.001" in place["details"]
    item = s.to_dict()["weaknesses"][0]
    assert item["details"] == place["details"] and "n = 561" in item["details"]


def test_nothing_significant_says_so_without_a_chart(make_store: Callable[[Rows], Store]) -> None:
    s = made(row("delivery", "touchpoint", "negative_feedback", "as peers", 0.13, 0.12, p_adjusted=0.4))
    assert s.places() == [] and s.headline().startswith("Nothing stands out")
    store = make_store([(f"p{i}", float(i), "page_view", "site") for i in range(5)])
    with pytest.raises(MissingData) as err:  # nothing could be compared: a one-line reason, no empty chart
        swot_section(store)
    assert "\n" not in str(err.value) and "enough people" in str(err.value)


def test_progress_counts_the_queries_up_to_the_total(make_store: Callable[[Rows], Store]) -> None:
    rows = [
        (f"p{i}", float(i), e, tp)
        for i in range(40)
        for e, tp in (("page_view", "site"), ("purchase", "checkout"))
    ]
    store = make_store(rows)
    seen: list[tuple[str, int, int]] = []
    swot(store.ibis(), store.config, progress=lambda what, done, total: seen.append((what, done, total)))
    assert [d for _, d, _ in seen] == list(range(STEPS + 1))
    assert {t for _, _, t in seen} == {STEPS} and all(w for w, _, _ in seen)


def test_money_always_has_its_currency() -> None:
    s = made(
        row("delivery", "touchpoint", "negative_feedback", "weakness", 0.31, 0.12),
        row("email", "channel", "revenue_per_customer", "strength", 120.0, 80.0, money_per_month=0.2),
    )
    for p in s.places():
        assert p["worth_per_month"] is not None
    weak, strong = s.places()
    assert "EUR 500 a month" in weak["sentence"]
    assert "worth" not in strong["sentence"]  # under one EUR a month: no "EUR 0" claim
    assert DASH not in weak["sentence"]
