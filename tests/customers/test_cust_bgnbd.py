"""BG/NBD and MBG/NBD against the published CDNOW results and the peer library lifetimes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from cxlab.customers import BetaGeo, ModifiedBetaGeo
from cxlab.customers.fitting import compress


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> BetaGeo:
    return BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def peer(lf: Any, cdnow: pd.DataFrame) -> Any:
    return lf.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_reproduces_published_cdnow_estimates(fitted: BetaGeo) -> None:
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way", CDNOW cohort, 39 weeks
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert round(fitted.params_[k], 3) == v, k
    assert round(fitted.loglik_, 1) == -9582.4
    assert fitted.n_ == 2357


def test_matches_lifetimes_parameters_and_standard_errors(fitted: BetaGeo, peer: Any) -> None:
    for k in ("r", "alpha", "a", "b"):
        assert fitted.params_[k] == pytest.approx(peer.params_[k], rel=1e-4), k
        assert fitted.se_[k] == pytest.approx(peer.standard_errors_[k], rel=1e-3), k


def test_loglik_is_lifetimes_likelihood_at_the_same_parameters(
    lf: Any, cdnow: pd.DataFrame, fitted: BetaGeo
) -> None:
    p = np.log([fitted.params_[k] for k in ("r", "alpha", "a", "b")])
    x, t, tt = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.ones_like(x)
    mean_nll = lf.BetaGeoFitter._negative_log_likelihood(p, x, t, tt, w, 0.0)
    assert fitted.loglik_ == pytest.approx(-mean_nll * x.size, rel=1e-12)


def test_predictions_match_lifetimes_at_the_same_parameters(
    lf: Any, cdnow: pd.DataFrame, fitted: BetaGeo
) -> None:
    peer = lf.BetaGeoFitter()
    peer.params_ = pd.Series(fitted.params_)
    x, t, tt = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(
        fitted.expected_purchases(39.0, x, t, tt),
        peer.conditional_expected_number_of_purchases_up_to_time(39.0, x, t, tt),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        fitted.probability_alive(x, t, tt), peer.conditional_probability_alive(x, t, tt), rtol=1e-10
    )
    ts = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        fitted.expected_purchases_new(ts), peer.expected_number_of_purchases_up_to_time(ts), rtol=1e-8
    )
    # a customer with no repeat purchase is alive for sure under BG/NBD; one who bought often long ago is not
    assert fitted.probability_alive([0], [0], [30])[0] == 1.0
    assert fitted.probability_alive([10], [2.0], [38.0])[0] < 0.05


def test_compressed_fit_with_weights_matches_lifetimes_on_raw_rows(cdnow: pd.DataFrame, peer: Any) -> None:
    x, t, tt = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    (ux, ut, utt), w = compress(x, t, tt)
    assert ux.size < x.size / 2 and w.sum() == x.size
    m = BetaGeo().fit(ux, ut, utt, weights=w)
    assert m.n_ == x.size and m.n_unique_ == ux.size
    for k in ("r", "alpha", "a", "b"):
        assert m.params_[k] == pytest.approx(peer.params_[k], rel=1e-4)


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo])
def test_analytic_gradient_equals_numerical_gradient(cdnow: pd.DataFrame, model: type[BetaGeo]) -> None:
    x, t, tt = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    nll = model()._objective(x, t / 40, tt / 40, np.ones_like(x))
    for lp in (np.array([-1.2, 0.5, -0.3, 0.9]), np.array([0.3, -1.0, 0.6, -0.4])):
        numeric = approx_fprime(lp, lambda p: nll(p)[0], 1e-7)
        np.testing.assert_allclose(nll(lp)[1], numeric, rtol=1e-5, atol=1e-3)


def test_mbgnbd_matches_lifetimes(lf: Any, cdnow: pd.DataFrame) -> None:
    x, t, tt = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    m = ModifiedBetaGeo().fit(x, t, tt)
    peer = lf.ModifiedBetaGeoFitter().fit(x, t, tt)
    for k in ("r", "alpha", "a", "b"):
        assert m.params_[k] == pytest.approx(peer.params_[k], rel=1e-4), k
    same = lf.ModifiedBetaGeoFitter()
    same.params_ = pd.Series(m.params_)
    np.testing.assert_allclose(
        m.expected_purchases(39.0, x, t, tt),
        same.conditional_expected_number_of_purchases_up_to_time(39.0, x, t, tt),
        rtol=1e-8,
    )
    np.testing.assert_allclose(m.probability_alive(x, t, tt), same.conditional_probability_alive(x, t, tt))
    np.testing.assert_allclose(
        m.expected_purchases_new(np.array([10.0, 39.0])),
        same.expected_number_of_purchases_up_to_time(np.array([10.0, 39.0])),
        rtol=1e-8,
    )
    # unlike BG/NBD, a customer without repeat purchases may already be gone
    assert m.probability_alive([0], [0], [38.0])[0] < 1.0


def test_summary_states_method_n_and_intervals(fitted: BetaGeo) -> None:
    s = fitted.summary()
    assert "BG/NBD" in s and "n = 2,357" in s and "95% CI" in s and "maximum likelihood" in s
    t = fitted.to_frame()
    assert (t["ci_low"] < t["estimate"]).all() and (t["estimate"] < t["ci_high"]).all()


@pytest.mark.parametrize(
    ("x", "t", "tt", "message"),
    [
        ([1.5], [1.0], [2.0], "whole number"),
        ([1], [3.0], [2.0], "recency exceeds T"),
        ([-1], [0], [2], "whole"),
    ],
)
def test_bad_histories_are_refused(x: list[float], t: list[float], tt: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BetaGeo().fit(x, t, tt)


def test_predicting_before_fitting_says_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        BetaGeo().probability_alive([1], [1], [2])
