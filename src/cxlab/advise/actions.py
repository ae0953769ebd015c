"""What to do next: the ranked actions from every analysis that has something to act on.

Each source is read on its own, through the same per-store results the report's sections use
(:meth:`cxlab.store.Store.memo`: ``"swot"``, ``"lagging-channels"``, ``"experiments"``, ``"churn"``,
``"themes"``), so the report computes each once. A source that lacks data (:class:`cxlab.errors.MissingData`)
or fails is listed in :attr:`Advice.skipped` with its reason and the others still give actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd

from cxlab.advise.advice import DAYS_PER_MONTH, Action, Advice, Skipped, ranked, yearly
from cxlab.advise.customers import winback_action
from cxlab.advise.experiments import experiment_action
from cxlab.advise.places import Finding, best_peers, lagging_findings, place_actions, swot_findings
from cxlab.advise.voice import revenue_per_buyer, theme_weeks, voice_actions
from cxlab.channels.report import shop_channel_performance
from cxlab.config import ConfigError
from cxlab.currency import shop_orders
from cxlab.customers.report import shop_churn
from cxlab.errors import MissingData
from cxlab.experiments.definitions import metrics_from_config
from cxlab.experiments.report import shop_experiments
from cxlab.journey.report import shop_swot
from cxlab.progress import Progress, counted
from cxlab.store import Store
from cxlab.voice.report import shop_themes
from cxlab.voice.tables import texts_with_feedback

SOURCES = {
    "swot": "strengths and weaknesses",
    "lagging-channels": "lagging channels",
    "experiments": "experiments",
    "churn": "customers at risk",
    "themes": "feedback themes",
}
"""Memo key of each source → its name in plain words (shown with the reason when it is skipped)."""


def store_period(store: Store) -> dict[str, Any] | None:
    """First and last day of the store's events and orders, and the months between (at least one)."""
    con = store.ibis()
    spans = [
        con.table(t).aggregate(first=lambda x: x.ts.min(), last=lambda x: x.ts.max()).execute().iloc[0]
        for t in ("events", "orders")
        if t in con.list_tables()
    ]
    firsts = [pd.Timestamp(s["first"]) for s in spans if pd.notna(s["first"])]
    lasts = [pd.Timestamp(s["last"]) for s in spans if pd.notna(s["last"])]
    if not firsts:
        return None
    first, last = min(firsts), max(lasts)
    months = max((last - first).days / DAYS_PER_MONTH, 1.0)
    return {"start": f"{first:%Y-%m-%d}", "end": f"{last:%Y-%m-%d}", "months": round(months, 1)}


def _churn_flows(store: Store) -> list[str]:
    """Enabled flows with a churn-risk trigger (none when the flow files can't be read)."""
    from cxlab.automate.flows import load_flows

    try:
        flows = load_flows(store.config, store.project_dir)
    except (ConfigError, OSError):
        return []
    return [f.name for f in flows if f.enabled and getattr(f.trigger, "score", None) == "churn_risk"]


def merge_same_place(actions: list[Action]) -> list[Action]:
    """Voice actions about a place that already has an action join it (its text, evidence, and its money
    when the place has none or the spans match and it is larger), so no place is listed twice."""
    out: list[Action] = []
    for a in actions:
        same = next(
            (
                i
                for i, b in enumerate(out)
                if a.kind == "voice" and b.kind in ("touchpoint", "voice") and b.name == a.name
            ),
            None,
        )
        if same is None:
            out.append(a)
            continue
        b = out[same]
        priced = b  # the larger amount over the same span; over different spans, the place's own
        if b.money_at_stake is None or (
            a.money_at_stake is not None and a.horizon == b.horizon and a.money_at_stake > b.money_at_stake
        ):
            priced = a
        out[same] = replace(
            b,
            money_at_stake=priced.money_at_stake,
            horizon=priced.horizon,
            months=priced.months,
            next_step=f"{b.next_step} Also: {a.next_step}",
            evidence=b.evidence + a.evidence,
            source=tuple(dict.fromkeys(b.source + a.source)),
        )
    return out


def next_actions(store: Store, limit: int = 5, progress: Progress | None = None) -> Advice:
    """The ``limit`` actions with the most money at stake, from strengths and weaknesses, lagging channels,
    experiments ready to decide, customers worth a win-back and emerging complaints; reports
    ``("what to do next", done, 5)`` to ``progress``."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    try:
        currency = shop_orders(store.ibis(), store.config).currency
    except Exception:  # no orders table: the configured currency
        currency = store.config.shop.currency
    period = store_period(store)
    findings: list[Finding] = []
    actions: list[Action] = []
    skipped: list[Skipped] = []
    best: dict[str, str] = {}
    months = float(period["months"]) if period else 1.0
    paid = store.config.channels.paid

    def read_swot() -> None:
        nonlocal months
        s = shop_swot(store)
        months = s.months
        findings.extend(swot_findings(s.table, s.currency, s.correction))

    def read_lagging() -> None:
        perf = shop_channel_performance(store)
        if perf.by == ("channel",):
            findings.extend(lagging_findings(perf.lagging.table, paid, perf.lagging.correction))
            best.update(best_peers(perf.lagging.table, paid))

    def read_experiments() -> None:
        metrics = metrics_from_config(store.config)
        for r in shop_experiments(store):
            actions.extend(experiment_action(r, metrics, currency))

    def read_churn() -> None:
        actions.extend(winback_action(shop_churn(store), _churn_flows(store)))

    def read_themes() -> None:
        themes = shop_themes(store)
        times = texts_with_feedback(store).select("feedback_id", "ts").execute()
        per_buyer, cur = revenue_per_buyer(store.ibis(), store.config)
        actions.extend(voice_actions(themes, theme_weeks(themes, times), per_buyer, cur))

    readers: dict[str, Callable[[], None]] = {
        "swot": read_swot,
        "lagging-channels": read_lagging,
        "experiments": read_experiments,
        "churn": read_churn,
        "themes": read_themes,
    }
    for key in counted(list(readers), "what to do next", progress):
        try:
            readers[key]()
        except MissingData as e:
            skipped.append(Skipped(SOURCES[key], str(e)))
        except Exception as e:  # one source failing must not hide the others' actions
            skipped.append(Skipped(SOURCES[key], f"failed: {type(e).__name__}: {e}"))
    horizon = f"over the {months:.0f} months analysed"
    places = place_actions(findings, currency, horizon, paid=paid, best=best, months=months)
    every = ranked(merge_same_place([yearly(a) for a in places + actions]))
    return Advice(every[:limit], currency, skipped, period, found=len(every))
