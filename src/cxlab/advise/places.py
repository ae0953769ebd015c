"""Actions about places (touchpoints and channels) from the strengths-and-weaknesses comparison and the
lagging-channel test, one action per place.

Every significant finding about a place becomes a :class:`Finding`: a weakness is worth closing half its gap
to the peers over the period analysed (SWOT's ``money_at_stake`` is the whole gap, so half of it; the lagging
test's ``gap_value`` likewise), a strength is worth its edge. The findings about one place are then merged:

* weaknesses only: one action, worth the largest of them (they overlap: fewer buyers and less spend per
  customer are partly the same money, so they are not added up), as sure as the surest;
* weaknesses and strengths: one action whose text says the signals conflict and shows both, certainty
  "mixed signals". The same holds when a channel lags on visits that buy while the comparison of the people
  it brought in (their conversion) found no difference: the two measure one thing and disagree;
* strengths only: nothing to fix, no action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from cxlab.advise.advice import MIXED, Action
from cxlab.display import certainty, count, p_value, pct, points
from cxlab.journey.swot import detail, fact

LAGGING = "session_conversion"
"""The metric name of a lagging-channel finding (share of visits through the channel with a purchase)."""

SAME_THING = {"conversion": {LAGGING}}
"""A metric → the metrics it measures the same thing as: "no difference" on it contradicts a weakness on
those (a channel's people convert as its peers' do, yet its visits are said to convert worse)."""

TOUCHPOINT_HINTS = {
    "delivery": "check the carrier's on-time rate per country and the delivery date promised at checkout",
    "unboxing": "check the packaging and the damage reports per carrier",
    "returns": "check the return reasons and how many steps the returns form takes",
    "checkout": "check payment errors, costs shown only at the end and the number of form steps",
    "cart": "check the shipping costs and surprises shown in the cart",
    "product_page": "check the photos, sizes, stock and delivery times the page shows",
    "product": "check the reviews and return reasons per product",
    "customer_service": "check the response times and the tickets left unanswered",
    "site": "check page speed and search results on mobile",
    "newsletter": "check the newsletter's offers and the pages its links land on",
    "retargeting_ad": "check who the ads reach and the pages they land on",
    "abandoned_cart_email": "check when it is sent and what it shows",
    "shipping_confirmation_email": "check the tracking link and the delivery date it gives",
    "shipping_sms": "check the tracking link and the delivery date it gives",
    "order_confirmation_email": "check that it says what was bought, when it arrives and how to change it",
    "review_request": "check when it is sent (after delivery?) and how many steps a review takes",
    "nps_survey": "check when it is sent and how long it takes",
    "loyalty": "check what members get and how they hear about it",
}
"""What to look at first, for the touchpoints of the default ``cxlab.toml`` (others get a general hint)."""


@dataclass(frozen=True)
class Finding:
    """One difference between a place and its peers, in plain words and priced."""

    kind: str
    name: str
    metric: str
    verdict: Literal["weak", "strong", "same"]
    """Worse or better than the peers, or no clear difference (kept only where it can contradict)."""
    text: str
    """The finding about "it", against the peers (:func:`cxlab.journey.swot.fact`), e.g. "80% of its feedback
    is negative, against 29% for the other touchpoints (top complaints: …)"."""
    money: float
    """A weakness: half the gap to the peers; a strength: its edge (both over the period analysed)."""
    p_adjusted: float
    source: str
    detail: str = ""
    """The statistics behind it: n, the difference with its interval, the adjusted p-value."""
    evidence: tuple[str, ...] = ()
    """Top complaints (from the feedback themes), for a touchpoint's weakness."""


def swot_findings(table: pd.DataFrame, currency: str, correction: str = "holm") -> list[Finding]:
    """The strengths and weaknesses of a SWOT table (:attr:`cxlab.journey.swot.Swot.table`) as findings, and
    its "as peers" results on metrics that can contradict another source (:data:`SAME_THING`)."""
    same = (table["verdict"] == "as peers") & table["metric"].isin(list(SAME_THING))
    t = table[table["verdict"].isin(["weakness", "strength"]) | same]
    out = []
    for r in t.to_dict(orient="records"):
        weak = r["verdict"] == "weakness"
        out.append(
            Finding(
                kind=str(r["kind"]),
                name=str(r["name"]),
                metric=str(r["metric"]),
                verdict="weak" if weak else "strong" if r["verdict"] == "strength" else "same",
                text=fact(r, currency),
                money=float(r["money_at_stake"]) * (0.5 if weak else 1.0),
                p_adjusted=float(r["p_adjusted"]),
                source="swot",
                detail=detail(r, currency, correction),
                evidence=tuple(str(e) for e in (r.get("evidence") or ())) if weak else (),
            )
        )
    return out


def lagging_findings(lagging: pd.DataFrame, paid: Iterable[str], correction: str = "holm") -> list[Finding]:
    """The lagging channels of :attr:`cxlab.channels.performance.ChannelPerformance.lagging` ``.table`` (by
    channel, with ``gap_value``) as weaknesses: half the gap in purchases, at the channel's order value."""
    paid = set(paid)
    t = lagging[lagging["lagging"].astype(bool)]
    out = []
    for r in t.to_dict(orient="records"):
        name = str(r["channel"])
        peers = f"the other {'paid' if name in paid else 'unpaid'} channels" if paid else "the other channels"
        gap = float(r.get("gap_value", float("nan")))
        out.append(
            Finding(
                kind="channel",
                name=name,
                metric=LAGGING,
                verdict="weak",
                text=f"{pct(r['rate'])} of its visits ended in a purchase, against {pct(r['peer_rate'])} for {peers}",
                money=0.5 * gap if pd.notna(gap) else float("nan"),
                p_adjusted=float(r["p_adjusted"]),
                source="lagging-channels",
                detail=(
                    f"{name} (channel), visits that buy: n = {count(r['trials'])} visits; difference "
                    f"{points(r['difference'])}, 95% CI {points(r['difference_low'])} to "
                    f"{points(r['difference_high'])}; {correction}-adjusted one-sided p {p_value(r['p_adjusted'])}."
                ),
            )
        )
    return out


def best_peers(lagging: pd.DataFrame, paid: Iterable[str]) -> dict[str, str]:
    """Channel → where to move its budget, in words: the peer of the same kind (paid or unpaid) whose visits
    buy most often, e.g. "paid_search (5.8% of its visits buy, against 2.0%)"."""
    paid = set(paid)
    t = lagging[~lagging["lagging"].astype(bool) & lagging["p_value"].notna()]
    out = {}
    for r in lagging.to_dict(orient="records"):
        name = str(r["channel"])
        same = t[[(str(c) in paid) == (name in paid) and str(c) != name for c in t["channel"]]]
        if len(same):
            b = same.sort_values("rate", ascending=False).iloc[0]
            out[name] = f"{b['channel']} ({pct(b['rate'])} of its visits buy, against {pct(r['rate'])})"
    return out


def _first_look(name: str, metrics: Sequence[str]) -> str:
    if name in TOUCHPOINT_HINTS:
        return TOUCHPOINT_HINTS[name]
    if any(m in ("negative_feedback", "negative_sentiment") for m in metrics):
        return f"read the negative feedback about {name} and fix its most common cause"
    return f"see where people go after {name} (`cxlab journey paths --start {name}`) and fix what stops them"


def _touchpoint_step(name: str, weak: Sequence[Finding]) -> str:
    look = _first_look(name, [f.metric for f in weak])
    said = [e for f in weak[1:] for e in f.evidence] if not weak[0].evidence else []
    complaints = f" — top complaints: {'; '.join(said)}" if said else ""
    return f"{name}: {weak[0].text}{complaints}. {_sentence(look)}, then A/B test a fix on {name}."


def _channel_step(name: str, weak: Sequence[Finding], paid: set[str], best: Mapping[str, str]) -> str:
    if name in paid:
        test = f"test new targeting and landing pages for {name}"
        then = f"Move budget to {best[name]} and {test}." if name in best else f"{_sentence(test)}."
        return f"Cut or rework {name}: {weak[0].text}. {then}"
    return (
        f"Rework {name}: {weak[0].text}. Check the pages its visitors land on and why they leave, then A/B "
        f"test a better landing page."
    )


def _mixed(name: str, weak: Sequence[Finding], other: Sequence[Finding]) -> tuple[str, str]:
    """The why and the next step of a place whose findings disagree, showing both sides."""
    side = "Better" if other[0].verdict == "strong" else "No clear difference"
    both = f"Worse: {weak[0].text}. {side}: {other[0].text}."
    why = f"The signals conflict. {both}"
    step = (
        f"Mixed signals at {name}. {both} Find out which is right before changing {name}; test any change "
        f"with an A/B test that measures both."
    )
    return why, step


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def place_actions(
    findings: Sequence[Finding],
    currency: str,
    horizon: str,
    *,
    paid: Iterable[str] = (),
    best: Mapping[str, str] | None = None,
    months: float | None = None,
) -> list[Action]:
    """One action per place with a weakness (see the module docstring); ``horizon`` says over what period
    the money counts (e.g. "over the 24 months analysed", ``months`` long)."""
    paid, best = set(paid), dict(best or {})
    places: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        places.setdefault((f.kind, f.name), []).append(f)
    actions = []
    for (kind, name), fs in places.items():
        weak = sorted((f for f in fs if f.verdict == "weak"), key=lambda f: -_value(f.money))
        if not weak:
            continue
        strong = sorted((f for f in fs if f.verdict == "strong"), key=lambda f: -_value(f.money))
        weak_on = {f.metric for f in weak}
        same = [f for f in fs if f.verdict == "same" and SAME_THING[f.metric] & weak_on]
        other = strong or same
        if other:
            sure = MIXED
            why, step = _mixed(name, weak, other)
        else:
            sure = certainty(min(f.p_adjusted for f in weak))
            why = _sentence(weak[0].text)
            step = (
                _touchpoint_step(name, weak)
                if kind == "touchpoint"
                else _channel_step(name, weak, paid, best)
            )
        evidence = [f"worse: {f.text}" for f in weak] + [f"better: {f.text}" for f in strong]
        evidence += [f"no clear difference: {f.text}" for f in same]
        evidence += [f"complaint: {e}" for f in weak for e in f.evidence]
        evidence += [f.detail for f in weak + strong + same if f.detail]
        priced = [f.money for f in weak if pd.notna(f.money)]
        actions.append(
            Action(
                kind="touchpoint" if kind == "touchpoint" else "channel",
                name=name,
                money_at_stake=max(priced) if priced else None,
                currency=currency,
                certainty=sure,
                next_step=step,
                why=why,
                horizon=horizon,
                months=months,
                evidence=tuple(evidence),
                source=tuple(dict.fromkeys(f.source for f in weak + other)),
            )
        )
    return actions


def _value(x: float) -> float:
    return x if pd.notna(x) else float("-inf")
