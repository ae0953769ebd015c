"""CLV models: cxlab vs lifetimes — BG/NBD + Gamma-Gamma fit and prediction on the same customers.

Customers are simulated from BG/NBD and Gamma-Gamma with CDNOW-like parameters, ages of 1 to 78 weeks,
times on a daily clock in weeks (as in the CDNOW summary). Both libraries get the same per-customer arrays
in this process: lifetimes as its users call it (one row per customer); cxlab compresses identical
histories itself. Also shown: lifetimes given the compressed table with weights (its ``weights`` option).

Timed per side: BG/NBD fit, Gamma-Gamma fit on repeat buyers, and predictions for every customer
(expected purchases in 12 weeks, P(alive), 12-month CLV at 1% a month). cxlab runs first, then lifetimes;
the parameters and predictions of the two are compared (max relative difference).

    python bench/clv.py [--sizes 100000 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cxlab.customers import BetaGeo, GammaGamma, customer_lifetime_value
from cxlab.customers.fitting import compress

TRUE_BG = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def simulate(n: int, seed: int) -> pd.DataFrame:
    """frequency, recency, T (weeks, whole days) and monetary_value of ``n`` simulated customers."""
    rng = np.random.default_rng(seed)
    g = TRUE_BG
    lam = rng.gamma(g["r"], 1 / g["alpha"], n)
    p = rng.beta(g["a"], g["b"], n)
    t_days = rng.integers(7, 547, n)
    tt = t_days / 7.0
    k = rng.poisson(lam * tt)  # purchases the Poisson clock offers in (0, T]
    lives = rng.geometric(p)  # repeat purchases until drop-out (inclusive)
    x = np.minimum(k, lives)
    # time of the x-th of k uniform purchase times: the x-th order statistic, Beta(x, k - x + 1)
    frac = np.where(x > 0, rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1)), 0.0)
    rec_days = np.minimum(np.floor(frac * t_days), t_days)
    gg = TRUE_GG
    nu = rng.gamma(gg["q"], 1 / gg["v"], n)
    mean_spend = np.where(x > 0, rng.gamma(gg["p"] * np.maximum(x, 1), 1 / (np.maximum(x, 1) * nu)), 0.0)
    return pd.DataFrame(
        {
            "frequency": x.astype(float),
            "recency": rec_days / 7.0,
            "T": tt,
            "monetary_value": np.round(mean_spend, 2),
        }
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run_cxlab(d: pd.DataFrame) -> dict[str, Any]:
    x, t, tt, m = (d[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    rep = x > 0
    fit_bg, bg = timed(lambda: BetaGeo().fit(x, t, tt))
    fit_gg, gg = timed(lambda: GammaGamma().fit(x[rep], m[rep]))

    def predict() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            bg.expected_purchases(12.0, x, t, tt),
            bg.probability_alive(x, t, tt),
            customer_lifetime_value(bg, gg, x, t, tt, m, months=12, discount_rate=0.01, time_unit="week"),
        )

    pred_s, pred = timed(predict)
    return {
        "fit_bg": fit_bg,
        "fit_gg": fit_gg,
        "predict": pred_s,
        "bg": bg.params_,
        "gg": gg.params_,
        "pred": pred,
    }


def run_lifetimes(d: pd.DataFrame, weighted: bool = False) -> dict[str, Any]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    rep = d[d["frequency"] > 0]
    if weighted:
        (x, t, tt), w = compress(*(d[c].to_numpy() for c in ("frequency", "recency", "T")))
        (gx, gm), gw = compress(rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy())
        fit_bg, bg = timed(lambda: BetaGeoFitter().fit(x, t, tt, weights=w))
        fit_gg, gg = timed(lambda: GammaGammaFitter().fit(gx, gm, weights=gw))
        return {"fit_bg": fit_bg, "fit_gg": fit_gg, "bg": dict(bg.params_), "gg": dict(gg.params_)}
    fit_bg, bg = timed(lambda: BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"]))
    fit_gg, gg = timed(lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]))

    def predict() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f, r, T, m = d["frequency"], d["recency"], d["T"], d["monetary_value"]
        return (
            np.asarray(bg.conditional_expected_number_of_purchases_up_to_time(12.0, f, r, T)),
            np.asarray(bg.conditional_probability_alive(f, r, T)),
            np.asarray(gg.customer_lifetime_value(bg, f, r, T, m, time=12, discount_rate=0.01, freq="W")),
        )

    pred_s, pred = timed(predict)
    return {
        "fit_bg": fit_bg,
        "fit_gg": fit_gg,
        "predict": pred_s,
        "bg": dict(bg.params_),
        "gg": dict(gg.params_),
        "pred": pred,
    }


def max_rel(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] / b[k] - 1) for k in a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    for n in args.sizes:
        d = simulate(n, args.seed)
        _, w = compress(*(d[c].to_numpy() for c in ("frequency", "recency", "T")))
        print(
            f"\n== {n:,} customers ({w.size:,} distinct histories, {int((d.frequency > 0).sum()):,} repeat buyers)"
        )
        ours = run_cxlab(d)
        peer = run_lifetimes(d)
        peer_w = run_lifetimes(d, weighted=True)
        for name, r in (("cxlab", ours), ("lifetimes", peer)):
            total = r["fit_bg"] + r["fit_gg"] + r["predict"]
            print(
                f"{name:>10}: BG/NBD fit {r['fit_bg']:7.2f} s  Gamma-Gamma fit {r['fit_gg']:7.2f} s  "
                f"predict {r['predict']:7.2f} s  total {total:7.2f} s"
            )
        t_ours = ours["fit_bg"] + ours["fit_gg"] + ours["predict"]
        t_peer = peer["fit_bg"] + peer["fit_gg"] + peer["predict"]
        print(
            f"lifetimes with cxlab's compression (weights): BG/NBD fit {peer_w['fit_bg']:.2f} s, "
            f"Gamma-Gamma fit {peer_w['fit_gg']:.2f} s"
        )
        print(f"speed-up (lifetimes / cxlab, fit + predict): {t_peer / t_ours:.1f}x")
        print(
            f"max relative parameter difference: BG/NBD {max_rel(ours['bg'], peer['bg']):.2e}, "
            f"Gamma-Gamma {max_rel(ours['gg'], peer['gg']):.2e}"
        )
        diffs = [float(np.max(np.abs(a / b - 1))) for a, b in zip(ours["pred"], peer["pred"], strict=True)]
        print(
            "max relative prediction difference (E[purchases], P(alive), CLV): "
            + ", ".join(f"{v:.2e}" for v in diffs)
        )
        print(f"planted BG/NBD {TRUE_BG}; cxlab {dict((k, round(v, 4)) for k, v in ours['bg'].items())}")


if __name__ == "__main__":
    main()
