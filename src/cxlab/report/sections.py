"""The report's sections: each runs one analysis on the store and turns its result into display parts.

Every capability adds its section here, so ``cxlab demo`` and ``cxlab report`` run every analysis that
exists.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.channels.report import section as channels_section
from cxlab.customers.report import section as customers_section
from cxlab.experiments.report import section as experiments_section
from cxlab.journey import stage_funnel
from cxlab.journey.report import sections as journey_sections
from cxlab.report.section import Section
from cxlab.store import Store
from cxlab.voice.report import section as voice_section


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:.2f}%"


def _money(x: float, currency: str) -> str:
    return f"{currency} {x:,.0f}"


def overview(store: Store) -> Section:
    counts = store.counts()
    ((first, last),) = store.con.execute("SELECT min(ts), max(ts) FROM events").fetchall()
    ((revenue,),) = store.con.execute("SELECT coalesce(sum(revenue), 0) FROM orders").fetchall()
    period = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None else "no events"
    table = pd.DataFrame({"table": list(counts), "rows": [f"{n:,}" for n in counts.values()]})
    cur = store.config.shop.currency
    return Section(
        "overview",
        "Overview",
        f"Events from {period}; {counts['orders']:,} orders worth {_money(revenue, cur)}.",
        table=table,
    )


def stages(store: Store) -> Section:
    res = stage_funnel(store.ibis(), store.config)
    t = res.to_frame()
    shown = pd.DataFrame(
        {
            "stage": t["stage"],
            "people": t["people"].map("{:,}".format),
            "share of all": t["share_of_all"].map(_pct),
            "reached from previous stage": t["rate_from_previous"].map(_pct),
            "95% CI": [
                f"{_pct(lo)} – {_pct(hi)}" if not pd.isna(lo) else "–"
                for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],
        }
    )
    return Section("stages", "Journey stage funnel", res.summary(), [res.figure()], shown)


SECTIONS: list[Callable[[Store], Section | list[Section]]] = [
    overview,
    channels_section,
    stages,
    journey_sections,
    customers_section,
    experiments_section,
    voice_section,
]


NOT_RUN = "This analysis could not run on this store"


def build_sections(store: Store) -> list[Section]:
    """Run every analysis of the report on ``store``. One that can't run on this data (too little of it,
    a model that does not converge) becomes a section saying why, so the rest of the report still comes."""
    sections: list[Section] = []
    for make in SECTIONS:
        try:
            made = make(store)
            sections.extend(made if isinstance(made, list) else [made])
        except Exception as e:  # shown in the report, not swallowed: the section states the error
            name = make.__name__.removesuffix("_section")
            sections.append(Section(name, name.replace("_", " ").capitalize(), f"{NOT_RUN}: {e}"))
    return sections
