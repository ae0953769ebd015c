"""Lagging detection against statsmodels: the z-test, the Holm adjustment and the Newcombe interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from cxlab.channels import find_lagging


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel": ["a", "b", "c", "d", "e"],
            "successes": [50, 48, 20, 55, 47],
            "trials": [1000, 1000, 1000, 1050, 980],
            "aov": [80.0, 90.0, 100.0, 70.0, 60.0],
        }
    )


def test_matches_statsmodels() -> None:
    t = table()
    res = find_lagging(t, value_per_success="aov").table
    x, n = t["successes"].to_numpy(), t["trials"].to_numpy()
    p_ref = []
    for i in range(len(t)):
        px, pn = x.sum() - x[i], n.sum() - n[i]
        z, p = proportions_ztest([x[i], px], [n[i], pn], alternative="smaller")
        assert res["z"][i] == pytest.approx(z, rel=1e-10)
        assert res["p_value"][i] == pytest.approx(p, rel=1e-8, abs=1e-300)
        lo, hi = confint_proportions_2indep(x[i], n[i], px, pn, method="newcomb", compare="diff")
        assert (res["difference_low"][i], res["difference_high"][i]) == pytest.approx((lo, hi), rel=1e-9)
        p_ref.append(p)
    np.testing.assert_allclose(res["p_adjusted"], multipletests(p_ref, method="holm")[1], rtol=1e-9)
    assert res["lagging"].tolist() == [False, False, True, False, False]
    c = res.iloc[2]
    peer = (x.sum() - 20) / (n.sum() - 1000)
    assert c["rank"] == 1 and c["gap"] == pytest.approx((peer - 0.02) * 1000)
    assert c["gap_value"] == pytest.approx(c["gap"] * 100.0)


def test_peers_min_trials_and_correction() -> None:
    t = table()
    res = find_lagging(t, peers={"c": ["e"], "a": ["b"]}, min_trials=900)
    r = res.table.set_index("channel")
    assert r.loc["c", "peer_rate"] == pytest.approx(47 / 980)
    assert np.isnan(r.loc["e", "p_value"])  # e has no peers
    assert np.isnan(r.loc["b", "p_value"])  # nor b
    assert np.isnan(find_lagging(t, min_trials=1001).table.set_index("channel").loc["a", "p_value"])
    bonferroni = find_lagging(t, correction="bonferroni").table
    np.testing.assert_allclose(bonferroni["p_adjusted"], np.minimum(bonferroni["p_value"] * 5, 1.0))
    assert res.lagging == ["c"]
    assert "c" in res.summary() and res.to_dict()["lagging"] == ["c"]


def test_nothing_lags_when_all_are_alike() -> None:
    t = pd.DataFrame({"channel": list("abcdef"), "successes": [50] * 6, "trials": [1000] * 6})
    assert find_lagging(t).lagging == []
    with pytest.raises(ValueError, match="between 0 and"):
        find_lagging(t.assign(successes=[2000] * 6))
