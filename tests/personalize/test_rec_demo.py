"""The demo shop: the planted co-purchase pairs are found by ``similar``, ``recommend fit`` writes every
buyer's list, and the report section runs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cxlab.personalize.report import SECTIONS
from cxlab.personalize.store import TABLE, fit_store, recommend_for, similar
from cxlab.store import Store
from tests.journey.conftest import build_demo_store
from tests.plainwords.words import problems


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("rec-demo")
    db, made = build_demo_store(out, 3000, seed=11)
    truth: dict[str, Any] = dict(made)
    with (out / "products.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["product_id", "name", "category"])
        w.writeheader()
        for r in truth["catalog"]:
            w.writerow({k: r[k] for k in ("product_id", "name", "category")})
    return db, truth


def test_similar_finds_the_planted_pairs(demo: tuple[Path, dict[str, Any]]) -> None:
    db, truth = demo
    names = {r["product_id"]: r["name"] for r in truth["catalog"]}
    with Store(db, read_only=True) as s:
        for a, b in truth["co_purchase_pairs"]:
            for x, y in ((a, b), (b, a)):
                res = similar(s.ibis(), x, 3, config=s.config, store_dir=s.path.parent)
                top = res.frame.iloc[0]
                assert top["product_id"] == y, (x, res.frame)
                assert top["score"] > 2 * res.frame["score"].iloc[1]  # far above chance
                assert top["reason"] == f"bought together with {names[x]} by {top['customers']:,} customers"


def test_fit_and_lookup_on_the_demo(demo: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    db, truth = demo
    copy = tmp_path / "cxlab.duckdb"
    for f in db.parent.iterdir():
        if f.is_file() and (f.name.startswith("cxlab.") or f.name == "products.csv"):
            (tmp_path / f.name).write_bytes(f.read_bytes())
    with Store(copy) as s:
        res = fit_store(s.ibis(), s.con, config=s.config, store_dir=s.path.parent)
        (missing,) = s.con.execute(
            f"SELECT count(DISTINCT customer_id) FROM orders WHERE customer_id IS NOT NULL AND len(items) > 0 "
            f"AND coalesce(status, '') NOT IN ('refunded', 'voided') "
            f"AND customer_id NOT IN (SELECT customer_id FROM {TABLE} WHERE customer_id IS NOT NULL)"
        ).fetchone() or (None,)
    assert res.evaluation is not None and res.model == res.evaluation.default
    assert missing == 0  # every buyer has a list (and so do customers who only viewed products)
    con = duckdb.connect(str(copy), read_only=True)
    try:
        (n_null,) = con.execute(f"SELECT count(*) FROM {TABLE} WHERE customer_id IS NULL").fetchone() or (0,)
        a, b = truth["co_purchase_pairs"][0]
        (who,) = con.execute(
            "SELECT customer_id FROM orders, unnest(items) AS t(i) GROUP BY customer_id "
            "HAVING bool_or(i.product_id = ?) AND NOT bool_or(i.product_id = ?) ORDER BY customer_id LIMIT 1",
            [a, b],
        ).fetchone() or (None,)
        rec = recommend_for(con, str(who), 10)
    finally:
        con.close()
    assert n_null == 10
    assert rec.source == "table" and len(rec.items) == 10
    assert a not in [i.product_id for i in rec.items]  # already bought


def test_report_section(demo: tuple[Path, dict[str, Any]]) -> None:
    db, _ = demo
    with Store(db, read_only=True) as s:
        (section,) = [f(s) for f in SECTIONS]
    assert section.table is not None and "(default)" in " ".join(section.table["recommends"])
    assert "Bought together most often" in section.summary and "works best here" in section.summary
    assert "nDCG@10" in section.details and "nDCG" not in section.summary
    assert problems(section) == []
