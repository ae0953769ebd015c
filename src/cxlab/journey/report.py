"""The journey's sections of the demo report: map, funnel, paths, retention, strengths & weaknesses."""

from __future__ import annotations

import pandas as pd

from cxlab.journey.funnels import funnel
from cxlab.journey.journey_map import journey_map
from cxlab.journey.paths import paths
from cxlab.journey.retention import retention
from cxlab.journey.swot import swot
from cxlab.report.section import Section
from cxlab.store import Store
from cxlab.voice.themes import touchpoint_evidence

DEMO_FUNNEL = ("page_view", "view_item", "add_to_cart", "checkout", "purchase")


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:.1f}%"


def sections(store: Store) -> list[Section]:
    """Run the journey analyses on ``store`` and turn them into report sections."""
    con, cfg = store.ibis(), store.config
    out: list[Section] = []
    m = journey_map(con, cfg)
    t = m.to_frame()
    shown = pd.DataFrame(
        {
            "stage": t["stage"],
            "touchpoint": t["touchpoint"],
            "people": t["people"].map("{:,}".format),
            "reach next stage": t["share_next"].map(_pct),
            "median h to next": t["median_hours"].map(lambda x: "–" if pd.isna(x) else f"{x:,.1f}"),
            "revenue": t["revenue"].map("{:,.0f}".format),
        }
    )
    out.append(Section("journey-map", "Journey map", m.summary(), [m.figure(), m.flow_figure()], shown))
    events = {str(e) for e in con.table("events").select("event").distinct().execute()["event"]}
    steps = [s for s in DEMO_FUNNEL if s in events]
    if len(steps) >= 2:
        f = funnel(con, cfg, steps, "7d")
        ft = f.to_frame()
        shown = pd.DataFrame(
            {
                "step": ft["step"],
                "people": ft["units"].map("{:,}".format),
                "from previous": ft["conversion_from_previous"].map(_pct),
                "95% CI": [
                    f"{_pct(a)} – {_pct(b)}"
                    for a, b in zip(ft["ci_low_previous"], ft["ci_high_previous"], strict=True)
                ],
            }
        )
        out.append(Section("funnel", "Purchase funnel (7-day window)", f.summary(), [f.figure()], shown))
    p = paths(con, cfg, start="cart", depth=4)
    out.append(Section("paths", "Paths after the cart", p.summary(), [p.figure()], p.to_frame()))
    r = retention(con, cfg)
    out.append(Section("retention", "Cohort retention", r.summary(), [r.figure(), r.curve_figure()], r.curve))
    s = swot(con, cfg, evidence=touchpoint_evidence(store))
    rows = [
        {"": kind, "finding": item["sentence"]}
        for kind in ("weaknesses", "strengths")
        for item in s.to_dict()[kind][:8]
    ]
    out.append(Section("swot", "Strengths and weaknesses", s.summary(), [s.figure()], pd.DataFrame(rows)))
    return out
