"""Real-shape experiment data: a shop selling in EUR and GBP (and a few USD orders it has no rate for) runs an
A/B test; revenue metrics read orders in the reporting currency with the shop's ``[shop.rates]`` and the
result says what was converted and left out (issue 12, point 12: GBP used to be summed as if it were EUR)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlab.cli import app

RATE = 1.25
ARM = {f"C{i:02d}": "control" if i < 20 else "treatment" for i in range(40)}


def _orders() -> pd.DataFrame:
    rows = []
    for i, cust in enumerate(ARM):
        cur = "GBP" if i % 4 == 1 else "USD" if i % 10 == 7 else "EUR"
        rows.append(
            {"order_id": f"O{i:03d}", "customer_id": cust, "ts": "2025-03-05 12:00:00",
             "revenue": 10.0 * (i % 5 + 1) + (5.0 if ARM[cust] == "treatment" else 0.0), "currency": cur}
        )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    r = CliRunner().invoke(app, ["init", str(folder)])
    assert r.exit_code == 0, r.output
    with (folder / "cxlab.toml").open("a", encoding="utf-8") as f:
        f.write(f"\n[shop.rates]\nGBP = {RATE}\n")
    exposures = pd.DataFrame(
        {"experiment_id": "E1", "variant": list(ARM.values()), "customer_id": list(ARM),
         "ts": "2025-03-01 09:00:00"}
    )  # fmt: skip
    exposures.to_csv(tmp_path / "exposures.csv", index=False)
    _orders().to_csv(tmp_path / "orders.csv", index=False)
    for table in ("exposures", "orders"):
        r = CliRunner().invoke(
            app, ["ingest", table, str(tmp_path / f"{table}.csv"), "--db", str(folder / "cxlab.duckdb")]
        )
        assert r.exit_code == 0, r.output
    return folder / "cxlab.duckdb"


def test_revenue_per_user_converts_gbp_and_leaves_out_usd(shop: Path) -> None:
    r = CliRunner().invoke(
        app, ["experiment", "analyze", "E1", "--metric", "revenue_per_user", "--db", str(shop), "--json"]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    o = _orders()
    o["eur"] = o["revenue"] * o["currency"].map({"EUR": 1.0, "GBP": RATE})  # USD: no rate, NaN → left out
    o["arm"] = o["customer_id"].map(ARM)
    expected = o.groupby("arm")["eur"].sum() / 20  # every exposed customer is a unit, with or without orders
    (metric,) = doc["metrics"]
    got = {v["name"]: v["mean"] for v in metric["variants"]}
    assert got == pytest.approx(expected.to_dict(), rel=1e-12)
    notes = " ".join(doc["notes"])
    assert "revenue metrics in EUR" in notes
    n_gbp, n_usd = int((o["currency"] == "GBP").sum()), int((o["currency"] == "USD").sum())
    assert f"{n_gbp} orders in GBP" in notes and f"converted at 1 GBP = {RATE:g} EUR" in notes
    assert f"{n_usd} orders left out" in notes and "USD" in notes
