"""Customers whose first purchase is at the calibration end (T = 0) and degenerate fits (issue 12, points 7-8).

T = 0 customers carry no information (likelihood 1 in every model): they are left out of the fit, which then
equals lifetimes' fit without them, and are predicted as new customers. A fit whose likelihood is flat in a
parameter (no drop-out in the data) is flagged, and no JSON document holds NaN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cxlab.customers import BetaGeo, ConvergenceError, GammaGamma, ModifiedBetaGeo, ParetoNBD
from cxlab.customers.cli import app as customers_app

NEW = 40

root = typer.Typer()
root.add_typer(customers_app, name="customers")


def strict_json(text: str) -> Any:
    """Parse JSON, refusing NaN and Infinity (which standard JSON parsers reject)."""

    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def with_new(cdnow: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t, tt = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    zeros = np.zeros(NEW)
    return np.r_[x, zeros], np.r_[t, zeros], np.r_[tt, zeros]


@pytest.mark.parametrize(
    ("model", "peer"), [(BetaGeo, "BetaGeoFitter"), (ModifiedBetaGeo, "ModifiedBetaGeoFitter")]
)
def test_t0_customers_are_left_out_of_the_fit_like_lifetimes_without_them(
    lf: Any, cdnow: pd.DataFrame, model: type[BetaGeo], peer: str
) -> None:
    x, t, tt = with_new(cdnow)
    m = model().fit(x, t, tt)
    ref = getattr(lf, peer)().fit(*(cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T")))
    for k in ("r", "alpha", "a", "b"):
        assert m.params_[k] == pytest.approx(ref.params_[k], rel=1e-5), k
    assert (m.n_, m.n_new_) == (2357, NEW)
    assert f"{NEW} customers whose first purchase is at the end of calibration (T = 0)" in m.summary()
    # predicted as new customers, with the model's own formulas (lifetimes' at the same parameters)
    same = getattr(lf, peer)()
    same.params_ = pd.Series(m.params_)
    zero = np.zeros(1)
    np.testing.assert_allclose(
        m.probability_alive(zero, zero, zero), same.conditional_probability_alive(0, 0, 0)
    )
    np.testing.assert_allclose(
        m.expected_purchases(39.0, zero, zero, zero), m.expected_purchases_new(39.0), rtol=1e-10
    )
    np.testing.assert_allclose(
        m.expected_purchases_new(39.0), same.expected_number_of_purchases_up_to_time(39.0), rtol=1e-8
    )


def test_pareto_nbd_predicts_t0_customers_as_new(cdnow: pd.DataFrame) -> None:
    x, t, tt = with_new(cdnow)
    m = ParetoNBD().fit(x, t, tt)
    assert m.n_new_ == NEW and m.n_ == 2357
    zero = np.zeros(1)
    assert m.probability_alive(zero, zero, zero)[0] == 1.0
    assert m.expected_purchases(39.0, zero, zero, zero)[0] == pytest.approx(
        float(m.expected_purchases_new(39.0))
    )


def test_remaining_history_errors_name_the_customer_and_a_fix() -> None:
    with pytest.raises(
        ValueError, match=r"customer in row 2 \(frequency 2, recency 0, T 0\).*repeats can only"
    ):
        BetaGeo().fit([1, 2], [1.0, 0.0], [3.0, 0.0])
    with pytest.raises(ValueError, match=r"customer in row 1 .*recency exceeds T.*cut the history"):
        BetaGeo().fit([1], [3.0], [2.0])
    with pytest.raises(ValueError, match="every customer's first purchase is at the end of calibration"):
        BetaGeo().fit([0, 0], [0.0, 0.0], [0.0, 0.0])


def _transactions(path: Path) -> Path:
    """A shop's invoices: regular buyers, some of them churned, and 5 customers whose first purchase is on the
    last day (whatever the clock, their T is 0)."""
    rng = np.random.default_rng(7)
    rows = []
    start = pd.Timestamp("2023-01-02")
    for c in range(400):
        first = start + pd.Timedelta(days=int(rng.integers(0, 300)))
        life = pd.Timedelta(days=int(rng.exponential(150)))
        gap = rng.gamma(1.5, 25)  # mean days between purchases, different for each customer
        day = first
        while day <= min(first + life, pd.Timestamp("2023-12-31")):
            rows.append((f"C{c}", f"{day:%Y-%m-%d}", round(float(rng.gamma(4, 10)), 2)))
            day += pd.Timedelta(days=int(rng.exponential(gap)) + 1)
    rows += [(f"N{i}", "2023-12-31", 20.0) for i in range(5)]
    pd.DataFrame(rows, columns=["customer", "day", "amount"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("period", ["week", "day"])
def test_clv_fit_transactions_with_new_customers(tmp_path: Path, period: str) -> None:
    f = _transactions(tmp_path / "tx.csv")
    r = CliRunner().invoke(
        root,
        ["customers", "clv", "fit", "--transactions", str(f), "--customer-col", "customer", "--date-col", "day",
         "--value-col", "amount", "--calibration-end", "2023-12-31", "--period", period, "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = strict_json(r.stdout)
    fit = doc["mbgnbd"]
    assert fit["n_new"] >= 5 and fit["n"] + fit["n_new"] == doc["data"]["customers"]
    assert fit["degenerate"] is False and doc["gamma_gamma"]["n"] > 100


def no_dropout_summary() -> pd.DataFrame:
    """Customers who buy as a Poisson process and never leave: the data determine no drop-out."""
    rng = np.random.default_rng(3)
    n = 400
    tt = rng.uniform(10, 52, n)
    x = rng.poisson(0.3 * tt)
    t = np.where(x > 0, tt * rng.beta(x + 1, 1), 0.0)  # last of x uniform purchase times in (0, T)
    return pd.DataFrame({"frequency": x, "recency": np.round(t, 4), "T": np.round(tt, 4)})


def test_a_fit_without_dropout_is_flagged_degenerate(tmp_path: Path) -> None:
    s = no_dropout_summary()
    m = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    assert m.degenerate and m.degenerate_reason_ is not None
    assert "do not determine a, b" in m.degenerate_reason_
    assert "Warning: degenerate fit" in m.summary()
    f = tmp_path / "s.csv"
    s.to_csv(f, index=False)
    r = CliRunner().invoke(
        root, ["customers", "clv", "fit", "--summary", str(f), "--model", "bgnbd", "--json"]
    )
    assert r.exit_code == 0, r.stderr
    doc = strict_json(r.stdout)  # the undefined standard errors are null, never NaN
    assert doc["bgnbd"]["degenerate"] is True and "do not determine" in doc["bgnbd"]["degenerate_reason"]
    se, a = doc["standard_errors"]["bgnbd"]["a"], doc["bgnbd"]["a"]
    assert se is None or se > 100 * a  # undefined (null, never NaN) or huge


def test_a_regular_fit_is_not_flagged(cdnow: pd.DataFrame) -> None:
    m = ModifiedBetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert not m.degenerate and m.to_dict()["degenerate_reason"] is None


def test_p_alive_about_one_for_everyone_is_flagged(cdnow: pd.DataFrame) -> None:
    from cxlab.customers.lifetime import fit_warning

    m = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    reason = fit_warning(m, pd.Series([0.995, 1.0, 0.999]))
    assert reason is not None and reason.startswith("degenerate fit: P(alive) >= 0.99 for every customer")
    assert fit_warning(m, pd.Series([0.5, 1.0])) is None


def test_spend_without_heterogeneity_is_flagged_not_a_crash() -> None:
    rng = np.random.default_rng(1)
    x = 1 + rng.poisson(4, 60)
    m = np.array([rng.gamma(3, 60, k).mean() for k in x])  # every customer spends alike: q, v -> infinity
    g = GammaGamma().fit(x, m)
    assert g.degenerate and g.degenerate_reason_ is not None and "q, v" in g.degenerate_reason_
    assert g.mean_spend == pytest.approx(m.mean(), rel=0.05)


def _gg_flag(x: np.ndarray, m: np.ndarray) -> bool | str:
    try:
        return GammaGamma().fit(x, m).degenerate
    except ConvergenceError:
        return "no maximum"


def test_spend_without_heterogeneity_is_flagged_on_shop_sized_data_and_real_heterogeneity_is_not() -> None:
    """100 customers with the same spend distribution (q, v drift off together): flagged in 14 of these 20
    shops (11 with a flatness bound of 25 on the log-variance); 300 customers whose mean spend differs: none."""
    same, differ = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        x = 1 + rng.poisson(2, 100)
        same.append(_gg_flag(x, np.array([rng.gamma(4, 10, k).mean() for k in x])))
        rng = np.random.default_rng(seed)
        x = 1 + rng.poisson(2, 300)
        rate = rng.gamma(6, 1 / 15, 300)
        differ.append(
            _gg_flag(x, np.array([rng.gamma(4, 1 / r, k).mean() for k, r in zip(x, rate, strict=True)]))
        )
    assert same.count(True) >= 14
    assert differ.count(True) == 0 and differ.count("no maximum") == 0
