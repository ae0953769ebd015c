"""Journeys built by the engine from a store small enough to check by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from cxlab.channels import JourneyOptions, attribute, build_journeys


def as_dict(paths: Any) -> dict[str, tuple[float, float, float]]:
    t = paths.to_frame()
    return {
        r.path: (r.total_conversions, r.total_conversion_value, r.total_null)
        for r in t.itertuples(index=False)
    }


def test_journeys_cut_by_lookback_previous_purchase_and_visits(shop: Any) -> None:
    paths = build_journeys(shop.ibis())
    assert as_dict(paths) == {
        # a1's social visit counts for c1 (identity stitching); the e-mail *send* is not a touch
        "social_ads > email > direct": (1.0, 50.0, 0.0),
        # after the first purchase only; the sessionless e-mail click is a touch
        "paid_search > email > direct": (1.0, 30.0, 0.0),
        # the display click 50 days earlier is outside the 30-day window
        "paid_search": (1.0, 20.0, 0.0),
        # non-converters: touches within 30 days before their last touch
        "organic_search": (0.0, 0.0, 1.0),
        "social_ads > social_ads": (0.0, 0.0, 1.0),
    }
    assert paths.meta["conversions_without_touches"] == 1
    assert paths.meta["value_without_touches"] == pytest.approx(15.0)


def test_lookback_and_period_options(shop: Any) -> None:
    wide = as_dict(build_journeys(shop.ibis(), JourneyOptions(lookback_days=60)))
    assert wide["display > paid_search"] == (1.0, 20.0, 0.0)
    assert wide["social_ads > organic_search"] == (0.0, 0.0, 1.0)  # 05-01 is 61 days before 07-01
    may = as_dict(
        build_journeys(shop.ibis(), JourneyOptions(start=datetime(2024, 5, 1), end=datetime(2024, 6, 1)))
    )
    assert {k: v for k, v in may.items() if v[0]} == {"social_ads > email > direct": (1.0, 50.0, 0.0)}
    no_nulls = build_journeys(shop.ibis(), JourneyOptions(include_nulls=False))
    assert no_nulls.nulls.sum() == 0 and no_nulls.total_conversions == 3
    with pytest.raises(ValueError, match="lookback"):
        JourneyOptions(lookback_days=0)


def test_time_decay_uses_real_touch_times(shop: Any) -> None:
    paths = build_journeys(shop.ibis())
    t = attribute(paths, "time_decay", half_life_days=7.0).table.set_index("channel")

    def weights(ages_days: list[float]) -> np.ndarray:
        w = 2.0 ** (-np.array(ages_days) / 7.0)
        return w / w.sum()

    five_min = 5 / 1440
    j1 = weights([11 + five_min, 2 + five_min, five_min])  # social, email, direct before the 05-12 10:05 sale
    j2 = weights([19 + 3.5 / 24, 15 + 3.5 / 24, 0.5 / 24])  # paid_search 06-01 09:00, email 06-05, direct
    assert t.loc["social_ads", "conversions"] == pytest.approx(j1[0], rel=1e-9)
    assert t.loc["email", "conversions"] == pytest.approx(j1[1] + j2[1], rel=1e-9)
    assert t.loc["direct", "value"] == pytest.approx(50 * j1[2] + 30 * j2[2], rel=1e-9)
    assert t.loc["paid_search", "conversions"] == pytest.approx(j2[0] + 1.0, rel=1e-9)
    assert t["conversions"].sum() == pytest.approx(3.0)
    # a long half-life tends to linear; positional decay is used when there are no times
    flat = attribute(paths, "time_decay", half_life_days=1e6).table.set_index("channel")["conversions"]
    linear = attribute(paths, "linear").table.set_index("channel")["conversions"]
    assert flat.sort_index().to_numpy() == pytest.approx(linear.sort_index().to_numpy(), abs=1e-5)


def test_efficiency_counts_touches_of_all_journeys(shop: Any) -> None:
    t = attribute(build_journeys(shop.ibis()), "last").table.set_index("channel")
    # social_ads: 1 touch on a converting journey + 2 on a4's; last touch gives it nothing
    assert t.loc["social_ads", ["touches", "journeys", "conversions"]].tolist() == [3.0, 2.0, 0.0]
    assert t.loc["direct", "efficiency"] == pytest.approx(2 / 2)
    assert t.loc["paid_search", "efficiency"] == pytest.approx(1 / 2)
