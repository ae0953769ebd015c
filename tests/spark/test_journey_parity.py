"""Journey analyses on Spark: the map, the stage funnel, funnels, paths, retention and strengths & weaknesses
give the same results (``to_dict()``: every count, rate, interval, quantile, label and their order) on the
Spark store as on the DuckDB store they were exported from.

One test item with a subtest per analysis: the Spark session and the demo store are shared by every test in
this folder (see ``conftest.py``), and each Spark query costs seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from cxlab.config import Config
from cxlab.journey import Exclusion, Step, funnel, journey_map, paths, retention, stage_funnel, swot
from tests.spark.parity import same

Run = Callable[[Any, Config], Any]
CASES: dict[str, Run] = {
    "map": lambda c, cfg: journey_map(c, cfg),
    "map by channel": lambda c, cfg: journey_map(c, cfg, by="channel"),
    "map by segment": lambda c, cfg: journey_map(c, cfg, by="segment"),
    "stage funnel": lambda c, cfg: stage_funnel(c, cfg),
    "funnel ordered, by channel": lambda c, cfg: funnel(
        c, cfg, ["page_view", "add_to_cart", "purchase"], "7d", by="channel"
    ),
    "funnel ordered, sessions, touchpoint and event steps": lambda c, cfg: funnel(
        c, cfg, ["touchpoint:product_page", "add_to_cart|quantity=1", "purchase"], "2d", unit="sessions"
    ),
    "funnel strict, sessions": lambda c, cfg: funnel(
        c, cfg, ["page_view", "view_item", "add_to_cart"], "1h", order="strict", unit="sessions"
    ),
    "funnel any order": lambda c, cfg: funnel(c, cfg, ["add_to_cart", "checkout", "purchase"], "2d", order="any"),
    "funnel touchpoints, properties, exclusion": lambda c, cfg: funnel(
        c,
        cfg,
        ["touchpoint:product_page", "add_to_cart|quantity=1", "checkout|checkout_version=one_page", "purchase"],
        "7d",
        exclusions=[Exclusion(Step("page_view"), after=2)],
    ),
    "paths from a touchpoint": lambda c, cfg: paths(c, cfg, start="site", depth=4),
    "paths to an event, sessions, loops kept": lambda c, cfg: paths(
        c, cfg, end="purchase", node="event", depth=3, collapse_loops=False, unit="sessions"
    ),
    "retention by month": lambda c, cfg: retention(c, cfg, period="month"),
    "retention by week and channel": lambda c, cfg: retention(c, cfg, period="week", by="channel"),
    "swot": lambda c, cfg: swot(c, cfg),
}  # fmt: skip


def test_journey_analyses_same_on_spark(duck: Any, spark: Any, subtests: pytest.Subtests) -> None:
    d, s, cfg = duck.ibis(), spark.ibis(), duck.config
    expected = {name: run(d, cfg).to_dict() for name, run in CASES.items()}
    for name, run in CASES.items():
        with subtests.test(name):
            same(expected[name], run(s, cfg).to_dict(), name)
    _not_trivial(expected)


def _not_trivial(r: dict[str, Any]) -> None:
    """The cases exercise what they are meant to: people at every step, ties to break, findings to rank."""
    rows = r["map"]["rows"]
    assert len(rows) > 10 and all(x["people"] > 0 for x in rows)
    assert any(x["median_hours"] is not None and 0 < x["median_hours"] < 1 for x in rows)  # sub-hour times
    assert len(r["map"]["flows"]) > 3
    assert len({x["breakdown"] for x in r["map by channel"]["rows"]}) > 3
    assert {x["breakdown"] for x in r["map by segment"]["rows"]} >= {"non-buyer", "one-time buyer"}
    assert r["stage funnel"]["stages"][-1]["people"] > 0
    f = r["funnel touchpoints, properties, exclusion"]
    assert 0 < f["steps"][-1]["customers"] < f["steps"][0]["customers"]
    assert f["steps"][1]["customers"] > 0 and f["steps"][2]["customers"] > 0  # the property filters match
    assert len(r["paths from a touchpoint"]["paths"]) > 3
    assert len(r["paths to an event, sessions, loops kept"]["paths"]) >= 3
    assert r["swot"]["comparisons"] > 10 and r["swot"]["places"]


def test_same_compares_all_the_way_down() -> None:
    same({"a": [1, 2.0, None, "x"]}, {"a": [1, 2.0 + 1e-13, float("nan"), "x"]})
    frame = pd.DataFrame({"a": [1.0, None], "b": ["x", "y"]})
    same(frame, frame.assign(a=[1.0 + 1e-12, float("nan")]))
    for other in ({"a": [1, 2.1, None, "x"]}, {"a": [1, 2.0, 0.0, "x"]}, {"a": [1, 2.0, None]}, {"b": []}):
        with pytest.raises(AssertionError):
            same({"a": [1, 2.0, None, "x"]}, other)
    for changed in (frame.assign(b=["x", "z"]), frame[["b", "a"]], frame.assign(a=[1.0, 0.0])):
        with pytest.raises(AssertionError):
            same(frame, changed)
