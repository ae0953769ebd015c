"""On the demo shop, the planted BG/NBD and Gamma-Gamma parameters are recovered within their standard errors.

The demo simulates repeat purchases by BG/NBD in weeks from each customer's first order to the window's end
(exclusive) and every order's revenue by Gamma-Gamma (see ``truth.json``), so the summary uses the same
clock: exact times, in weeks, calibration ending at ``window.end_exclusive``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pytest

from cxlab.customers import BetaGeo, GammaGamma, holdout_check, purchase_summary
from cxlab.demo import generate

PROSPECTS = 40_000  # about 11,700 buyers: standard errors of a few percent


@dataclass(frozen=True)
class Demo:
    truth: dict[str, Any]
    orders: ibis.Table


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo")
    res = generate(out, PROSPECTS, seed=5)
    return Demo(res.truth, ibis.read_parquet(str(out / "data" / "orders" / "*.parquet")))


def test_planted_parameters_are_recovered_within_standard_errors(demo: Demo) -> None:
    assert demo.truth["bgnbd"]["time_unit"] == "weeks"
    end = demo.truth["window"]["end_exclusive"]
    s = purchase_summary(demo.orders, end.replace("T", " "), exact=True, time_unit="week")
    f = s.frame
    assert len(f) > 10_000
    bg = BetaGeo().fit(f["frequency"], f["recency"], f["T"])
    rep = f[f["frequency"] > 0]
    gg = GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    for model, key in ((bg, "bgnbd"), (gg, "gamma_gamma")):
        for name, value in model.params_.items():
            planted = demo.truth[key][name]
            z = (value - planted) / model.se_[name]
            assert abs(z) < 3, f"{key}.{name}: {value:.4g} vs planted {planted} ({z:+.2f} SE)"
            # and the standard errors are informative: a few percent, not a shrug
            assert model.se_[name] / value < 0.15, f"{key}.{name}"


def test_holdout_purchases_are_predicted(demo: Demo) -> None:
    s = purchase_summary(
        demo.orders, "2025-06-30", observation_end="2025-12-31", exact=True, time_unit="week"
    )
    f = s.frame
    bg = BetaGeo().fit(f["frequency"], f["recency"], f["T"])
    check = holdout_check(
        bg, f["frequency"], f["recency"], f["T"], f["frequency_holdout"], f["duration_holdout"].iloc[0]
    )
    assert check.duration == pytest.approx(184 / 7)  # 2025-07-01 to 2026-01-01
    assert abs(check.relative_error) < 0.08, check.summary()
    t = check.to_frame()
    assert t["customers"].sum() == len(f)
    # group by group where there are enough customers to tell, and heavy buyers stay heavy buyers
    big = t[t["customers"] >= 300]
    assert len(big) >= 4
    assert ((big["predicted"] - big["actual"]).abs() / big["actual"] < 0.15).all(), t.to_string()
    assert (
        t["actual"].iloc[-1] > 3 * t["actual"].iloc[0]
        and t["predicted"].iloc[-1] > 3 * t["predicted"].iloc[0]
    )
    assert len(check.figure().data) == 2
