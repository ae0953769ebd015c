"""The plain-words check itself catches what the issue found, and passes what a shop owner can read; the
customers', experiments', recommendations' and flows' sections on an empty store say in one line what is
missing instead of drawing an empty chart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import cxlab.automate.report
import cxlab.customers.report
import cxlab.experiments.report
import cxlab.personalize.report
from cxlab.config import default_toml
from cxlab.errors import MissingData
from cxlab.report.section import Section
from cxlab.store import Store
from tests.plainwords.words import problems

MINE = (
    *cxlab.customers.report.SECTIONS,
    *cxlab.experiments.report.SECTIONS,
    *cxlab.personalize.report.SECTIONS,
    *cxlab.automate.report.SECTIONS,
)


@pytest.mark.parametrize(
    ("summary", "found"),
    [
        ("8 personas (k = 8 by the highest mean silhouette 0.117).", "jargon 'silhouette'"),
        ("Churn risk (MBG/NBD and Gamma-Gamma; P(alive) fell).", "jargon 'P(alive)'"),
        ("Newcombe interval, Welch t-test, holm-corrected.", "jargon 'Newcombe'"),
        ("Conversion is 2.1 pp lower.", "jargon ' pp'"),
        ("MBG/NBD (Batislam, Denizel & Filiztekin 2007) fitted.", "citation"),
        ("The gap is significant (p 1.02e-32).", "scientific notation"),
        ("Fitted on 2,255 customers; total CLV 2,566,336.", "amount without currency"),
        ("Customers that are detractors (0–6); .", "hole"),
        ("Orders up to 2025-12-31 22:09:25.", "clock time"),
    ],
)
def test_the_check_catches_what_the_issue_found(summary: str, found: str) -> None:
    assert any(p.startswith(found) for p in problems(Section("s", "S", summary, details="method"))), found


def test_the_check_passes_plain_words_and_wants_details() -> None:
    plain = Section(
        "s",
        "S",
        "412 customers who used to buy often haven't come back; together they spent EUR 61,000 so far.",
        table=pd.DataFrame(
            {"customers": ["412"], "value at risk": ["EUR 61,000"], "% of revenue": ["12.0%"]}
        ),
        details="BG/NBD, n = 2,255, 95% CI 0.98 – 1.29",
    )
    assert problems(plain) == []
    assert problems(Section("s", "S", plain.summary)) == [
        "no details: the method, intervals and n must stay one click away"
    ]
    bad = pd.DataFrame({"P(alive)": ["0.7726"], "value at risk": ["61,000"]})
    assert problems(Section("s", "S", "Fine.", table=bad, details="x")) == [
        "jargon header 'P(alive)'",
        "fraction '0.7726' in column 'P(alive)'",
        "amount without currency '61,000' in column 'value at risk'",
    ]


@pytest.mark.parametrize("make", MINE, ids=lambda m: m.__name__)
def test_an_empty_store_gives_a_one_line_reason(make: Callable[[Store], Section], tmp_path: Path) -> None:
    (tmp_path / "cxlab.toml").write_text(default_toml(), encoding="utf-8")
    with Store(tmp_path / "cxlab.duckdb") as store, pytest.raises(MissingData) as e:
        make(store)
    reason = str(e.value)
    assert reason and "\n" not in reason and len(reason) < 200
