"""Customers on Spark: the engine computes the per-customer summaries (purchase histories, RFM, persona
features), the models (MBG/NBD, BG/NBD, Pareto/NBD, Gamma-Gamma, k-means) fit in process on them, and every
result equals the DuckDB store's; so does ``cxlab customers …`` over ``spark://local[2]?tables=DIR``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.currency import shop_orders
from cxlab.customers import purchase_summary
from cxlab.customers.lifetime import fit_models
from cxlab.customers.value import MODELS
from tests.spark.conftest import Lake
from tests.spark.parity import same

CAL_END, HOLD_END = "2025-06-30", "2025-12-31"
CLOCKS: dict[str, dict[str, Any]] = {
    "weeks with a holdout": {"observation_end": HOLD_END},
    "exact days": {"period": "day", "exact": True, "observation_end": HOLD_END},
    "days in weeks": {"period": "day", "time_unit": "week"},
}


def test_customers_same_on_spark(lake: Lake, duck: Any, spark: Any, subtests: pytest.Subtests) -> None:
    d, s = duck.ibis(), spark.ibis()
    od, os_ = shop_orders(d, duck.config).table, shop_orders(s, spark.config).table
    for clock, kw in CLOCKS.items():
        with subtests.test("purchase summary and the models fitted on it", clock=clock):
            a = purchase_summary(od, CAL_END, **kw).frame
            b = purchase_summary(os_, CAL_END, **kw).frame
            # exact to the last bit: values are summed as decimals, so no engine's order of addition shows
            pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=False)
            assert len(a) > 40 and (a["frequency"] > 0).sum() > 20 and a["monetary_value"].max() > 0
            for model in MODELS:
                fa, fb = fit_models(a, model), fit_models(b, model)
                same([f.to_dict() for f in fa if f is not None], [f.to_dict() for f in fb if f is not None])

    with subtests.test("times to the millisecond"):
        tx = pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "b", "b"],
                "ts": pd.to_datetime(
                    [
                        "2025-01-01 10:00:00.250",
                        "2025-01-03 09:30:00.999",
                        "2025-02-01 00:00:00.5",
                        "2025-01-02 12:00:00.125",
                        "2025-01-20 12:00:00.875",
                    ]
                ),
                "revenue": [10.1, 20.2, 30.3, 5.05, 7.07],
            }
        )
        on_spark = s.create_view("cxlab_test_subsecond", ibis.memtable(tx), overwrite=True)
        kw = {"period": "day", "exact": True, "observation_end": "2025-03-01"}
        a = purchase_summary(ibis.memtable(tx), "2025-01-31 12:00:00.5", **kw).frame
        b = purchase_summary(on_spark, "2025-01-31 12:00:00.5", **kw).frame
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=False)
        assert a["recency"].tolist()[0] == pytest.approx(
            (datetime(2025, 1, 3, 9, 30, 0, 999000) - datetime(2025, 1, 1, 10, 0, 0, 250000)).total_seconds()
            / 86_400
        )

    docs: dict[str, Any] = {}
    for args in (
        ["customers", "rfm", "--compare", "2025-01-01", "--json"],
        ["customers", "clv", "--json"],
        ["customers", "churn", "--json"],
        ["customers", "personas", "--json"],
    ):
        name = " ".join(args)
        with subtests.test("cli", args=name):
            docs[name] = expected = _cli([*args, "--db", str(lake.db)])
            same(expected, _cli([*args, "--db", lake.spark_url]), name)
    # not trivially equal: segments with customers, customers moving, fitted models, a ranking, personas
    rfm = docs["customers rfm --compare 2025-01-01 --json"]
    assert sum(seg["customers"] > 0 for seg in rfm["segments"]) >= 4 and rfm["movement"]["moves"]
    assert docs["customers churn --json"]["top"][0]["value_at_risk"] > 0
    assert len(docs["customers personas --json"]["personas"]) >= 3


def _cli(args: list[str]) -> Any:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, f"{args}: exit {res.exit_code}: {res.output}"
    return json.loads(res.stdout)
