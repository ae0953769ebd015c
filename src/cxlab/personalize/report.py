"""The recommendations section of the report: each model's precision, recall, nDCG, hit rate and coverage
@10 on a temporal split of the store's own purchases (80% of them before it), the default model, and the
products most often bought together. To stay fast on a large store the evaluation scores a random sample of
:data:`SAMPLE` test customers (the details say so).

The summary says in plain words which way of recommending works best here and what sells together; the
ranking metrics (nDCG, precision), the split and the sample go to the details."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from cxlab.display import count, day, number, pct
from cxlab.errors import MissingData
from cxlab.personalize.data import catalog_for, settings_of, store_lines, store_views
from cxlab.personalize.evaluate import Evaluation, evaluate
from cxlab.personalize.store import default_split
from cxlab.report.section import Section, duckdb_only, titled
from cxlab.store import Store

SAMPLE = 2000
K = 10
PAIRS = 10
SHOWN_PAIRS = 5
"""Pairs named in the summary (all :data:`PAIRS` are in the details)."""
MODEL_WORDS = {
    "popularity": "best sellers",
    "co_purchase": "products bought together with theirs",
    "ease": "what similar shoppers bought (EASE)",
    "als": "what similar shoppers bought (ALS)",
}
"""Each recommendation model in words, as a shop owner would say it."""


def top_pairs(store: Store, n: int = PAIRS) -> pd.DataFrame:
    """The product pairs bought by the most customers (engine side), with names when the catalog has them."""
    con = store.ibis()
    lines = store_lines(con).select("customer_id", "product_id").distinct()
    a = lines.rename(product_a="product_id")
    b = lines.rename(product_b="product_id", cust_b="customer_id")
    j = a.join(b, (a.customer_id == b.cust_b) & (a.product_a < b.product_b))
    pairs = j.group_by(["product_a", "product_b"]).aggregate(customers=j.count())
    df = pairs.order_by([pairs.customers.desc(), "product_a", "product_b"]).limit(n).to_pandas()
    cat = catalog_for(store.project_dir, settings_of(store.config))
    for c in ("product_a", "product_b"):
        df[c] = [cat.name(p) if cat is not None else p for p in df[c]]
    return df


def _words(model: str) -> str:
    return MODEL_WORDS.get(model, model.replace("_", " "))


def _pairs_text(pairs: pd.DataFrame) -> str:
    return "; ".join(
        f"{a} + {b} ({count(c)} customers)"
        for a, b, c in zip(pairs["product_a"], pairs["product_b"], pairs["customers"], strict=True)
    )


def _details(ev: Evaluation, pairs: pd.DataFrame) -> str:
    """The split, the sample, every model's ranking metrics, and all the top pairs."""
    t = ev.to_frame()
    scores = "; ".join(
        f"{r.model}: precision@{ev.k} {number(r.precision, 3)}, recall@{ev.k} {number(r.recall, 3)}, "
        f"nDCG@{ev.k} {number(r.ndcg, 3)}, hit rate {pct(r.hit_rate)}, catalogue coverage {pct(r.coverage)}"
        for r in t.itertuples()
    )
    sampled = (
        f", a random sample of {count(ev.customers)} of {count(ev.customers_total)}"
        if ev.customers < ev.customers_total
        else ""
    )
    together = f" Bought together most often: {_pairs_text(pairs)}." if len(pairs) else ""
    return (
        f"{ev.method}. Test customers: {count(ev.customers)}{sampled}; {count(ev.products)} products. The "
        f"default model is the one with the highest nDCG@{ev.k}. {scores}.{together}"
    )


@titled("Recommendations")
def recommendations_section(store: Store) -> Section:
    """Which way of recommending predicts the next purchases best, and what sells together."""
    duckdb_only(store, "the recommendations are fitted and evaluated on a DuckDB store only")
    con = store.ibis()
    split = default_split(con)
    if split is None:
        raise MissingData("recommendations need purchases on more than one day to evaluate a split")
    s = settings_of(store.config)
    ev = evaluate(
        store_lines(con),
        store_views(con),
        split,
        K,
        settings=s,
        catalog=catalog_for(store.project_dir, s),
        sample=SAMPLE,
    )
    t = ev.to_frame()
    shown = pd.DataFrame(
        {
            "recommends": [f"{_words(m)}{' (default)' if m == ev.default else ''}" for m in t["model"]],
            f"customers who bought one of the {K} suggested": t["hit_rate"].map(pct),
            "share of their next purchases suggested": t["recall"].map(pct),
            "products it ever suggests": t["coverage"].map(pct),
        }
    )
    pairs = top_pairs(store)
    best = t.set_index("model").loc[ev.default]
    together = (
        f" Bought together most often: {_pairs_text(pairs.head(SHOWN_PAIRS))}."
        if len(pairs)
        else " No two products have been bought by the same customer yet."
    )
    summary = (
        f"Recommending {_words(ev.default)} works best here: for {pct(best['hit_rate'], 0)} of "
        f"customers, one of the {K} products it would have suggested on {day(ev.split)} was one they went "
        "on to buy. "
        f"It suggests {pct(best['coverage'], 0)} of the catalogue to someone.{together} Run "
        "`cxlab recommend fit` to prepare every customer's list with it."
    )
    return Section(
        "recommendations", "Recommendations", summary, [_figure(ev)], shown, details=_details(ev, pairs)
    )


def _figure(ev: Evaluation) -> go.Figure:
    """Each model's hit rate and recall, as percentages, named in words."""
    t = ev.to_frame()
    names = [_words(m) for m in t["model"]]
    fig = go.Figure(
        [
            go.Bar(name=f"customers who bought one of the {ev.k} suggested", x=names, y=t["hit_rate"] * 100),
            go.Bar(name="share of their next purchases suggested", x=names, y=t["recall"] * 100),
        ]
    )
    fig.update_layout(
        barmode="group",
        title="How well each way of recommending predicted the next purchases",
        yaxis_title="%",
        height=380,
    )
    return fig


SECTIONS: tuple[Callable[[Store], Section], ...] = (recommendations_section,)
