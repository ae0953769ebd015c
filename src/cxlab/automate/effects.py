"""What each flow did and what it earned: outbox counts, and the effect of its messages against its holdout.

Every flow is an experiment (``flow:<name>``) whose control arm is the holdout: customers who were due a
message and got none, recorded as exposures when the plan was decided (intention to treat: a suppressed or
failed send still counts in its arm). The effect is measured by the experiments engine
(:func:`cxlab.experiments.metrics.experiment_stats` → :func:`cxlab.experiments.analysis.analyze`, Welch's t
on the relative lift with the delta method) on the flow's metric, its window overridden by the flow's
``window``. When a flow has several message variants, the flow's effect pools the sent arms (sufficient
statistics add up), and each variant is also compared with the holdout. Revenue per recipient is the shop's
orders revenue (reporting currency) within the window per exposed customer; unsubscribes are withdrawals of
the flow's channel in the consent ledger within the window after a sent message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlab.automate.flows import HOLDOUT, Flow, load_flows
from cxlab.automate.tables import OUTBOX
from cxlab.display import count, money, pct
from cxlab.experiments.analysis import analyze
from cxlab.experiments.definitions import MetricDef, metrics_from_config, parse_window
from cxlab.experiments.metrics import experiment_stats
from cxlab.experiments.sufficient import COVARIATE_FIELDS, RATIO_FIELDS, SufficientStats
from cxlab.store import Store

MIN_PER_ARM = 20
"""Fewest exposed customers in the holdout and in the sent arms before a lift is reported."""

REVENUE = "_flow_revenue"
"""The revenue-per-recipient metric added next to the flow's own (orders revenue within the window)."""

SENT = "sent"
"""The pooled sent arms of a flow."""

_GRIDS = ("n", "sum", "sum_squares", *RATIO_FIELDS, *COVARIATE_FIELDS)


@dataclass(frozen=True)
class FlowEffect:
    """One flow: its outbox counts and, when enough customers were exposed, its effect with interval."""

    flow: str
    channel: str
    metric: str
    window: str
    triggered: int
    sent: int
    held_out: int
    pending: int
    gave_up: int
    in_doubt: int
    suppressed: dict[str, int]
    n: dict[str, int]
    """Exposed customers per arm (the holdout and each sent variant)."""
    holdout_share: float
    sent_by_origin: dict[str, int] = field(default_factory=dict)
    """Sent messages by where they are known from: ``outbox`` (sent by cxlab), ``events`` (``<channel>_sent``
    at the flow's touchpoint from a history cxlab did not send: imported, simulated)."""
    mean_holdout: float | None = None
    mean_sent: float | None = None
    lift_relative: float | None = None
    ci_relative: tuple[float | None, float | None] = (None, None)
    lift_absolute: float | None = None
    p_value: float | None = None
    status: str | None = None
    revenue_per_recipient: dict[str, float | None] = field(default_factory=dict)
    """Orders revenue within the window per exposed customer: ``sent`` and ``holdout``."""
    revenue_ci: tuple[float | None, float | None] = (None, None)
    """Interval of the revenue-per-recipient difference (sent − holdout)."""
    unsubscribes: int = 0
    variants: list[dict[str, Any]] = field(default_factory=list)
    """Per sent variant (flows with several): name, n, mean, lift_relative, ci_relative, p_value."""
    srm_p_value: float | None = None
    note: str | None = None
    """Why there is no effect (too few exposures, no holdout), else None."""

    @property
    def exposed(self) -> int:
        return sum(self.n.values())

    @property
    def unsubscribe_rate(self) -> float | None:
        return self.unsubscribes / self.sent if self.sent else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "channel": self.channel,
            "triggered": self.triggered,
            "sent": self.sent,
            "sent_by_origin": dict(self.sent_by_origin),
            "holdout": self.n.get(HOLDOUT, 0),
            "held_out": self.held_out,
            "pending": self.pending,
            "gave_up": self.gave_up,
            "in_doubt": self.in_doubt,
            "suppressed": dict(self.suppressed),
            "n": dict(self.n),
            "holdout_share": self.holdout_share,
            "metric": self.metric,
            "window": self.window,
            "mean_holdout": self.mean_holdout,
            "mean_sent": self.mean_sent,
            "lift_relative": self.lift_relative,
            "ci_relative": list(self.ci_relative),
            "lift_absolute": self.lift_absolute,
            "p_value": self.p_value,
            "status": self.status,
            "revenue_per_recipient": dict(self.revenue_per_recipient),
            "revenue_ci": list(self.revenue_ci),
            "unsubscribes": self.unsubscribes,
            "unsubscribe_rate": self.unsubscribe_rate,
            "variants": list(self.variants),
            "srm_p_value": self.srm_p_value,
            "note": self.note,
        }

    def sentence(self, currency: str, alpha: float) -> str:
        """The flow's effect in plain words."""
        what = f"The {self.flow.replace('_', '-')} {'e-mail' if self.channel == 'email' else 'SMS'}"
        outcome = f"{self.window} {self.metric.replace('_', ' ')}"
        if self.lift_relative is None:
            return f"{what}: {self.note or 'no effect measured'}."
        lo, hi = self.ci_relative
        ci = f"{100 * (1 - alpha):.0f}% CI {pct(lo, 0)} to {pct(hi, 0)}"
        if lo is not None and hi is not None and lo > 0:
            verb = f"raised {outcome} by {pct(self.lift_relative, 0)}"
        elif lo is not None and hi is not None and hi < 0:
            verb = f"lowered {outcome} by {pct(-self.lift_relative, 0)}"
        else:
            verb = f"did not measurably change {outcome}: {pct(self.lift_relative, 0, signed=True)}"
        text = f"{what} {verb} ({ci}), n = {count(self.exposed)}"
        rev = self.revenue_per_recipient
        if rev.get(SENT) is not None and rev.get(HOLDOUT) is not None:
            text += (
                f"; revenue per recipient {money(rev[SENT], currency, 2)} against "
                f"{money(rev[HOLDOUT], currency, 2)} held out"
            )
        if self.sent:
            text += f"; {count(self.unsubscribes)} unsubscribed after {count(self.sent)} sent"
        return text + "."


@dataclass(frozen=True)
class FlowsReport:
    """Every declared flow's counts and effect."""

    flows: list[FlowEffect]
    alpha: float
    currency: str
    method: str

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for f in self.flows:
            lo, hi = f.ci_relative
            rows.append(
                {
                    "flow": f.flow,
                    "channel": f.channel,
                    "triggered": f.triggered,
                    "sent": f.sent,
                    "held_out": f.held_out,
                    "suppressed": sum(f.suppressed.values()),
                    "gave_up": f.gave_up,
                    "in_doubt": f.in_doubt,
                    "exposed": f.exposed,
                    "metric": f.metric,
                    "window": f.window,
                    "mean_holdout": f.mean_holdout,
                    "mean_sent": f.mean_sent,
                    "lift_relative": f.lift_relative,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": f.p_value,
                    "revenue_sent": f.revenue_per_recipient.get(SENT),
                    "revenue_holdout": f.revenue_per_recipient.get(HOLDOUT),
                    "unsubscribes": f.unsubscribes,
                    "note": f.note or "",
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flows": [f.to_dict() for f in self.flows],
            "alpha": self.alpha,
            "currency": self.currency,
            "method": self.method,
        }

    def summary(self) -> str:
        if not self.flows:
            return "No flows declared."
        head = (
            f"{len(self.flows)} flow(s), each measured against its random holdout ({self.method}; "
            f"{100 * (1 - self.alpha):.0f}% intervals; revenue in {self.currency})."
        )
        return " ".join([head, *(f.sentence(self.currency, self.alpha) for f in self.flows)])

    def figure(self) -> go.Figure:
        """The relative lift of each flow with its interval (flows without an estimate are left out)."""
        shown = [f for f in self.flows if f.lift_relative is not None]
        lifts = np.array([100 * (f.lift_relative or 0.0) for f in shown])
        lo = np.array([100 * (f.ci_relative[0] if f.ci_relative[0] is not None else np.nan) for f in shown])
        hi = np.array([100 * (f.ci_relative[1] if f.ci_relative[1] is not None else np.nan) for f in shown])
        fig = go.Figure(
            go.Scatter(
                x=lifts,
                y=[f"{f.flow} ({f.metric})" for f in shown],
                mode="markers",
                error_x={"type": "data", "symmetric": False, "array": hi - lifts, "arrayminus": lifts - lo},
                hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
            )
        )
        fig.add_vline(x=0, line_dash="dot")
        fig.update_layout(
            title=f"Lift of each flow over its holdout ({100 * (1 - self.alpha):.0f}% CI)",
            xaxis_title="relative lift (%)",
            height=160 + 50 * len(shown),
        )
        return fig


def _at_least_minus_one(x: float | None) -> float | None:
    """A relative lift can't fall below -100% (the metric can't go below zero): the delta-method interval's
    lower end is cut there, as an interval on a bounded parameter should be."""
    return None if x is None else max(x, -1.0)


def _flow_metrics(flow: Flow, defs: Mapping[str, MetricDef]) -> tuple[dict[str, MetricDef], str]:
    """The flow's metric (and, for a ratio, its parts) with the flow's window, plus revenue per recipient."""
    if flow.metric not in defs:
        raise KeyError(
            f"flows.{flow.name}.metric: unknown metric {flow.metric!r} (defined: {', '.join(defs)})"
        )
    m = defs[flow.metric]
    out: dict[str, MetricDef] = {}
    parts = [p for p in (m.numerator, m.denominator) if p is not None] if m.type == "ratio" else []
    window = flow.window.strip() if flow.window else None
    for name in [*parts, flow.metric]:
        d = defs[name]
        out[name] = d.model_copy(update={"window": window}) if window and d.type != "ratio" else d
    shown_window = window or (defs[parts[0]].window if parts else m.window)
    out[REVENUE] = MetricDef(type="mean", source="orders", value="revenue", window=shown_window)
    return out, shown_window


def _pool(s: SufficientStats) -> SufficientStats:
    """The sent arms (every arm after the control) summed into one: sufficient statistics add up."""
    grids: dict[str, Any] = {}
    for name in _GRIDS:
        g = getattr(s, name)
        grids[name] = np.column_stack([g[:, 0], g[:, 1:].sum(axis=1)])
    return dataclasses.replace(s, arms=(s.arms[0], SENT), **grids)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _outbox_counts(store: Store) -> pd.DataFrame:
    if not _has_table(store, OUTBOX):  # a store last opened for writing before flows existed
        return pd.DataFrame({"flow": [], "status": [], "reason": [], "n": []})
    return store.con.execute(
        f"SELECT flow, status, coalesce(reason, '') AS reason, count(*) AS n FROM {OUTBOX} "
        "GROUP BY ALL ORDER BY ALL"
    ).df()


def _has_table(store: Store, name: str) -> bool:
    return bool(
        store.con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    )


def _exposures(store: Store, experiment_id: str) -> dict[str, int]:
    rows = store.con.execute(
        "SELECT variant, count(*) FROM exposures WHERE experiment_id = ? GROUP BY variant ORDER BY variant",
        [experiment_id],
    ).fetchall()
    return {str(v): int(n) for v, n in rows}


def _sent_messages(store: Store, flow: Flow) -> tuple[str, list[Any]]:
    """SQL of the flow's sent messages (customer_id, sent_at, origin) and its parameters: the outbox rows
    marked sent, and the message events at the flow's touchpoint that the outbox did not write (a history
    from before cxlab ran the flow: imported, simulated)."""
    history = (
        "SELECT customer_id, ts AS sent_at, 'events' AS origin FROM events WHERE event = ? AND touchpoint = ? "
        "AND customer_id IS NOT NULL AND NOT starts_with(event_id, ?)"
    )
    params: list[Any] = [f"{flow.channel}_sent", flow.message_touchpoint, f"flow:{flow.name}:"]
    if not _has_table(store, OUTBOX):
        return history, params
    return (
        f"SELECT customer_id, sent_at, 'outbox' AS origin FROM {OUTBOX} WHERE flow = ? AND status = 'sent' "
        f"AND sent_at IS NOT NULL UNION ALL {history}",
        [flow.name, *params],
    )


def _sends(store: Store, flow: Flow) -> dict[str, int]:
    """Sent messages per origin (``outbox``, ``events``)."""
    sql, params = _sent_messages(store, flow)
    rows = store.con.execute(f"SELECT origin, count(*) FROM ({sql}) GROUP BY origin", params).fetchall()
    return {str(o): int(n) for o, n in rows}


def _unsubscribes(store: Store, flow: Flow, window: str) -> int:
    """Customers who withdrew the flow's channel within ``window`` after a message of the flow was sent."""
    w = parse_window(window)
    upper = (
        "TRUE"
        if w == "all"
        else "c.ts < date_trunc('day', m.sent_at) + INTERVAL 1 DAY"
        if w == "same_day"
        else f"c.ts < m.sent_at + to_microseconds({int(w.total_seconds() * 1e6)})"
    )
    sent, params = _sent_messages(store, flow)
    ((n,),) = store.con.execute(
        f"SELECT count(DISTINCT m.customer_id) FROM ({sent}) m JOIN consent c "
        "ON c.customer_id = m.customer_id AND c.channel = ? AND NOT c.granted "
        f"AND c.ts >= m.sent_at AND {upper}",
        [*params, flow.channel],
    ).fetchall()
    return int(n)


def flow_effect(
    store: Store,
    flow: Flow,
    *,
    alpha: float = 0.05,
    counts: pd.DataFrame | None = None,
    cuped: bool = True,
) -> FlowEffect:
    """Counts and effect of one flow (see the module docstring)."""
    c = _outbox_counts(store) if counts is None else counts
    c = c[c["flow"] == flow.name]
    by_status = c.groupby("status")["n"].sum().to_dict()
    suppressed = {
        str(r): int(n) for r, n in c[c["status"] == "suppressed"].groupby("reason")["n"].sum().items()
    }
    defs, window = _flow_metrics(flow, metrics_from_config(store.config))
    n = _exposures(store, flow.experiment_id)
    sends = _sends(store, flow)
    base: dict[str, Any] = {
        "flow": flow.name,
        "channel": flow.channel,
        "metric": flow.metric,
        "window": window,
        "triggered": int(c["n"].sum()),
        "sent": sum(sends.values()),
        "sent_by_origin": sends,
        "held_out": int(by_status.get("held_out", 0)),
        "pending": int(sum(by_status.get(s, 0) for s in ("queued", "retry", "sending"))),
        "gave_up": int(by_status.get("gave_up", 0)),
        "in_doubt": int(by_status.get("in_doubt", 0)),
        "suppressed": suppressed,
        "n": n,
        "holdout_share": flow.holdout,
        "unsubscribes": _unsubscribes(store, flow, window),
    }
    n_hold = n.get(HOLDOUT, 0)
    n_sent = sum(v for k, v in n.items() if k != HOLDOUT)
    if flow.holdout == 0 and not n_hold:
        return FlowEffect(**base, note="no holdout (holdout = 0): the flow's effect can't be measured")
    if n_hold < MIN_PER_ARM or n_sent < MIN_PER_ARM:
        return FlowEffect(
            **base,
            note=(
                f"too few exposures to measure yet ({count(n_hold)} held out, {count(n_sent)} in the sent "
                f"arm; at least {MIN_PER_ARM} in each)"
            ),
        )
    data = experiment_stats(
        store.ibis(),
        flow.experiment_id,
        defs,
        [flow.metric, REVENUE],
        control=HOLDOUT,
        cuped=cuped,
        secondary=[REVENUE],
        config=store.config,
    )
    sent_arms = data.stats.arms[1:]
    arm_w = {a: v.weight for a, v in flow.arms.items()}
    total_w = sum(arm_w.get(a, 0.0) for a in sent_arms) or 1.0
    weights = [flow.holdout] + [(1 - flow.holdout) * arm_w.get(a, 0.0) / total_w for a in sent_arms]
    pooled = analyze(_pool(data.stats), alpha=alpha, cuped=cuped, weights=[flow.holdout, 1 - flow.holdout])
    t = pooled.table
    goal = t[(t["metric"] == flow.metric) & (t["arm"] == SENT)].iloc[0]
    ctrl = t[(t["metric"] == flow.metric) & (t["arm"] == HOLDOUT)].iloc[0]
    rev = t[(t["metric"] == REVENUE) & (t["arm"] == SENT)].iloc[0]
    rev_c = t[(t["metric"] == REVENUE) & (t["arm"] == HOLDOUT)].iloc[0]
    variants: list[dict[str, Any]] = []
    srm_p = None
    if len(sent_arms) > 1:
        per_arm = analyze(data.stats.take([0]), alpha=alpha, cuped=cuped, weights=weights, units=data.units)
        srm_p = _num(per_arm.srm.p_value)
        for r in per_arm.table[~per_arm.table["is_control"]].to_dict(orient="records"):
            variants.append(
                {
                    "variant": r["arm"],
                    "n": int(r["n"]),
                    "mean": _num(r["mean"]),
                    "lift_relative": _num(r["lift_relative"]),
                    "ci_relative": [
                        _at_least_minus_one(_num(r["ci_relative_low"])),
                        _num(r["ci_relative_high"]),
                    ],
                    "p_value": _num(r["p_value"]),
                }
            )
    else:
        srm_p = _num(pooled.srm.p_value)
    error = str(goal["error"]) if goal["error"] else None
    return FlowEffect(
        **base,
        mean_holdout=_num(ctrl["mean"]),
        mean_sent=_num(goal["mean"]),
        lift_relative=_num(goal["lift_relative"]),
        ci_relative=(_at_least_minus_one(_num(goal["ci_relative_low"])), _num(goal["ci_relative_high"])),
        lift_absolute=_num(goal["lift_absolute"]),
        p_value=_num(goal["p_value"]),
        status=str(goal["status"]),
        revenue_per_recipient={SENT: _num(rev["mean"]), HOLDOUT: _num(rev_c["mean"])},
        revenue_ci=(_num(rev["ci_absolute_low"]), _num(rev["ci_absolute_high"])),
        variants=variants,
        srm_p_value=srm_p,
        note=error,
    )


def flow_effects(
    store: Store, flows: Sequence[Flow] | None = None, *, alpha: float = 0.05, cuped: bool = True
) -> FlowsReport:
    """Per declared flow (or ``flows``): triggered, sent, held out, suppressed by reason, gave up, in doubt,
    and its effect against its holdout (see the module docstring)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    found = list(flows) if flows is not None else load_flows(store.config, store.project_dir)
    counts = _outbox_counts(store)
    effects = [flow_effect(store, f, alpha=alpha, counts=counts, cuped=cuped) for f in found]
    method = "Welch's t on the relative lift (delta method)" + (
        ", CUPED where the metric has it" if cuped else ""
    )
    return FlowsReport(effects, alpha, store.config.shop.currency, method)
