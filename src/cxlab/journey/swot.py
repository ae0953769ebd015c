"""Strengths & weaknesses: every touchpoint and channel against its peers, with statistics and money.

Peers are true alternatives, never steps that follow one another:

* a touchpoint's peers are the touchpoints on the *same step of the same stage* (``journey.steps`` in
  ``cxlab.toml``: the position of a touchpoint inside its stage, 1 = first; a touchpoint without a step is on
  step 1, so a config without steps compares every touchpoint of a stage with the others, as before). Steps
  that follow each other are not compared: fewer people move on from the cart than from the checkout after
  it because the checkout is further along, not because the cart is weak. A touchpoint alone on its step has
  no peers and is not tested (verdict ``no peers``). The peer group is named after the stage, with the step
  when the stage has more than one (``conversion step 1``); see :func:`touchpoint_peer_groups`;
* a channel's peers are the channels of the same kind (paid channels against the other paid channels of
  ``cxlab.toml``, unpaid against unpaid). A channel's people are those it acquired (their first
  channel-tagged event).

Metrics, each against the pooled peers (:func:`cxlab.stats.peers.compare_with_peers`: Newcombe interval of the
difference of proportions with the score test, Welch for means):

* ``next_stage`` (touchpoints: of the people who *did* something there, the share who moved on to the next
  stage) / ``conversion`` (channels: share of the people acquired who bought); worth the store's revenue per
  buyer each;
* ``repeat_rate``: share of those people's buyers who bought twice or more; worth one average order each;
* ``revenue_per_customer``: revenue per person (Welch test); worth itself;
* ``negative_feedback`` (touchpoints, against *all* other touchpoints with feedback: a complaint is a
  complaint wherever it is made): share of the feedback about the touchpoint that is negative (review or
  CSAT 1–2, NPS 0–6, CES 1–3 of 7, any support ticket); lower is better; each excess negative item puts one
  customer's revenue at risk (the revenue per buyer);
* ``negative_sentiment`` (touchpoints, against all other touchpoints with texts; once ``cxlab voice analyze``
  has run): share of the feedback *texts* about the touchpoint whose sentiment is negative, valued like
  negative feedback, with the touchpoint's top negative themes as evidence.

Repeat rate and revenue per customer of *touchpoints* are shown as context, not tested: people reach some
touchpoints because they bought more (returns, customer service, reviews), so those numbers say who gets
there, not what the touchpoint does. Channels acquire disjoint sets of people, so for them the test is fair.

A finding is a strength or weakness only when its Holm-corrected p-value (over every comparison made) is
below 5%; findings are ranked by money at stake: what the gap to the peers' median is worth over the
period analysed (and per month).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.display import count, money, p_value, pct, points
from cxlab.errors import require_rows
from cxlab.journey.data import journey_events, person_attribute
from cxlab.journey.journey_map import person_touchpoints
from cxlab.progress import Progress, counted
from cxlab.stats.peers import Correction, adjust_pvalues, compare_with_peers
from cxlab.voice.emotion import sentiment_texts

FACT = {
    "next_stage": "{v} of the people who did something here went on to the next stage",
    "conversion": "{v} of the people it brought in bought something",
    "repeat_rate": "{v} of its buyers bought again",
    "revenue_per_customer": "the people it brought in spent {v} each",
    "negative_feedback": "{v} of its feedback is negative",
    "negative_sentiment": "{v} of the texts written about it read as negative",
}
"""Each metric's finding in plain words; ``{v}`` is the place's own value (see :func:`fact`)."""
NOUN = {
    "next_stage": "people",
    "conversion": "people",
    "repeat_rate": "buyers",
    "revenue_per_customer": "people",
    "negative_feedback": "feedback items",
    "negative_sentiment": "feedback texts",
}
STEPS = 6
"""Units of :func:`swot`'s progress: five engine queries (totals, touchpoints, channels, feedback, feedback
texts) and the comparisons."""
COLUMNS = [
    "kind", "name", "peer_group", "metric", "value", "peer_value", "peer_median", "diff", "ci_low", "ci_high",
    "effect_size", "n", "peers", "peer_n", "p_value", "p_adjusted", "money_at_stake", "money_per_month", "verdict",
]  # fmt: skip


@dataclass(frozen=True)
class Swot:
    """Every comparison made (``table``) and the significant ones as strengths and weaknesses."""

    table: pd.DataFrame
    currency: str
    months: float
    alpha: float = 0.05
    correction: Correction = "holm"
    notes: tuple[str, ...] = ()
    """Currency notes (:attr:`cxlab.currency.ShopOrders.notes`): orders converted or left out."""

    @property
    def weaknesses(self) -> pd.DataFrame:
        w = self.table[self.table["verdict"] == "weakness"]
        return w.sort_values("money_at_stake", ascending=False).reset_index(drop=True)

    @property
    def strengths(self) -> pd.DataFrame:
        s = self.table[self.table["verdict"] == "strength"]
        return s.sort_values("money_at_stake", ascending=False).reset_index(drop=True)

    @property
    def mixed(self) -> pd.DataFrame:
        """The findings about places (kind and name) that are a weakness on one metric and a strength on
        another: their signals conflict, so they are shown together, never as a weakness and a strength."""
        found = self.table[self.table["verdict"].isin(["weakness", "strength"])]
        both = found.groupby(["kind", "name"])["verdict"].transform("nunique") > 1
        return found[both].sort_values(["kind", "name", "verdict"], ascending=[True, True, False])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _items(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        out = []
        for r in df.to_dict(orient="records"):
            out.append(
                {
                    "kind": r["kind"],
                    "name": r["name"],
                    "metric": r["metric"],
                    "peer_group": r["peer_group"],
                    "value": float(r["value"]),
                    "peer_value": float(r["peer_value"]),
                    "peer_median": float(r["peer_median"]),
                    "diff": float(r["diff"]),
                    "ci": [float(r["ci_low"]), float(r["ci_high"])],
                    "effect_size": float(r["effect_size"]),
                    "n": int(r["n"]),
                    "peer_n": int(r["peer_n"]),
                    "p_adjusted": float(r["p_adjusted"]),
                    "money_at_stake": float(r["money_at_stake"]),
                    "money_per_month": float(r["money_per_month"]),
                    "sentence": sentence(r, self.currency),
                    "details": detail(r, self.currency, self.correction),
                    "evidence": list(r.get("evidence") or []),
                }
            )
        return out

    def places(self) -> list[dict[str, Any]]:
        """One entry per place (kind and name) with a finding, ready to show: ``verdict`` (weakness,
        strength or "mixed signals"), ``kind``, ``name``, ``sentence`` (plain words, every finding about the
        place together), ``details`` (n, difference, interval, adjusted p of each) and ``worth_per_month``
        (the most any of its findings is worth, see :func:`worth`; the measures overlap, so they are not
        added up; None for mixed signals). Weaknesses first, then mixed signals, then strengths, each by
        money."""
        found = pd.concat([self.weaknesses, self.strengths], ignore_index=True)
        found["worth"] = [worth(r) for r in found.to_dict(orient="records")]
        found = found.sort_values("worth", ascending=False, kind="stable")
        out = []
        for (kind, name), rows in found.groupby(["kind", "name"], sort=False):
            recs = rows.to_dict(orient="records")
            verdicts = {r["verdict"] for r in recs}
            verdict = verdicts.pop() if len(verdicts) == 1 else "mixed signals"
            out.append(
                {
                    "verdict": verdict,
                    "kind": kind,
                    "name": name,
                    "sentence": say(recs, self.currency),
                    "finding": say(recs, self.currency, worth_it=False),
                    "details": " ".join(detail(r, self.currency, self.correction) for r in recs),
                    "worth_per_month": None if verdict == "mixed signals" else float(rows["worth"].max()),
                }
            )
        rank = {"weakness": 0, "mixed signals": 1, "strength": 2}
        return sorted(out, key=lambda p: rank[p["verdict"]])

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.summary(),
            "headline": self.headline(),
            "alpha": self.alpha,
            "correction": self.correction,
            "currency": self.currency,
            "currency_notes": list(self.notes),
            "months": self.months,
            "comparisons": len(self.table),
            "strengths": self._items(self.strengths),
            "weaknesses": self._items(self.weaknesses),
            "places": self.places(),
        }

    def summary(self) -> str:
        """The method (statsmodels-style: for ``--json`` and the report's folded details)."""
        return (
            f"{len(self.table)} comparisons of touchpoints (vs the same step of the same stage) and channels "
            f"(paid vs paid, unpaid vs unpaid) with their pooled peers; 95% Newcombe (proportions) and Welch "
            f"(means) intervals of the difference; "
            f"{self.correction}-corrected p < {self.alpha:g} to count; ranked by money at stake (gap to the "
            f"peer median × n × value) over {self.months:.1f} months; {len(self.weaknesses)} weaknesses, "
            f"{len(self.strengths)} strengths; money in {self.currency}."
            + "".join(f" Note: {n}." for n in self.notes)
        )

    def headline(self) -> str:
        """What was found, in plain words: the biggest weakness and strength, conflicts, how many in all."""
        tested = self.table["verdict"].isin(["weakness", "strength", "as peers"])
        if not tested.any():
            return "No touchpoint or channel had enough people or feedback to compare with its peers."
        places = self.places()
        if not places:
            return (
                f"Nothing stands out: none of the {count(int(tested.sum()))} comparisons shows a touchpoint or "
                f"channel clearly better or worse than its peers."
            )
        mixed = [p["name"] for p in places if p["verdict"] == "mixed signals"]
        found = pd.concat([self.weaknesses, self.strengths], ignore_index=True)
        conflicted = {(p["kind"], p["name"]) for p in places if p["verdict"] == "mixed signals"}
        found = found[[(k, n) not in conflicted for k, n in zip(found["kind"], found["name"], strict=True)]]
        found = found.assign(worth=[worth(r) for r in found.to_dict(orient="records")])
        parts = []
        for verdict, head, gap in (
            ("weakness", "Biggest weakness", "closing half the gap would be worth"),
            ("strength", "Biggest strength", "its edge is worth"),
        ):
            rows = found[found["verdict"] == verdict].sort_values("worth", ascending=False, kind="stable")
            if len(rows):
                r = rows.iloc[0].to_dict()
                value = f"; {gap} about {money(r['worth'], self.currency)} a month" if r["worth"] >= 1 else ""
                parts.append(
                    f"{head}: {r['name']} ({r['kind']}), where {fact(r, self.currency, False)}{value}."
                )
        if mixed:
            parts.append(f"Mixed signals about {', '.join(mixed)}: better on one measure, worse on another.")
        n_w = sum(p["verdict"] == "weakness" for p in places)
        n_s = sum(p["verdict"] == "strength" for p in places)
        also = f", {len(mixed)} with mixed signals" if mixed else ""
        parts.append(f"In all: {n_w} weak and {n_s} strong places{also}.")
        return " ".join(parts)

    def figure(self) -> go.Figure:
        """What each place's findings are worth a month (the most any of them is worth, as in the table): one
        row per place, weaknesses left, strengths right; a place with mixed signals has both on its row."""
        found = pd.concat([self.weaknesses, self.strengths], ignore_index=True)
        found["worth"] = [worth(r) for r in found.to_dict(orient="records")]
        found["label"] = (found["name"] + " (" + found["kind"] + ")").map(html.escape)
        found["text"] = [html.escape(sentence(r, self.currency)) for r in found.to_dict(orient="records")]
        bars = found.sort_values("worth", ascending=False, kind="stable").drop_duplicates(
            ["label", "verdict"]
        )
        keep = list(dict.fromkeys(bars["label"]))[:20]
        bars = bars[bars["label"].isin(keep)]
        order = bars.groupby("label")["worth"].max().sort_values().index
        fig = go.Figure()
        for verdict, colour, sign in (("weakness", "#c0392b", -1), ("strength", "#27ae60", 1)):
            df = bars[bars["verdict"] == verdict]
            fig.add_trace(
                go.Bar(
                    x=sign * df["worth"],
                    y=df["label"],
                    orientation="h",
                    name=verdict,
                    marker_color=colour,
                    hovertext=df["text"],
                    hoverinfo="text",
                )
            )
        fig.update_yaxes(categoryorder="array", categoryarray=list(order), automargin=True)
        fig.update_layout(
            title=f"What each finding is worth a month ({self.currency}): weaknesses left, strengths right",
            xaxis_title=f"{self.currency} a month",
            barmode="relative",
            height=160 + 28 * len(order),
            legend={"orientation": "h", "y": -0.15},
        )
        return fig


def worth(r: Mapping[Any, Any]) -> float:
    """What a finding is worth a month: half the gap for a weakness (closing half of it is a fair first goal),
    the whole edge over the peer median for a strength."""
    return float(0.5 * r["money_per_month"] if r["verdict"] == "weakness" else r["money_per_month"])


def _fmt(metric: str, x: float, currency: str) -> str:
    return money(x, currency, 2) if metric == "revenue_per_customer" else pct(x)


def _fmt_diff(metric: str, x: float, currency: str) -> str:
    return money(x, currency, 2, signed=True) if metric == "revenue_per_customer" else points(x)


def _peers(r: Mapping[Any, Any]) -> str:
    """The peers in words: "the other touchpoints", "the other paid channels", "the other touchpoints at
    step 2 of conversion"."""
    group, kind = str(r["peer_group"]), f"{r['kind']}s"
    if group in ("all", "paid", "unpaid"):
        return f"the other {'' if group == 'all' else group + ' '}{kind}"
    stage, _, step = group.partition(" step ")
    return f"the other {kind} at step {step} of {stage}" if step else f"the other {stage} {kind}"


def fact(r: Mapping[Any, Any], currency: str, quote: bool = True) -> str:
    """The finding itself in plain words, against the peers: "62% of its feedback is negative, against 12%
    for the other touchpoints" (with ``quote``, the complaints about a weakness)."""
    m = r["metric"]
    said = f" (top complaints: {'; '.join(r.get('evidence') or [])})" if quote and _complaints(r) else ""
    return (
        FACT[m].format(v=_fmt(m, r["value"], currency))
        + f", against {_fmt(m, r['peer_value'], currency)} for {_peers(r)}{said}"
    )


def _complaints(r: Mapping[Any, Any]) -> bool:
    """Complaints are evidence of a weakness only (a strength is never argued with complaints)."""
    return bool(r.get("evidence")) and r["verdict"] == "weakness"


def sentence(r: Mapping[Any, Any], currency: str) -> str:
    """One finding in plain words with what it is worth a month; the statistics are in :func:`detail`."""
    return say([r], currency)


def say(findings: Sequence[Mapping[Any, Any]], currency: str, worth_it: bool = True) -> str:
    """The findings about one place in plain words: what is worse or better than its peers, and (with
    ``worth_it``) what the biggest is worth a month; when some are weaknesses and others strengths, that the
    signals conflict."""
    r0 = findings[0]
    who = f"{r0['name']} ({r0['kind']})"
    worse = [fact(r, currency) for r in findings if r["verdict"] == "weakness"]
    better = [fact(r, currency) for r in findings if r["verdict"] == "strength"]
    if worse and better:
        return (
            f"{who}: the signals conflict. Worse than its peers: {'; '.join(worse)}. "
            f"Better than its peers: {'; '.join(better)}."
        )
    top = max(worth(r) for r in findings)
    gap = "Its edge over the peers is" if better else "Closing half the gap would be"
    value = f" {gap} worth about {money(top, currency)} a month." if top >= 1 and worth_it else ""
    return (
        f"{who} does {'better' if better else 'worse'} than its peers: {'; '.join(worse or better)}.{value}"
    )


def detail(r: Mapping[Any, Any], currency: str, correction: str = "holm") -> str:
    """The statistics behind a finding: n, the difference with its 95% interval, the adjusted p-value."""
    m = r["metric"]
    return (
        f"{r['name']} ({r['kind']}), {m.replace('_', ' ')}: n = {count(r['n'])} {NOUN[m]} "
        f"(peers {count(r['peer_n'])}); difference {_fmt_diff(m, r['diff'], currency)}, 95% CI "
        f"{_fmt_diff(m, r['ci_low'], currency)} to {_fmt_diff(m, r['ci_high'], currency)}; "
        f"{correction}-adjusted p {_p(r['p_adjusted'])}."
    )


def _p(p: Any) -> str:
    shown = p_value(p)
    return shown if shown.startswith("<") else f"= {shown}"


def _negative(fb: ir.Table) -> ir.BooleanValue:
    s = fb.score
    return ibis.cases(
        (fb.source == "ticket", True),
        (fb.source.isin(["review", "csat"]), s <= 2),
        (fb.source == "nps", s <= 6),
        (fb.source == "ces", s <= 3),
        else_=False,
    ).fill_null(False)


def swot(
    con: BaseBackend,
    config: Config,
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    min_n: int = 30,
    evidence: Mapping[str, Sequence[str]] | None = None,
    progress: Progress | None = None,
) -> Swot:
    """Compare every touchpoint and channel with its peers (see the module docstring).

    ``evidence``: touchpoint → its top negative feedback themes (:func:`cxlab.voice.themes.negative_themes`),
    quoted with a ``negative_sentiment`` weakness. ``progress``: the engine queries and the comparisons done,
    of :data:`STEPS` (the work is a handful of big queries, not many small units)."""
    require_rows(con, "events", "Strengths and weaknesses")
    # each next(steps) after a query reports one more step done (counted reports after each item it yields)
    steps = iter(counted(range(STEPS), "strengths and weaknesses: queries", progress))
    next(steps)
    stages = config.journey.stages
    ev = journey_events(con, config)
    person, currency, notes = _person_money(con, config, ev)
    totals = (
        person.aggregate(
            revenue=person.revenue.sum(),
            buyers=(person.purchases > 0).cast("int64").sum(),
            orders=person.purchases.sum(),
            first=person.first.min(),
            last=person.last.max(),
        )
        .execute()
        .iloc[0]
    )
    next(steps)
    months = (
        max((pd.Timestamp(totals["last"]) - pd.Timestamp(totals["first"])).days / 30.44, 1.0)
        if pd.notna(totals["first"])
        else 1.0
    )
    per_buyer = float(totals["revenue"]) / max(float(totals["buyers"]), 1.0)
    per_order = float(totals["revenue"]) / max(float(totals["orders"]), 1.0)

    pt = person_touchpoints(ev, len(stages)).join(person, "person_id")
    has_next = (pt.stage_idx < len(stages) - 1) & pt.acted
    tp = _unit_stats(pt, pt.touchpoint, pt.stage, pt.next_t.notnull(), has_next).execute()
    next(steps)
    tp["group"] = tp["name"].map(touchpoint_peer_groups(config))
    acq = person_attribute(con, ev, "channel")
    pc = person.join(acq, "person_id")
    paid = set(config.channels.paid)
    kind = ibis.cases((pc.value.isin(sorted(paid)), "paid"), else_="unpaid") if paid else ibis.literal("all")
    ch = _unit_stats(pc, pc.value, kind, pc.purchases > 0, ibis.literal(True)).execute()
    next(steps)
    fb = con.table("feedback")
    # a question the assistant handed to a person is stored as a ticket, but it is a question, not a complaint:
    # the assistant's feedback is its thumbs (csat 5 or 1)
    fb = fb.filter(fb.touchpoint.notnull(), ~((fb.source == "ticket") & (fb.touchpoint == "assistant")))
    fb = fb.left_join(stage_frame(config), "touchpoint")
    fb = fb.filter(fb.stage.notnull())
    neg = (
        fb.group_by(name=fb.touchpoint, group=ibis.literal("all"))
        .aggregate(n=fb.count(), total=_negative(fb).cast("int64").sum())
        .execute()
    )
    next(steps)
    texts = sentiment_texts(con)
    if texts is not None:
        texts = texts.filter(texts.touchpoint.isin(list(config.journey.touchpoints)))
        moods = (
            texts.group_by(name=texts.touchpoint, group=ibis.literal("all"))
            .aggregate(n=texts.count(), total=(texts.label == "negative").cast("int64").sum())
            .execute()
        )
    else:
        moods = pd.DataFrame(columns=["name", "group", "n", "total"])
    next(steps)
    context = [
        _compare(tp, "touchpoint", "repeat_rate", "buyers", "repeaters", per_order, min_n),
        _compare_mean(tp, "touchpoint", min_n),
    ]
    parts = [
        _compare(tp, "touchpoint", "next_stage", "n_next", "k_next", per_buyer, min_n),
        _compare(neg.assign(kind="touchpoint"), "touchpoint", "negative_feedback", "n", "total", per_buyer,
                 min_n, higher_is_better=False),
        _compare(moods.assign(kind="touchpoint"), "touchpoint", "negative_sentiment", "n", "total", per_buyer,
                 min_n, higher_is_better=False),
        _compare(ch, "channel", "conversion", "n_next", "k_next", per_buyer, min_n),
        _compare(ch, "channel", "repeat_rate", "buyers", "repeaters", per_order, min_n),
        _compare_mean(ch, "channel", min_n),
    ]  # fmt: skip
    found = [p for p in parts if len(p)]
    if not found:
        next(steps, None)
        return Swot(pd.DataFrame(columns=COLUMNS), currency, months, alpha, correction, notes)
    table = pd.concat(found, ignore_index=True)
    table["p_adjusted"] = adjust_pvalues(table["p_value"], correction)
    sig = table["p_adjusted"] < alpha
    lower_better = table["metric"].isin(["negative_feedback", "negative_sentiment"])
    worse = np.where(lower_better, table["diff"] > 0, table["diff"] < 0)
    table["verdict"] = np.where(sig & worse, "weakness", np.where(sig & ~worse, "strength", "as peers"))
    table.loc[~np.isfinite(table["p_adjusted"]), "verdict"] = "too few"
    table.loc[table["peers"] == 0, "verdict"] = "no peers"
    ctx = (
        pd.concat([c for c in context if len(c)], ignore_index=True) if any(len(c) for c in context) else None
    )
    if ctx is not None:
        ctx = ctx.assign(p_adjusted=np.nan, verdict="context (not tested)")
        table = pd.concat([table, ctx], ignore_index=True)
    table["money_per_month"] = table["money_at_stake"] / months
    table = table[COLUMNS].sort_values(["verdict", "money_at_stake"], ascending=[True, False])
    next(steps, None)
    ev = dict(evidence or {})
    table["evidence"] = [
        list(ev.get(n, [])) if m == "negative_sentiment" else []
        for n, m in zip(table["name"], table["metric"], strict=True)
    ]
    return Swot(table.reset_index(drop=True), currency, months, alpha, correction, notes)


def _person_money(con: BaseBackend, config: Config, ev: ir.Table) -> tuple[ir.Table, str, tuple[str, ...]]:
    """Per person: ``revenue``, ``purchases``, ``first`` and ``last`` event time; the currency and notes.

    With orders in the store, revenue and purchases are the person's orders (:func:`cxlab.currency.shop_orders`:
    one reporting currency, never GBP summed as EUR); without, the purchase events and their revenue."""
    seen = ev.group_by("person_id").aggregate(first=ev.ts.min(), last=ev.ts.max())
    if int(con.table("orders").count().execute()) == 0:
        buys = ev.mutate(_b=(ev.event == "purchase").cast("int64"))
        spent = buys.group_by("person_id").aggregate(
            revenue=buys.revenue.sum().fill_null(0.0), purchases=buys._b.sum()
        )
        return seen.join(spent, "person_id"), config.shop.currency, ()
    orders = shop_orders(con, config)
    o = orders.table.filter(orders.table.customer_id.notnull())
    spent = o.group_by(person_id=o.customer_id).aggregate(revenue=o.revenue.sum(), purchases=o.count())
    joined = seen.left_join(spent, "person_id")
    person = joined.select(
        "person_id",
        "first",
        "last",
        revenue=joined.revenue.fill_null(0.0),
        purchases=joined.purchases.fill_null(0).cast("int64"),
    )
    return person, orders.currency, tuple(orders.notes)


def touchpoint_peer_groups(config: Config) -> dict[str, str]:
    """Touchpoint → its peer group: its stage, with its step (``journey.steps``) when the stage has several;
    touchpoints of one group are alternatives and compared with each other, the others are not."""
    j = config.journey
    steps = {s: {j.step_of(t) for t, st in j.touchpoints.items() if st == s} for s in j.stages}
    return {t: s if len(steps[s]) == 1 else f"{s} step {j.step_of(t)}" for t, s in j.touchpoints.items()}


def stage_frame(config: Config) -> ir.Table:
    from cxlab.journey.data import stage_table

    return stage_table(config).select("touchpoint", "stage")


def _unit_stats(
    t: ir.Table, unit: ir.Value, group: ir.Value, moved: ir.BooleanValue, has_next: ir.BooleanValue
) -> ir.Table:
    """Sufficient statistics per unit: people, next-stage successes, buyers, repeaters, revenue sums."""
    t = t.mutate(
        name=unit.cast("string"),
        group=group.cast("string"),
        _moved=moved.cast("int64"),
        _has_next=has_next,
        _buyer=(t.purchases > 0).cast("int64"),
        _rep=(t.purchases > 1).cast("int64"),
    )
    return t.group_by(["name", "group"]).aggregate(
        n=t.count(),
        n_next=ibis.cases((t._has_next, 1), else_=0).sum(),
        k_next=ibis.cases((t._has_next, t._moved), else_=0).sum(),
        buyers=t._buyer.sum(),
        repeaters=t._rep.sum(),
        rev=t.revenue.sum(),
        rev_sq=(t.revenue * t.revenue).sum(),
    )


def _compare(
    df: pd.DataFrame,
    kind: str,
    metric: str,
    n: str,
    k: str,
    value: float,
    min_n: int,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    d = df[df[n] > 0]
    if d.empty:
        return pd.DataFrame()
    frame = pd.DataFrame({"name": d["name"], "group": d["group"], "n": d[n], "total": d[k]})
    out = compare_with_peers(
        frame, kind="proportion", value_per_unit=value, higher_is_better=higher_is_better, min_n=min_n
    )
    return _finish(out[out["n"] >= min_n], kind, metric)


def _compare_mean(df: pd.DataFrame, kind: str, min_n: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"name": df["name"], "group": df["group"], "n": df["n"], "total": df["rev"], "sq": df["rev_sq"]}
    )
    out = compare_with_peers(frame, kind="mean", total_sq="sq", min_n=min_n)
    return _finish(out[out["n"] >= min_n], kind, "revenue_per_customer")


def _finish(out: pd.DataFrame, kind: str, metric: str) -> pd.DataFrame:
    return out.assign(kind=kind, metric=metric, peer_group=out["group"]).drop(columns=["group"])
