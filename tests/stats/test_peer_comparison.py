"""The shared peer comparison against trusted references: statsmodels (Newcombe interval, score test) and scipy
(Welch), the peer definitions (groups, an explicit mapping, min_n) and the leave-one-out peer medians."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import proportion as smp

from cxlab.stats.peers import compare_with_peers, peer_medians


def units() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e", "f", "g"],
            "group": ["x", "x", "x", "x", "y", "y", "y"],
            "n": [1000, 800, 1200, 40, 500, 30, 650],
            "total": [50, 48, 20, 0, 480, 30, 600],  # near 0 and near 1, where Wald intervals fail
        }
    )


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels' odds ratio at p = 1
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_proportions_match_statsmodels_newcombe_and_score_test(level: float) -> None:
    t = units()
    res = compare_with_peers(t, kind="proportion", level=level)
    for i, r in res.iterrows():
        peers = t[(t["group"] == r["group"]) & (t.index != i)]
        x2, n2 = peers["total"].sum(), peers["n"].sum()
        lo, hi = smp.confint_proportions_2indep(
            r["total"], r["n"], x2, n2, method="newcomb", compare="diff", alpha=1 - level
        )
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-9, abs=1e-12)
        ref = smp.test_proportions_2indep(r["total"], r["n"], x2, n2, method="score", correction=False)
        assert r["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
        assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
        assert r["ci_low"] <= r["diff"] <= r["ci_high"]
        assert r["peer_value"] == pytest.approx(x2 / n2) and r["peers"] == len(peers)
        wlo, whi = stats.binomtest(int(r["total"]), int(r["n"])).proportion_ci(level, method="wilson")
        assert (r["value_low"], r["value_high"]) == pytest.approx((wlo, whi), rel=1e-9, abs=1e-12)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("alternative", ["smaller", "larger"])
def test_one_sided_tests(alternative: str) -> None:
    t = units()
    two = compare_with_peers(t, kind="proportion")
    one = compare_with_peers(t, kind="proportion", alternative=alternative)  # type: ignore[arg-type]
    for i, r in one.iterrows():
        peers = t[(t["group"] == r["group"]) & (t.index != i)]
        ref = smp.test_proportions_2indep(
            r["total"], r["n"], peers["total"].sum(), peers["n"].sum(), method="score", correction=False,
            alternative=alternative,
        )  # fmt: skip
        assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
    np.testing.assert_allclose(one["ci_low"], two["ci_low"])  # the interval stays two-sided


def test_means_match_scipy_welch() -> None:
    rng = np.random.default_rng(5)
    samples = [rng.gamma(2.0, s, size=k) for s, k in ((10, 300), (12, 250), (9, 400), (30, 120))]
    frame = pd.DataFrame(
        {
            "group": "all",
            "n": [len(a) for a in samples],
            "total": [a.sum() for a in samples],
            "sq": [(a * a).sum() for a in samples],
        }
    )
    res = compare_with_peers(frame, kind="mean", total_sq="sq")
    for i, r in res.iterrows():
        a = samples[i]
        b = np.concatenate([s for k, s in enumerate(samples) if k != i])
        ref = stats.ttest_ind(a, b, equal_var=False)
        assert r["statistic"] == pytest.approx(ref.statistic, rel=1e-8)
        assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-7)
        ci = ref.confidence_interval(0.95)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-8)
        pooled_sd = np.sqrt(
            ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
        )
        assert r["effect_size"] == pytest.approx((a.mean() - b.mean()) / pooled_sd, rel=1e-8)
        own = stats.t.interval(0.95, len(a) - 1, a.mean(), stats.sem(a))
        assert (r["value_low"], r["value_high"]) == pytest.approx(own, rel=1e-9)


def test_peer_mapping_equals_groups_and_allows_any_relation() -> None:
    t = units()
    by_group = compare_with_peers(t, kind="proportion", min_n=35)
    mapping = {
        g: list(t.loc[(t["group"] == grp) & (t["name"] != g), "name"])
        for g, grp in zip(t["name"], t["group"], strict=True)
    }
    by_map = compare_with_peers(t.drop(columns="group"), kind="proportion", peers=mapping, min_n=35)
    cols = [
        "peer_value",
        "peers",
        "peer_n",
        "peer_median",
        "diff",
        "ci_low",
        "ci_high",
        "p_value",
        "money_at_stake",
    ]
    pd.testing.assert_frame_equal(by_group[cols], by_map[cols])
    # f (n=30 < min_n) takes no part: not tested, not a peer
    r = by_group.set_index("name")
    assert np.isnan(r.loc["f", "p_value"]) and r.loc["e", "peer_n"] == 650 and r.loc["e", "peers"] == 1
    # an asymmetric relation: c against e only; a name without peers is not tested
    odd = compare_with_peers(t, kind="proportion", peers={"c": ["e", "c", "zz"]}).set_index("name")
    assert odd.loc["c", "peer_value"] == pytest.approx(480 / 500) and odd.loc["c", "peers"] == 1
    assert np.isnan(odd.loc["a", "p_value"]) and odd.loc["a", "peers"] == 0
    with pytest.raises(ValueError, match="unique"):
        compare_with_peers(pd.concat([t, t]), kind="proportion", peers={"a": ["b"]})
    with pytest.raises(ValueError, match="between 0 and"):
        compare_with_peers(t.assign(total=t["n"] + 1), kind="proportion")
    with pytest.raises(ValueError, match="total_sq"):
        compare_with_peers(t, kind="mean")


def test_money_at_stake_is_the_gap_to_the_peer_median() -> None:
    t = pd.DataFrame({"group": "g", "n": [1000, 1000, 1000, 1000], "total": [100, 120, 130, 60]})
    res = compare_with_peers(t, kind="proportion", value_per_unit=np.array([1.0, 1.0, 1.0, 50.0]))
    # the weak one (6%): the median of the others is 12%, 6 pp × 1,000 × 50
    assert res["peer_median"].iloc[3] == pytest.approx(0.12)
    assert res["money_at_stake"].iloc[3] == pytest.approx(0.06 * 1000 * 50)


def test_peer_medians_match_a_brute_force_loop() -> None:
    rng = np.random.default_rng(1)
    groups = rng.choice(list("abcdefg"), size=300)
    values = rng.normal(size=300).round(1)  # ties
    values[rng.random(300) < 0.2] = np.nan
    got = peer_medians(groups, values)
    want = np.full(300, np.nan)
    for i in range(300):
        others = values[(groups == groups[i]) & (np.arange(300) != i)]
        if np.isfinite(others).any():
            want[i] = np.nanmedian(others)
    np.testing.assert_allclose(got, want, equal_nan=True)
    assert np.isnan(peer_medians(np.array(["a", "b"]), np.array([1.0, 2.0]))).all()  # alone: no peers
