"""Channels on Spark: performance (visits, conversion, spend, currency conversion, trend, lagging), the
journeys built in the engine, and every attribution model on them give the same results on the Spark store
as on the DuckDB store they were exported from (as ``cxlab channels …`` calls them).

One test item with a subtest per group: the Spark session and the demo store are shared by every test in this
folder (see ``conftest.py``), and each Spark query costs seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cxlab.channels.attribution import MODELS, Options, attribute, compare_models
from cxlab.channels.journeys import JourneyOptions, build_journeys
from cxlab.channels.performance import channel_performance
from cxlab.config import Config
from tests.spark.parity import same


def in_dollars(config: Config) -> Config:
    """``config`` reporting in USD, with a rate for the demo's EUR orders: every amount is converted, so
    purchases are priced from their orders (the JSON ``order_id`` in the events' properties)."""
    shop = config.shop.model_copy(update={"currency": "USD", "rates": {"EUR": 1.1}})
    return config.model_copy(update={"shop": shop})


def test_channels_same_on_spark(duck: Any, spark: Any, subtests: pytest.Subtests) -> None:
    d, s, cfg = duck.ibis(), spark.ibis(), duck.config

    with subtests.test("performance by channel, with spend"):
        a = channel_performance(d, cfg).to_dict()
        same(a, channel_performance(s, cfg).to_dict())
        paid = [r for r in a["rows"] if r["cost"] is not None and r["cost"] > 0]
        assert a["spend"] and len(paid) >= 3 and len(a["rows"]) > len(paid)  # paid and unpaid channels
        assert a["derived_sessions"] > 0 and a["trend"]["rows"]  # sessionised events, a monthly trend

    with subtests.test("performance by campaign, in another currency, weekly, per visitor"):
        kw: dict[str, Any] = {"by": "campaign", "freq": "week", "unit": "visitor"}
        usd = in_dollars(cfg)
        a = channel_performance(d, usd, **kw).to_dict()
        same(a, channel_performance(s, usd, **kw).to_dict())
        assert a["currency"] == "USD" and any("converted" in n for n in a["notes"])
        eur = channel_performance(d, cfg, **kw).to_dict()
        assert sum(r["revenue"] for r in a["rows"]) == pytest.approx(
            1.1 * sum(r["revenue"] for r in eur["rows"])
        )

    with subtests.test("journeys and attribution"):
        a_paths = build_journeys(d, JourneyOptions(), cfg)
        b_paths = build_journeys(s, JourneyOptions(), cfg)
        same(a_paths.to_frame(), b_paths.to_frame(), "paths")
        same(a_paths.meta, b_paths.meta, "meta")
        assert a_paths.n_paths > 50 and a_paths.total_conversions > 100 and a_paths.nulls.sum() > 0
        for model in MODELS:  # time decay reads the engine again (real times between touches)
            same(
                attribute(a_paths, model, Options()).to_dict(),
                attribute(b_paths, model, Options()).to_dict(),
                model,
            )
        same(
            compare_models(a_paths, options=Options(order=2)),
            compare_models(b_paths, options=Options(order=2)),
        )
        boot = {"bootstrap": 20, "seed": 1}
        same(
            attribute(a_paths, "markov", Options(), **boot).to_dict(),
            attribute(b_paths, "markov", Options(), **boot).to_dict(),
        )

    with subtests.test("journeys in a period, a short lookback, in another currency"):
        o = JourneyOptions(lookback_days=3.5, start=datetime(2024, 6, 1), end=datetime(2025, 6, 1))
        usd = in_dollars(cfg)
        a_paths, b_paths = build_journeys(d, o, usd), build_journeys(s, o, usd)
        same(a_paths.to_frame(), b_paths.to_frame(), "paths")
        same(a_paths.meta, b_paths.meta, "meta")
        assert 0 < a_paths.total_conversions < build_journeys(d, JourneyOptions(), cfg).total_conversions / 2
        assert a_paths.meta["currency"] == "USD"
