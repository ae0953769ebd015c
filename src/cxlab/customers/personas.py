"""Behavioural personas: k-means clusters of customers on engine-computed features, described as cards.

Features per customer (computed by the engine from ``orders`` in the shop's reporting currency,
``events`` and ``feedback``): orders (log), mean order value (log), share of orders with a discount, share of orders refunded, support
contacts per order, satisfaction (feedback scores on a -1..1 scale: review/CSAT (s-3)/2, NPS (s-5)/5,
CES (s-4)/3; the mean where absent), the share of the customer's channel-tagged events per channel
and of their category page views per category. Standardised, clustered by scikit-learn's ``KMeans``
with ``k`` from 3 to 8 chosen by the highest mean silhouette on a seeded sample (the stated criterion;
:func:`cxlab.stats.silhouette.choose_k`),
so the same seed gives the same personas. Each persona is named after its two most distinctive traits
(largest standardised difference from all customers, at least 0.25 SD) and described by its size, value
share, channels, touchpoints, typical journey (the touchpoints at least half of its members reach, in order
of the median time to first reach them) and top pains (touchpoints with the most negative feedback per
member; support contacts per order).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from cxlab.config import Config
from cxlab.currency import shop_orders
from cxlab.customers.summary import seconds
from cxlab.display import count, money, pct
from cxlab.errors import MissingData, require_rows
from cxlab.identity import with_person_id
from cxlab.progress import Progress, silent
from cxlab.stats.silhouette import choose_k, sample_rows, silhouette

MAX_CHANNELS = 8
MAX_CATEGORIES = 6
SAMPLE = 5_000
JOURNEY_STEPS = 8
STEPS = ("features", "choose k", "cluster", "describe")
"""The steps of :func:`personas` reported to its ``progress``: the engine's per-customer features, the choice
of the number of personas, the clustering, the cards."""
PROGRESS = "finding personas"
CATEGORY_RE = r'"page"\s*:\s*"/?category/([^"/?]+)'

BASE_TRAITS: dict[str, tuple[str | None, str | None]] = {
    "orders_log": ("Frequent", "One-off"),
    "order_value_log": ("Big-basket", "Small-basket"),
    "discount_share": ("Deal-hunting", "Full-price"),
    "return_share": ("Return-prone", None),
    "support_per_order": ("Support-heavy", None),
    "satisfaction": ("Delighted", "Unhappy"),
}
"""Feature -> (phrase when high, phrase when low); channel and category shares add '<x>-led' / '<x>-loving'."""


def separation(silhouette: float) -> str:
    """How clear-cut clusters are, in words, from their mean silhouette (Kaufman & Rousseeuw's reading:
    below 0.25 no substantial structure, up to 0.5 a weak one); empty when they are well separated."""
    if silhouette < 0.25:
        return "The groups overlap a lot: read them as tendencies, not clear-cut types."
    if silhouette < 0.5:
        return "The groups are only loosely separated."
    return ""


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


FEATURE_LABELS = {
    "orders_log": "orders",
    "order_value_log": "order value",
    "discount_share": "orders with a discount",
    "return_share": "orders refunded",
    "support_per_order": "support contacts per order",
    "satisfaction": "satisfaction",
}


def _feature_label(feature: str) -> str:
    """A model feature as the persona chart names it: ``channel_email`` → ``channel: email``."""
    for prefix in ("channel_", "category_"):
        if feature.startswith(prefix):
            return f"{prefix[:-1]}: {feature[len(prefix) :]}"
    return FEATURE_LABELS.get(feature, _label(feature))


@dataclass(frozen=True)
class PersonaCard:
    """One persona, ready to show."""

    persona: int
    name: str
    customers: int
    share: float
    revenue_share: float
    mean_orders: float
    mean_order_value: float
    traits: list[str]
    channels: list[str]
    categories: list[str]
    touchpoints: list[str]
    journey: list[str]
    pains: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Personas:
    """The personas, the criterion that chose their number, and each customer's persona."""

    cards: list[PersonaCard]
    k: int
    silhouette: dict[int, float]
    customers: int
    seed: int
    features: list[str]
    profile: pd.DataFrame
    """Standardised mean of each feature per persona (rows) — what the names are derived from."""
    assignments: pd.DataFrame = field(repr=False)
    """``customer_id, persona``."""
    currency: str = ""
    notes: list[str] = field(default_factory=list)
    """Currency notes (conversions, orders left out) to show with the money figures."""

    @property
    def method(self) -> str:
        return (
            f"k-means on {len(self.features)} standardised behavioural features; k = {self.k} of 3-8 by the "
            f"highest mean silhouette ({self.silhouette[self.k]:.3f}) on a seeded sample of "
            f"≤{SAMPLE:,} customers; seed {self.seed}"
        )

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for c in self.cards:
            d = c.to_dict()
            for key in ("traits", "channels", "categories", "touchpoints", "journey", "pains"):
                d[key] = "; ".join(d[key]) if key != "journey" else " → ".join(d[key])
            rows.append(d)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "k": self.k,
            "silhouette": {str(k): v for k, v in self.silhouette.items()},
            "customers": self.customers,
            "currency": self.currency,
            "notes": list(self.notes),
            "seed": self.seed,
            "features": self.features,
            "personas": [c.to_dict() for c in self.cards],
        }

    def summary(self) -> str:
        """The personas in plain words: how many, the one that brings most revenue, and how clear-cut they
        are (from the silhouette, see :func:`separation`); the method is in :meth:`details`."""
        big = max(self.cards, key=lambda c: c.revenue_share)
        notes = "".join(f" Note: {n}." for n in self.notes)
        clear = separation(self.silhouette[self.k])
        return (
            f"Your {count(self.customers)} customers fall into {self.k} groups by how they buy. The group "
            f"that brings the most revenue, '{big.name}', is {pct(big.share, 0)} of customers and brings "
            f"{pct(big.revenue_share, 0)} of revenue, with orders of "
            f"{money(big.mean_order_value, self.currency)} on average.{' ' + clear if clear else ''}{notes}"
        )

    def details(self) -> str:
        """The clustering method, the fit quality of every k tried, n and the seed."""
        tried = ", ".join(f"k = {k}: {v:.3f}" for k, v in self.silhouette.items())
        return (
            f"{self.method}. Mean silhouette per number of groups tried: {tried} (from -1 to 1; below 0.25 "
            f"the groups overlap a lot). n = {count(self.customers)} customers with orders."
        )

    def figure(self) -> go.Figure:
        p = self.profile
        # names and labels hold channel and category names from the data: Plotly renders them as HTML
        names = [html.escape(f"{c.persona}. {c.name}") for c in self.cards]
        fig = go.Figure(
            go.Heatmap(
                z=p.to_numpy(),
                x=[html.escape(_feature_label(c)) for c in p.columns],
                y=names,
                zmid=0,
                colorscale="RdBu",
                hovertemplate="%{y}<br>%{x}: %{z:+.2f} standard deviations from the average<extra></extra>",
                colorbar={"title": {"text": "vs average"}},
            )
        )
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(
            title="What sets each persona apart (blue: more than the average customer, red: less)",
            height=160 + 40 * len(names),
            margin={"l": 260, "r": 30, "t": 50, "b": 140},
        )
        return fig


def _top_values(col: ir.Column, limit: int) -> list[str]:
    t = col.name("v").as_table()
    t = t.filter(t.v.notnull())
    counts = t.group_by("v").aggregate(n=t.count()).order_by([ibis.desc("n"), "v"]).limit(limit)
    return [str(v) for v in counts.execute()["v"]]


def customer_features(con: BaseBackend, orders: ir.Table) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Per customer with ``orders`` (amounts in one currency): the raw features (one engine query); also the
    channels and categories."""
    o = orders.filter(orders.customer_id.notnull())
    per = o.group_by("customer_id").aggregate(
        orders=o.count(),
        revenue=o.revenue.sum(),
        order_value=o.revenue.mean(),
        discount_share=((o.discount.fill_null(0) > 0) | o.discount_code.notnull()).cast("float64").mean(),
        return_share=(o.refunded.fill_null(0) > 0).cast("float64").mean(),
    )
    events = with_person_id(con.table("events"))
    ev = events.filter(events.person_id.notnull()).select(
        "person_id", "channel", "event", category=events.properties.re_extract(CATEGORY_RE, 1).nullif("")
    )
    channels = _top_values(ev.channel, MAX_CHANNELS)
    categories = _top_values(ev.category, MAX_CATEGORIES)
    e_aggs: dict[str, Any] = {
        "support": (ev.event == "support_contact").cast("int64").sum(),
        "tagged": ev.channel.notnull().cast("int64").sum(),
        "category_views": ev.category.notnull().cast("int64").sum(),
    }
    for i, c in enumerate(channels):
        e_aggs[f"ch{i}"] = (ev.channel == c).cast("int64").sum()
    for i, c in enumerate(categories):
        e_aggs[f"cat{i}"] = (ev.category == c).cast("int64").sum()
    per_e = ev.group_by("person_id").aggregate(**e_aggs)
    fb = con.table("feedback")
    fb = fb.filter(fb.customer_id.notnull() & fb.score.notnull())
    sat = (
        ibis.cases(
            (fb.source.isin(["review", "csat"]), (fb.score - 3) / 2),
            (fb.source == "nps", (fb.score - 5) / 5),
            (fb.source == "ces", (fb.score - 4) / 3),
            else_=ibis.null("float64"),
        )
    ).name("sat")
    per_f = (
        fb.select("customer_id", sat).group_by("customer_id").aggregate(satisfaction=lambda t: t.sat.mean())
    )
    j = per.left_join(per_e, per.customer_id == per_e.person_id).left_join(per_f, "customer_id")
    cols: dict[str, Any] = {
        "customer_id": j.customer_id,
        "orders": j.orders,
        "revenue": j.revenue,
        "order_value": j.order_value,
        "discount_share": j.discount_share,
        "return_share": j.return_share,
        "support_per_order": j.support.fill_null(0) / j.orders,
        "satisfaction": j.satisfaction,
    }
    tagged = ibis.greatest(j.tagged.fill_null(0), 1)
    views = ibis.greatest(j.category_views.fill_null(0), 1)
    for i, c in enumerate(channels):
        cols[f"channel_{c}"] = j[f"ch{i}"].fill_null(0) / tagged
    for i, c in enumerate(categories):
        cols[f"category_{c}"] = j[f"cat{i}"].fill_null(0) / views
    df = j.select(**cols).order_by("customer_id").execute()
    return df, channels, categories


def _model_matrix(df: pd.DataFrame) -> pd.DataFrame:
    x = pd.DataFrame(
        {
            "orders_log": np.log(df["orders"].astype(float)),
            "order_value_log": np.log1p(df["order_value"].astype(float)),
            "discount_share": df["discount_share"].astype(float),
            "return_share": df["return_share"].astype(float),
            "support_per_order": df["support_per_order"].astype(float),
            "satisfaction": df["satisfaction"].astype(float).fillna(df["satisfaction"].mean()).fillna(0.0),
        }
    )
    extra = [c for c in df.columns if c.startswith(("channel_", "category_"))]
    return pd.concat([x, df[extra].astype(float)], axis=1)


def _trait_phrase(feature: str, z: float) -> str | None:
    if feature in BASE_TRAITS:
        hi, lo = BASE_TRAITS[feature]
        return hi if z > 0 else lo
    if z <= 0:
        return None
    if feature.startswith("channel_"):
        return f"{_label(feature[len('channel_') :])}-led"
    if feature.startswith("category_"):
        return f"{_label(feature[len('category_') :])}-loving"
    return None


def _name(profile_row: pd.Series, taken: set[str]) -> tuple[str, list[str]]:
    ranked = profile_row.abs().sort_values(ascending=False).index
    phrases: list[str] = []
    for f in ranked:
        p = _trait_phrase(f, float(profile_row[f]))
        if p and abs(profile_row[f]) >= 0.25 and p not in phrases:
            phrases.append(p)
    if not phrases:
        phrases = ["Typical"]
    for n in range(2, len(phrases) + 2):
        name = ", ".join(phrases[:n] if n > 2 else phrases[:2]) + " shoppers"
        name = name[0].upper() + name[1:].lower()
        if name not in taken:
            return name, phrases[:4]
    return f"{phrases[0]} shoppers ({len(taken) + 1})", phrases[:4]


def _journeys(con: BaseBackend, labels: ir.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per persona and touchpoint: people reaching it, events, median days from first event to first touch."""
    events = with_person_id(con.table("events"))
    ev = events.filter(events.person_id.notnull() & events.touchpoint.notnull())
    first = ev.group_by("person_id").aggregate(start=ev.ts.min())
    touch = ev.group_by(["person_id", "touchpoint"]).aggregate(at=ev.ts.min(), events=ev.count())
    t = touch.inner_join(first, "person_id").inner_join(labels, touch.person_id == labels.customer_id)
    days = (seconds(t.at) - seconds(t.start)) / 86_400.0
    tp = (
        t.mutate(days=days)
        .group_by(["persona", "touchpoint"])
        .aggregate(
            people=lambda x: x.count(), events=lambda x: x.events.sum(), days=lambda x: x.days.median()
        )
        .execute()
    )
    fb = con.table("feedback")
    fb = fb.filter(fb.customer_id.notnull() & fb.touchpoint.notnull())
    negative = (
        ((fb.source.isin(["review", "csat"])) & (fb.score <= 2))
        | ((fb.source == "nps") & (fb.score <= 6))
        | ((fb.source == "ces") & (fb.score <= 3))
    )
    f = fb.mutate(neg=negative.fill_null(False).cast("int64")).inner_join(labels, "customer_id")
    pains = (
        f.group_by(["persona", "touchpoint"]).aggregate(negative=f.neg.sum(), feedback=f.count()).execute()
    )
    return tp, pains


def personas(
    con: BaseBackend,
    *,
    k: int | None = None,
    seed: int = 42,
    config: Config | None = None,
    progress: Progress | None = None,
) -> Personas:
    """Cluster the store's customers into personas (``k`` fixed, or chosen by silhouette from 3 to 8);
    money in the shop's reporting currency (``config``). ``progress`` hears of each of the
    :data:`STEPS` as it is done."""
    report = progress or silent
    done = iter(range(1, len(STEPS) + 1))
    report(PROGRESS, 0, len(STEPS))
    require_rows(con, "orders", "Personas", ["customer_id"])
    shop = shop_orders(con, config)
    raw, channels, categories = customer_features(con, shop.table)
    report(PROGRESS, next(done), len(STEPS))
    if len(raw) < 4:
        raise MissingData(f"personas need at least 4 customers with orders; this store has {len(raw)}")
    x = _model_matrix(raw).round(9)  # engine sums may differ in the last bits from run to run
    z = StandardScaler().fit_transform(x.to_numpy())
    z = np.nan_to_num(z)
    if k is None:
        chosen = choose_k(z, range(3, 9), seed=seed, sample=SAMPLE)
        k, scores = chosen.k, chosen.scores
    else:
        if not 2 <= k <= len(raw) - 1:
            raise ValueError(f"k must be between 2 and {len(raw) - 1}, got {k}")
        scores = {}
    report(PROGRESS, next(done), len(STEPS))
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(z)
    if k not in scores:
        scores[k] = silhouette(z, km.labels_, sample_rows(len(z), SAMPLE, seed))
    revenue = raw["revenue"].to_numpy(float)
    by_cluster = pd.Series(revenue).groupby(km.labels_).sum()
    order = by_cluster.sort_values(ascending=False, kind="stable").index.tolist()
    persona = np.empty(k, dtype=int)
    persona[order] = np.arange(1, k + 1)
    lab = persona[km.labels_]
    zf = pd.DataFrame(z, columns=x.columns)
    profile = zf.groupby(lab).mean().sort_index()
    assignments = pd.DataFrame({"customer_id": raw["customer_id"].to_numpy(), "persona": lab})
    report(PROGRESS, next(done), len(STEPS))
    tp, pains = _journeys(con, ibis.memtable(assignments))
    total_rev = revenue.sum()
    cards: list[PersonaCard] = []
    taken: set[str] = set()
    for p in range(1, k + 1):
        members = lab == p
        n = int(members.sum())
        name, traits = _name(cast(pd.Series, profile.loc[p]), taken)
        taken.add(name)
        ch_share = raw.loc[members, [f"channel_{c}" for c in channels]].mean()
        ch_all = raw[[f"channel_{c}" for c in channels]].mean()
        chans = [
            f"{c} {pct(ch_share[f'channel_{c}'], 0)} "
            f"({ch_share[f'channel_{c}'] / max(ch_all[f'channel_{c}'], 1e-12):.1f}× the average)"
            for c in sorted(channels, key=lambda c: -ch_share[f"channel_{c}"])[:3]
        ]
        cat_share = raw.loc[members, [f"category_{c}" for c in categories]].mean()
        cats = [
            f"{c} ({pct(cat_share[f'category_{c}'], 0)} of category views)"
            for c in sorted(categories, key=lambda c: -cat_share[f"category_{c}"])[:2]
        ]
        t = tp[tp["persona"] == p]
        reach = t.assign(reach=t["people"] / n)
        journey = (
            reach[reach["reach"] >= 0.5]
            .sort_values(["days", "touchpoint"])["touchpoint"]
            .tolist()[:JOURNEY_STEPS]
        )
        all_tp = tp.groupby("touchpoint")["events"].sum() / len(raw)
        per_tp = t.set_index("touchpoint")["events"] / n
        lifts = pd.DataFrame(
            {"touchpoint": per_tp.index, "lift": (per_tp / all_tp.reindex(per_tp.index)).round(9).to_numpy()}
        ).sort_values(["lift", "touchpoint"], ascending=[False, True])
        touchpoints = [f"{r.touchpoint} ({r.lift:.1f}× the average use)" for r in lifts.head(3).itertuples()]
        pn = pains[pains["persona"] == p]
        pn = pn.assign(rate=pn["negative"] / n)
        pn = pn[pn["negative"] > 0].sort_values(["rate", "touchpoint"], ascending=[False, True]).head(3)
        pain_list = [f"{r.touchpoint}: negative feedback from {pct(r.rate)} of them" for r in pn.itertuples()]
        support = float(raw.loc[members, "support_per_order"].mean())
        if support > 0:
            pain_list.append(f"{support:.2f} support contacts per order")
        cards.append(
            PersonaCard(
                persona=p,
                name=name,
                customers=n,
                share=n / len(raw),
                revenue_share=float(revenue[members].sum() / total_rev) if total_rev else 0.0,
                mean_orders=float(raw.loc[members, "orders"].mean()),
                mean_order_value=float(raw.loc[members, "order_value"].mean()),
                traits=traits,
                channels=chans,
                categories=cats,
                touchpoints=touchpoints,
                journey=journey,
                pains=pain_list,
            )
        )
    report(PROGRESS, next(done), len(STEPS))
    return Personas(
        cards=cards,
        k=k,
        silhouette=dict(sorted(scores.items())),
        customers=len(raw),
        seed=seed,
        features=list(x.columns),
        profile=profile,
        assignments=assignments,
        currency=shop.currency,
        notes=shop.notes,
    )
