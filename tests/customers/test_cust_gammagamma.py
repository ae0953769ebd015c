"""Gamma-Gamma and CLV against the published CDNOW results and lifetimes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from cxlab.customers import BetaGeo, GammaGamma, customer_lifetime_value


@pytest.fixture(scope="module")
def repeaters(cdnow: pd.DataFrame) -> pd.DataFrame:
    return cdnow[cdnow["frequency"] > 0]


@pytest.fixture(scope="module")
def fitted(repeaters: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(repeaters["frequency"], repeaters["monetary_value"])


@pytest.fixture(scope="module")
def peer(lf: Any, repeaters: pd.DataFrame) -> Any:
    return lf.GammaGammaFitter().fit(repeaters["frequency"], repeaters["monetary_value"])


def test_reproduces_published_cdnow_estimates(fitted: GammaGamma) -> None:
    # Fader, Hardie & Lee (2005), "RFM and CLV": p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat buyers
    assert fitted.n_ == 946
    # p and q round to the published values; the likelihood's maximum has v = 15.448 (lifetimes agrees to
    # 1e-8), one unit of the last digit from the published 15.44
    assert round(fitted.params_["p"], 2) == 6.25
    assert round(fitted.params_["q"], 2) == 3.74
    assert fitted.params_["v"] == pytest.approx(15.44, abs=0.01)


def test_matches_lifetimes(fitted: GammaGamma, peer: Any, repeaters: pd.DataFrame) -> None:
    for k in ("p", "q", "v"):
        assert fitted.params_[k] == pytest.approx(peer.params_[k], rel=1e-4), k
        assert fitted.se_[k] == pytest.approx(peer.standard_errors_[k], rel=1e-3), k
    assert fitted.loglik_ == pytest.approx(-peer._negative_log_likelihood_ * len(repeaters), rel=1e-9)


def test_expected_spend_matches_lifetimes(lf: Any, fitted: GammaGamma, cdnow: pd.DataFrame) -> None:
    same = lf.GammaGammaFitter()
    same.params_ = pd.Series(fitted.params_)
    x, m = cdnow["frequency"], cdnow["monetary_value"]
    np.testing.assert_allclose(
        fitted.expected_spend(x, m), same.conditional_expected_average_profit(x, m), rtol=1e-12
    )
    assert fitted.expected_spend([0], [0])[0] == pytest.approx(fitted.mean_spend)


def test_clv_matches_lifetimes(lf: Any, fitted: GammaGamma, cdnow: pd.DataFrame) -> None:
    bg = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    peer_bg = lf.BetaGeoFitter()
    peer_bg.params_ = pd.Series(bg.params_)
    peer_bg.predict = peer_bg.conditional_expected_number_of_purchases_up_to_time
    same = lf.GammaGammaFitter()
    same.params_ = pd.Series(fitted.params_)
    x, t, tt, m = (cdnow[c] for c in ("frequency", "recency", "T", "monetary_value"))
    theirs = same.customer_lifetime_value(peer_bg, x, t, tt, m, time=12, discount_rate=0.01, freq="W")
    ours = customer_lifetime_value(bg, fitted, x, t, tt, m, months=12, discount_rate=0.01, time_unit="week")
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=1e-8)
    # discounting lowers value; a longer horizon raises it
    assert (customer_lifetime_value(bg, fitted, x, t, tt, m, discount_rate=0.05) < ours).all()
    assert (customer_lifetime_value(bg, fitted, x, t, tt, m, months=24) > ours).all()


def test_analytic_gradient_equals_numerical_gradient(repeaters: pd.DataFrame) -> None:
    x, m = repeaters["frequency"].to_numpy(float), repeaters["monetary_value"].to_numpy(float)
    nll = GammaGamma()._objective(x, m / m.mean(), np.ones_like(x))
    for lp in (np.array([1.8, 1.3, 0.0]), np.array([0.5, 0.2, -0.7])):
        numeric = approx_fprime(lp, lambda p: nll(p)[0], 1e-7)
        np.testing.assert_allclose(nll(lp)[1], numeric, rtol=1e-5, atol=1e-3)


def test_needs_repeat_buyers_with_spend() -> None:
    with pytest.raises(ValueError, match="frequency > 0"):
        GammaGamma().fit([0, 2], [10.0, 20.0])
