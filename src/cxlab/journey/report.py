"""The journey's sections of the report, one analysis each: stage funnel, map, funnel, paths, retention,
strengths & weaknesses. A section that can't run on the store raises :class:`cxlab.errors.MissingData`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from cxlab.display import DASH, count, duration, interval, money, pct
from cxlab.errors import MissingData, require_rows
from cxlab.journey.funnels import funnel
from cxlab.journey.journey_map import journey_map
from cxlab.journey.paths import paths
from cxlab.journey.retention import retention
from cxlab.journey.stages import stage_funnel
from cxlab.journey.swot import Swot, swot
from cxlab.report.section import Section, titled
from cxlab.store import Store
from cxlab.voice.themes import touchpoint_evidence

DEMO_FUNNEL = ("page_view", "view_item", "add_to_cart", "checkout", "purchase")
PATHS_FROM = "cart"


def _intervals(labels: pd.Series, rate: pd.Series, lo: pd.Series, hi: pd.Series) -> str:
    """ "label rate (lo – hi)" per row, for a section's details: the intervals stay one click away."""
    return "; ".join(
        f"{label} {pct(r)} ({interval(a, b)})" for label, r, a, b in zip(labels, rate, lo, hi, strict=True)
    )


@titled("How far people get")
def stages_section(store: Store) -> Section:
    """How far people get along the journey's stages."""
    res = stage_funnel(store.ibis(), store.config)
    t = res.to_frame()

    def where(stage: str, most: int = 3) -> str:  # what the stage is made of: "conversion" ≠ bought
        tps = list((res.touchpoints or {}).get(stage, ()))
        return ", ".join(tps[:most]) + (f" and {len(tps) - most} more" if len(tps) > most else "")

    shown = pd.DataFrame(
        {
            "stage": t["stage"],
            "touchpoints": t["stage"].map(where),
            "got this far": t["people"].map(count),
            "share of all": t["share_of_all"].map(pct),
            "of the previous stage": t["rate_from_previous"].map(pct),
            "did something here": t["seen"].map(count),
        }
    )
    return Section(
        "stages", "How far people get", res.headline(), [res.figure()], shown, details=res.details()
    )


@titled("Journey map")
def map_section(store: Store) -> Section:
    """Stage × touchpoint: people, share going on to the next stage, time to it, revenue of those people."""
    m = journey_map(store.ibis(), store.config)
    t = m.to_frame()
    cur = store.config.shop.currency
    shown = pd.DataFrame(
        {
            "stage": t["stage"],
            "touchpoint": t["touchpoint"],
            "people": t["people"].map(count),
            "go on to the next stage": t["share_next"].map(pct),
            "median time to it": t["median_hours"].map(duration),
            "their revenue": t["revenue"].map(lambda x: money(x, cur)),
        }
    )
    on = t[t["share_next"].notna()]
    details = (
        f"{m.summary()} 'Go on to the next stage' with 95% intervals: "
        f"{_intervals(on['touchpoint'], on['share_next'], on['ci_low'], on['ci_high'])}. A touchpoint on the last "
        f"stage has no next stage ({DASH}). 'Their revenue' is everything those people spent, in {cur}."
    )
    figures = [m.figure(), *([m.flow_figure()] if len(m.flows) else [])]
    return Section("journey-map", "Journey map", m.headline(), figures, shown, details=details)


@titled("Purchase funnel")
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
            "of the previous step": ft["conversion_from_previous"].map(pct),
            "of the first step": ft["conversion_from_first"].map(pct),
        }
    )
    details = (
        f"{f.summary()} From the previous step, 95% intervals: "
        f"{_intervals(ft['step'], ft['conversion_from_previous'], ft['ci_low_previous'], ft['ci_high_previous'])}."
    )
    return Section("funnel", "Purchase funnel (7 days)", f.headline(), [f.figure()], shown, details=details)


@titled("Paths")
def paths_section(store: Store) -> Section:
    """The most common touchpoint paths after the cart."""
    p = paths(store.ibis(), store.config, start=PATHS_FROM, depth=4)
    if p.units == 0:
        raise MissingData(f"paths after the {PATHS_FROM} need events at touchpoint {PATHS_FROM}: none stored")
    t = p.to_frame()
    shown = pd.DataFrame({"path": t["path"], "people": t["units"].map(count), "share": t["share"].map(pct)})
    details = f"{p.summary()} The chart shows the most common moves of each step (up to 8 a step)."
    return Section(
        "paths", f"Paths after the {PATHS_FROM}", p.headline(), [p.figure()], shown, details=details
    )


@titled("Repeat purchases")
def retention_section(store: Store) -> Section:
    """Cohort retention by first-purchase month and the repeat-purchase curve."""
    r = retention(store.ibis(), store.config)
    c = r.curve
    shown = pd.DataFrame(
        {
            "days after the first order": c["days"].map(count),
            "customers watched that long": c["customers"].map(count),
            "ordered again": c["repeaters"].map(count),
            "share": c["repeat_rate"].map(pct),
        }
    )
    days = c["days"].map(lambda d: f"{int(d)} days")
    details = (
        f"{r.summary()} Repeat rate with 95% intervals: "
        f"{_intervals(days, c['repeat_rate'], c['ci_low'], c['ci_high'])}."
    )
    return Section(
        "retention", "Customers who order again", r.headline(), [r.figure(), r.curve_figure()], shown,
        details=details,
    )  # fmt: skip


def shop_swot(store: Store) -> Swot:
    """The store's strengths and weaknesses with the voice evidence, computed once per open store (the report
    section and "what to do next" share it)."""
    return store.memo("swot", lambda: swot(store.ibis(), store.config, evidence=touchpoint_evidence(store)))


@titled("Strengths and weaknesses")
def swot_section(store: Store) -> Section:
    """Strengths and weaknesses of touchpoints and channels against their peers, by money at stake; findings
    that conflict about one place are one row."""
    s = shop_swot(store)
    tested = s.table["verdict"].isin(["weakness", "strength", "as peers"])
    if not tested.any():
        raise MissingData(s.headline())
    places = s.places()
    details = " ".join([s.summary(), *(p["details"] for p in places)])
    if not places:
        return Section("swot", "Strengths and weaknesses", s.headline(), details=details)

    def of(verdict: str) -> list[dict[str, Any]]:
        return [p for p in places if p["verdict"] == verdict]

    shown = of("weakness")[:8] + of("mixed signals") + of("strength")[:8]
    table = pd.DataFrame(
        {
            "": [p["verdict"] for p in shown],
            "finding": [p["finding"] for p in shown],
            "worth a month": [money(p["worth_per_month"], s.currency) for p in shown],
        }
    )
    return Section("swot", "Strengths and weaknesses", s.headline(), [s.figure()], table, details=details)


SECTIONS: list[Callable[[Store], Section]] = [
    stages_section,
    map_section,
    funnel_section,
    paths_section,
    retention_section,
    swot_section,
]
