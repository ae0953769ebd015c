"""Rule-based attribution: first, last and linear equal ChannelAttribution's ``heuristic_models``; the
others match hand computation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.channels import Paths, attribute
from cxlab.channels import heuristics as H


def ca_heuristics(ca: Any, quiet: Any, df: pd.DataFrame) -> pd.DataFrame:
    out = quiet(
        ca.heuristic_models,
        df,
        "path",
        "total_conversions",
        var_value="total_conversion_value",
        flg_pro=False,
    )
    return out.set_index("channel_name").sort_index()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_last_linear_equal_channelattribution(
    seed: int, ca: Any, quiet: Any, random_paths: Any
) -> None:
    df = random_paths(seed, n=400, channels=7, max_len=9)
    ref = ca_heuristics(ca, quiet, df)
    paths = Paths.from_frame(df)
    assert list(paths.channels) == list(ref.index)
    for ours, theirs in (
        (H.first_touch, "first_touch"),
        (H.last_touch, "last_touch"),
        (H.linear, "linear_touch"),
    ):
        conv, value = ours(paths)
        np.testing.assert_allclose(conv, ref[f"{theirs}_conversions"], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(value, ref[f"{theirs}_value"], rtol=1e-12, atol=1e-7)


path_strategy = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=6)
rows_strategy = st.lists(
    st.tuples(path_strategy, st.integers(0, 5), st.floats(0, 500, allow_nan=False)), min_size=1, max_size=25
)


@settings(max_examples=40, deadline=None)
@given(rows=rows_strategy)
def test_heuristics_equal_channelattribution_on_any_paths(
    ca: Any, quiet: Any, rows: list[tuple[list[str], int, float]]
) -> None:
    df = pd.DataFrame(
        {
            "path": [" > ".join(p) for p, _, _ in rows],
            "total_conversions": [c for _, c, _ in rows],
            "total_conversion_value": [v if c else 0.0 for _, c, v in rows],
        }
    )
    ref = ca_heuristics(ca, quiet, df)
    paths = Paths.from_frame(df)
    for name, theirs in (("first", "first_touch"), ("last", "last_touch"), ("linear", "linear_touch")):
        t = attribute(paths, name).table.set_index("channel").loc[ref.index]
        np.testing.assert_allclose(t["conversions"], ref[f"{theirs}_conversions"], atol=1e-9)
        np.testing.assert_allclose(t["value"], ref[f"{theirs}_value"], atol=1e-7)


def hand() -> Paths:
    return Paths.from_strings(
        ["a > direct > b > direct", "direct > direct", "a > b > c > d > e", "a > b"],
        [1, 2, 4, 1],
        [10.0, 20.0, 40.0, 5.0],
        [0, 1, 0, 3],
    )


def by_channel(paths: Paths, conv: np.ndarray) -> dict[str, float]:
    return {c: round(float(x), 12) for c, x in zip(paths.channels, conv, strict=True) if x}


def test_last_non_direct_skips_trailing_direct_but_keeps_all_direct_journeys() -> None:
    p = hand()
    conv, value = H.last_non_direct(p)
    assert by_channel(p, conv) == {"b": 2.0, "direct": 2.0, "e": 4.0}
    assert by_channel(p, value) == {"b": 15.0, "direct": 20.0, "e": 40.0}


def test_position_based_40_20_40_and_configurable() -> None:
    p = hand()
    conv, _ = H.position_based(p)
    # path 1 (x1): a .4, direct .1+.4, b .1; path 2 (x2): .5/.5 direct; path 3 (x4): a .4, b c d .2/3, e .4
    # path 4 (x1): a .5, b .5
    expected = {
        "a": 0.4 + 4 * 0.4 + 0.5,
        "b": 0.1 + 4 * 0.2 / 3 + 0.5,
        "c": 4 * 0.2 / 3,
        "d": 4 * 0.2 / 3,
        "direct": 0.5 + 2.0,
        "e": 1.6,
    }
    assert by_channel(p, conv) == pytest.approx(expected, abs=1e-12)
    conv, _ = H.position_based(p, first=0.3, last=0.5)
    assert dict(zip(p.channels, conv, strict=True))["a"] == pytest.approx(0.3 + 4 * 0.3 + 0.3 / 0.8)
    with pytest.raises(ValueError, match="position shares"):
        H.position_based(p, first=0.7, last=0.5)


def test_time_decay_by_steps_halves_per_half_life() -> None:
    p = Paths.from_strings(["a > b > c"], [1.0], [8.0])
    conv, value = H.time_decay(p, half_life_touches=1.0)
    np.testing.assert_allclose(conv, np.array([1, 2, 4]) / 7)
    np.testing.assert_allclose(value, np.array([8, 16, 32]) / 7)
    conv2, _ = H.time_decay(p, half_life_touches=2.0)
    w = 2.0 ** (-np.array([2, 1, 0]) / 2)
    np.testing.assert_allclose(conv2, w / w.sum())


def test_every_heuristic_shares_out_exactly_the_conversions_and_value(random_paths: Any) -> None:
    paths = Paths.from_frame(random_paths(9))
    for model in ("first", "last", "last_non_direct", "linear", "position", "time_decay"):
        t = attribute(paths, model).table
        assert t["conversions"].sum() == pytest.approx(paths.total_conversions)
        assert t["value"].sum() == pytest.approx(paths.total_value)
        assert t["share"].sum() == pytest.approx(1.0)
