"""The flows' section of the report: per flow what it did to its measure against customers held out from it,
in plain words, with the counts and revenue per recipient; the test, intervals, p-values and delivery
counts go to the details."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from cxlab.automate.effects import SENT, FlowEffect, FlowsReport, flow_effects
from cxlab.automate.flows import HOLDOUT, load_flows
from cxlab.display import DASH, certainty, count, interval, missing, money, p_value, pct
from cxlab.errors import MissingData
from cxlab.report.section import Section, duckdb_only, titled
from cxlab.store import Store

WINDOW_UNITS = {"d": "day", "h": "hour", "w": "week"}
CHANNEL_WORDS = {"email": "e-mail", "sms": "SMS"}


def _window(window: str) -> str:
    """A flow's measuring window in words: ``7d`` → ``7-day``."""
    unit = WINDOW_UNITS.get(window[-1:])
    return f"{window[:-1]}-{unit}" if unit and window[:-1].isdigit() else window


def _what(f: FlowEffect) -> str:
    return f"The {f.flow.replace('_', '-')} {CHANNEL_WORDS.get(f.channel, f.channel)}"


def _outcome(f: FlowEffect) -> str:
    return f"{_window(f.window)} {f.metric.replace('_', ' ')}"


def _sure(f: FlowEffect) -> str:
    return certainty(f.p_value) if f.p_value is not None else DASH


def sentence(f: FlowEffect, currency: str) -> str:
    """One flow's effect in plain words: raised, lowered or no clear change (with how sure), and the revenue
    per recipient against those held out."""
    if f.lift_relative is None:
        return f"{_what(f)}: not measured yet ({f.note or 'no effect measured'})."
    lo, hi = f.ci_relative
    if lo is not None and lo > 0:
        text = f"{_what(f)} raised {_outcome(f)} by {pct(f.lift_relative, 0)} ({_sure(f)})"
    elif hi is not None and hi < 0:
        text = f"{_what(f)} lowered {_outcome(f)} by {pct(-f.lift_relative, 0)} ({_sure(f)})"
    else:
        text = (
            f"{_what(f)} made no clear difference to {_outcome(f)} yet "
            f"({pct(f.lift_relative, 0, signed=True)}, could be chance)"
        )
    rev = f.revenue_per_recipient
    if rev.get(SENT) is not None and rev.get(HOLDOUT) is not None:
        text += (
            f"; customers who got it spent {money(rev[SENT], currency, 2)} each against "
            f"{money(rev[HOLDOUT], currency, 2)} for those held out"
        )
    return text + "."


def _spent(f: FlowEffect, currency: str) -> str:
    """Revenue per recipient, sent against held out; a dash when neither was measured."""
    sent, held = (f.revenue_per_recipient.get(k) for k in (SENT, HOLDOUT))
    if sent is None and held is None:
        return DASH
    return f"{money(sent, currency, 2)} vs {money(held, currency, 2)}"


def _details(res: FlowsReport) -> str:
    """The test and, per flow, interval, p-value, n and the delivery counts."""
    ci = f"{100 * (1 - res.alpha):.0f}% interval"
    per = []
    for f in res.flows:
        suppressed = ", ".join(f"{count(n)} {r}" for r, n in f.suppressed.items()) or "none"
        lo, hi = f.ci_relative
        bounds = (
            f"{ci} {interval(lo, hi, lambda x: pct(x, 1, signed=True))}"
            if not (missing(lo) or missing(hi))
            else "interval could not be estimated"
        )
        effect = (
            f"{pct(f.lift_relative, 1, signed=True)} ({bounds}; p {p_value(f.p_value)})"
            if f.lift_relative is not None
            else f"no estimate: {f.note or 'not measured'}"
        )
        per.append(
            f"{f.flow}: {f.metric} ({f.window}) {effect}; n = {count(f.exposed)} exposed "
            f"({count(f.n.get(HOLDOUT, 0))} held out); triggered by cxlab {count(f.triggered)}, sent "
            f"{count(f.sent)}, suppressed {suppressed}, gave up {count(f.gave_up)}, in doubt "
            f"{count(f.in_doubt)}"
        )
    return (
        f"Each flow is measured against a random holdout of customers who were not sent it: {res.method}; "
        f"revenue in {res.currency}. " + "; ".join(per) + "."
    )


def _figure(res: FlowsReport) -> go.Figure:
    """The flows' effects with their intervals, titled in words."""
    fig = res.figure()
    fig.update_layout(
        title=f"What each flow changed against customers held out ({100 * (1 - res.alpha):.0f}% range)",
        xaxis_title="change against those held out (%)",
    )
    return fig


@titled("Automated flows")
def flows_section(store: Store) -> Section:
    """What each flow did against its holdout, in words; counts and revenue per recipient in the table."""
    duckdb_only(store, "the flows' outbox (what was sent to whom) is kept only in a DuckDB store")
    flows = load_flows(store.config, store.project_dir)
    if not flows:
        raise MissingData("Flows need a declaration: add [flows.<name>] to cxlab.toml (see README)")
    ((exposed,),) = store.con.execute(
        "SELECT count(*) FROM exposures WHERE experiment_id IN (SELECT unnest(?::VARCHAR[]))",
        [[f.experiment_id for f in flows]],
    ).fetchall()
    if not exposed:
        raise MissingData("Flows have no exposures yet: run them with `cxlab flows run`")
    res = flow_effects(store, flows)
    fs = res.flows
    shown = pd.DataFrame(
        {
            "flow": [f.flow for f in fs],
            "messages sent": [count(f.sent) for f in fs],
            "customers held out": [count(f.n.get(HOLDOUT, 0)) for f in fs],
            "measure": [_outcome(f) for f in fs],
            "effect": [
                pct(f.lift_relative, 1, signed=True) if f.lift_relative is not None else (f.note or DASH)
                for f in fs
            ],
            "how sure": [_sure(f) if f.lift_relative is not None else DASH for f in fs],
            "spent per customer: sent vs held out": [_spent(f, res.currency) for f in fs],
            "unsubscribed": [count(f.unsubscribes) for f in fs],
        }
    )
    figures = [_figure(res)] if any(f.lift_relative is not None for f in fs) else []
    summary = " ".join(sentence(f, res.currency) for f in fs)
    return Section("flows", "Automated flows", summary, figures, shown, details=_details(res))


SECTIONS: tuple[Callable[[Store], Section], ...] = (flows_section,)
