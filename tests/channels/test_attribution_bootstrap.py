"""Bootstrap intervals for attribution and the attribution result's shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cxlab.channels import MODELS, Paths, attribute
from cxlab.channels.bootstrap import resample


def test_resample_keeps_the_number_of_journeys_and_mean_values(random_paths: Any) -> None:
    p = Paths.from_frame(random_paths(4, n=200))
    r = resample(p, np.random.default_rng(0))
    assert r.journeys.sum() == p.journeys.sum()
    assert not np.array_equal(r.conversions, p.conversions)
    kept = (r.conversions > 0) & (p.conversions > 0)
    np.testing.assert_allclose(r.value[kept] / r.conversions[kept], p.value[kept] / p.conversions[kept])


@pytest.mark.parametrize("model", ["linear", "markov", "shapley"])
def test_intervals_are_reproducible_cover_the_estimate_and_shrink_with_data(
    model: str, random_paths: Any
) -> None:
    p = Paths.from_frame(random_paths(8, n=300, channels=5))
    a = attribute(p, model, bootstrap=60, seed=1).table
    b = attribute(p, model, bootstrap=60, seed=1).table
    c = attribute(p, model, bootstrap=60, seed=2).table
    assert a.equals(b) and not a.equals(c)
    assert (a["conversions_low"] <= a["conversions"]).all() and (
        a["conversions"] <= a["conversions_high"]
    ).all()
    assert (a["value_low"] < a["value_high"]).all()
    big = p.with_counts(p.conversions * 16, p.value * 16, p.nulls * 16)
    t = attribute(big, model, bootstrap=60, seed=1).table.set_index("channel")
    rel_small = ((a["conversions_high"] - a["conversions_low"]) / a["conversions"]).to_numpy()
    rel_big = ((t["conversions_high"] - t["conversions_low"]) / t["conversions"]).loc[a["channel"]].to_numpy()
    # intervals shrink like 1/sqrt(n): 16 times the data gives 1/4 the width (0.19-0.27 over 8 path sets
    # and 3 models); no shrinking (1), 1/n (0.06) or 1/sqrt(n/2) (0.35) all fail
    assert abs(np.median(rel_big / rel_small) - 0.25) < 0.07
    if model == "markov":
        assert (a["removal_effect_low"] <= a["removal_effect"]).all()


def test_result_documents_and_contract_keys(random_paths: Any) -> None:
    p = Paths.from_frame(random_paths(1, n=50))
    for model in MODELS:
        doc = attribute(p, model).to_dict()
        assert doc["model"] == model
        assert {"channel", "conversions", "value", "share"} <= set(doc["channels"][0])
        assert ("removal_effect" in doc["channels"][0]) == (model == "markov")
        assert sum(c["conversions"] for c in doc["channels"]) == pytest.approx(p.total_conversions)
    with pytest.raises(ValueError, match="unknown attribution model"):
        attribute(p, "u_shaped")
    with pytest.raises(ValueError, match="at least 2 replicates"):
        attribute(p, "linear", bootstrap=1)
