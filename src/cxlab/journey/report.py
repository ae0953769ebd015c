"""The journey's sections of the report, one analysis each: stage funnel, map, funnel, paths, retention,
strengths & weaknesses. A section that can't run on the store raises :class:`cxlab.errors.MissingData`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.display import count, interval, money, number, pct
from cxlab.errors import MissingData, require_rows
from cxlab.journey.funnels import funnel
from cxlab.journey.journey_map import journey_map
from cxlab.journey.paths import paths
from cxlab.journey.retention import retention
from cxlab.journey.stages import stage_funnel
from cxlab.journey.swot import Swot, swot
from cxlab.report.section import Section
from cxlab.store import Store
from cxlab.voice.themes import touchpoint_evidence

DEMO_FUNNEL = ("page_view", "view_item", "add_to_cart", "checkout", "purchase")
PATHS_FROM = "cart"


def stages_section(store: Store) -> Section:
    """People reaching each journey stage (Wilson intervals)."""
    res = stage_funnel(store.ibis(), store.config)
    t = res.to_frame()
    shown = pd.DataFrame(
        {
            "stage": t["stage"],
            "people": t["people"].map(count),
            "share of all": t["share_of_all"].map(pct),
            "reached from previous stage": t["rate_from_previous"].map(pct),
            "95% CI": [interval(lo, hi) for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
        }
    )
    return Section("stages", "Journey stage funnel", res.summary(), [res.figure()], shown)


def map_section(store: Store) -> Section:
    """Stage × touchpoint: people, share reaching the next stage, time to it, revenue of those people."""
    m = journey_map(store.ibis(), store.config)
    t = m.to_frame()
    shown = pd.DataFrame(
        {
            "stage": t["stage"],
            "touchpoint": t["touchpoint"],
            "people": t["people"].map(count),
            "reach next stage": t["share_next"].map(pct),
            "median h to next": t["median_hours"].map(lambda x: number(x, 3)),
            "revenue": t["revenue"].map(lambda x: money(x, store.config.shop.currency)),
        }
    )
    figures = [m.figure(), *([m.flow_figure()] if len(m.flows) else [])]
    return Section("journey-map", "Journey map", m.summary(), figures, shown)


def funnel_section(store: Store) -> Section:
    """The purchase funnel over the standard e-commerce events the store has (at least two of them)."""
    con = store.ibis()
    require_rows(con, "events", "The purchase funnel")
    stored = {str(e) for e in con.table("events").select("event").distinct().execute()["event"]}
    steps = [s for s in DEMO_FUNNEL if s in stored]
    if len(steps) < 2:
        raise MissingData(
            f"The purchase funnel needs events of at least two of {', '.join(DEMO_FUNNEL)}; "
            f"found {', '.join(steps) or 'none'}"
        )
    f = funnel(con, store.config, steps, "7d")
    ft = f.to_frame()
    shown = pd.DataFrame(
        {
            "step": ft["step"],
            "people": ft["units"].map(count),
            "from previous": ft["conversion_from_previous"].map(pct),
            "95% CI": [
                interval(a, b) for a, b in zip(ft["ci_low_previous"], ft["ci_high_previous"], strict=True)
            ],
        }
    )
    return Section("funnel", "Purchase funnel (7-day window)", f.summary(), [f.figure()], shown)


def paths_section(store: Store) -> Section:
    """The most common touchpoint paths after the cart."""
    p = paths(store.ibis(), store.config, start=PATHS_FROM, depth=4)
    if p.units == 0:
        raise MissingData(f"paths after the {PATHS_FROM} need events at touchpoint {PATHS_FROM}: none stored")
    shown = p.to_frame().assign(units=lambda d: d["units"].map(count), share=lambda d: d["share"].map(pct))
    return Section("paths", f"Paths after the {PATHS_FROM}", p.summary(), [p.figure()], shown)


def retention_section(store: Store) -> Section:
    """Cohort retention by first-purchase month and the repeat-purchase curve."""
    r = retention(store.ibis(), store.config)
    c = r.curve
    shown = pd.DataFrame(
        {
            "days since first purchase": c["days"],
            "customers observed": c["customers"].map(count),
            "bought again": c["repeaters"].map(count),
            "repeat rate": c["repeat_rate"].map(pct),
            "95% CI": [interval(lo, hi) for lo, hi in zip(c["ci_low"], c["ci_high"], strict=True)],
        }
    )
    return Section("retention", "Cohort retention", r.summary(), [r.figure(), r.curve_figure()], shown)


def shop_swot(store: Store) -> Swot:
    """The store's strengths and weaknesses with the voice evidence, computed once per open store (the report
    section and "what to do next" share it)."""
    return store.memo("swot", lambda: swot(store.ibis(), store.config, evidence=touchpoint_evidence(store)))


def swot_section(store: Store) -> Section:
    """Strengths and weaknesses of touchpoints and channels against their peers, by money at stake."""
    s = shop_swot(store)
    rows = [
        {"": kind, "finding": item["sentence"]}
        for kind in ("weaknesses", "strengths")
        for item in s.to_dict()[kind][:8]
    ]
    table = pd.DataFrame(rows, columns=["", "finding"])
    return Section("swot", "Strengths and weaknesses", s.summary(), [s.figure()], table)


SECTIONS: list[Callable[[Store], Section]] = [
    stages_section,
    map_section,
    funnel_section,
    paths_section,
    retention_section,
    swot_section,
]
