"""Actions from emerging complaints: negative feedback themes growing in the latest week (``cxlab voice
analyze`` must have run).

A theme is emerging when its share of the latest week's feedback texts is significantly above its share in
the four weeks before (:func:`cxlab.voice.themes.emerging`, Holm-corrected). It is priced the way the
strengths-and-weaknesses comparison prices a complaint: each complaint above the usual rate puts one
customer's revenue at risk (the store's revenue per buying customer).
"""

from __future__ import annotations

import pandas as pd
from ibis.backends import BaseBackend

from cxlab.advise.advice import Action
from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.display import certainty, count, day, money, pct
from cxlab.voice.themes import Themes, emerging

HORIZON = "in the latest week"


def theme_weeks(themes: Themes, times: pd.DataFrame) -> pd.DataFrame:
    """Per negative theme: texts in the latest week and in the four before, with the growth and the adjusted
    p-value of :func:`cxlab.voice.themes.emerging`, and the latest week's start (``week``).

    ``times``: ``feedback_id`` and ``ts`` of the analysed feedback texts (the themes' assignments)."""
    a = themes.assignments.merge(times[["feedback_id", "ts"]], on="feedback_id", how="inner")
    cols = ["theme", "last_week", "last_week_n", "baseline", "baseline_n", "growth", "p_adjusted", "week"]
    if a.empty:
        return pd.DataFrame(columns=cols)
    week = pd.to_datetime(a["ts"]).dt.to_period("W").dt.start_time
    t = themes.table
    neg = t.loc[t["sentiment"] == "negative", "theme"].tolist()
    weekly = pd.crosstab(week, a["theme"]).reindex(columns=neg, fill_value=0)
    out = emerging(weekly, week.value_counts().sort_index())
    out["week"] = week.max()
    return out[[c for c in cols if c in out.columns]]


def revenue_per_buyer(con: BaseBackend, config: Config) -> tuple[float | None, str]:
    """The store's revenue per customer with an order (reporting currency) and the currency; None without
    orders."""
    orders = shop_orders(con, config)
    o = orders.table.filter(orders.table.customer_id.notnull())
    r = o.aggregate(revenue=o.revenue.sum(), buyers=o.customer_id.nunique()).execute().iloc[0]
    buyers = int(r["buyers"] or 0)
    return (float(r["revenue"]) / buyers if buyers and pd.notna(r["revenue"]) else None), orders.currency


def voice_actions(
    themes: Themes, weeks: pd.DataFrame, per_buyer: float | None, currency: str
) -> list[Action]:
    """One action per emerging complaint theme, named after its touchpoint (else its label)."""
    t = themes.table
    em = t[(t["sentiment"] == "negative") & t["emerging"].astype(bool)]
    if em.empty or weeks.empty:
        return []
    em = em.merge(weeks.drop(columns=["growth"], errors="ignore"), on="theme", how="inner")
    actions = []
    for r in em.to_dict(orient="records"):
        tp = r.get("touchpoint") or r.get("data_touchpoint")
        label = f"“{r['label']}”"
        new = int(r["last_week"])
        usual = (
            float(r["last_week_n"]) * float(r["baseline"]) / float(r["baseline_n"])
            if r["baseline_n"]
            else 0.0
        )
        excess = max(new - usual, 0.0)
        quotes = [str(q) for q in (r.get("quotes") or [])]
        short = str(r.get("quote") or "")
        quote = f" One of them: “{short}”." if short else ""
        where = f" at {tp}" if tp else ""
        growth = (
            f"{pct(r['growth'], 0, signed=True)} of their usual share" if pd.notna(r["growth"]) else "new"
        )
        why = (
            f"{count(new)} new complaints about {label}{where} in the week of {day(r['week'])} "
            f"({growth}, about {count(round(excess))} more than usual)"
        )
        actions.append(
            Action(
                kind="voice",
                name=str(tp) if tp else str(r["label"]),
                money_at_stake=excess * per_buyer if per_buyer is not None else None,
                currency=currency,
                certainty=certainty(float(r["emerging_p"])),
                next_step=f"Read the {count(new)} new complaints about {label}{where} and fix the cause.{quote}",
                why=why[0].upper() + why[1:],
                horizon=HORIZON,
                evidence=tuple(
                    [f"complaint theme {label}: {why}"]
                    + (
                        [f"each extra complaint puts {money(per_buyer, currency)} at risk"]
                        if per_buyer
                        else []
                    )
                    + [f"quote: {q}" for q in quotes]
                ),
                source=("themes",),
            )
        )
    return actions
