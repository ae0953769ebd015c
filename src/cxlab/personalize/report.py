"""The recommendations section of the report: each model's precision, recall, nDCG, hit rate and coverage
@10 on a temporal split of the store's own purchases (80% of them before it), the default model, and the
products most often bought together. To stay fast on a large store the evaluation scores a random sample of
:data:`SAMPLE` test customers (the summary says so)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.display import count, pct
from cxlab.errors import MissingData
from cxlab.personalize.data import catalog_for, settings_of, store_lines, store_views
from cxlab.personalize.evaluate import evaluate
from cxlab.personalize.store import default_split
from cxlab.report.section import Section
from cxlab.store import Store

SAMPLE = 2000
K = 10
PAIRS = 10


def top_pairs(store: Store, n: int = PAIRS) -> pd.DataFrame:
    """The product pairs bought by the most customers (engine side), with names when the catalog has them."""
    con = store.ibis()
    lines = store_lines(con).select("customer_id", "product_id").distinct()
    a = lines.rename(product_a="product_id")
    b = lines.rename(product_b="product_id", cust_b="customer_id")
    j = a.join(b, (a.customer_id == b.cust_b) & (a.product_a < b.product_b))
    pairs = j.group_by(["product_a", "product_b"]).aggregate(customers=j.count())
    df = pairs.order_by([pairs.customers.desc(), "product_a", "product_b"]).limit(n).to_pandas()
    cat = catalog_for(store.path.parent, settings_of(store.config))
    for c in ("product_a", "product_b"):
        df[c] = [cat.name(p) if cat is not None else p for p in df[c]]
    return df


def recommendations_section(store: Store) -> Section:
    """Which recommendation model predicts the next purchases best, and what sells together."""
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
        catalog=catalog_for(store.path.parent, s),
        sample=SAMPLE,
    )
    t = ev.to_frame()
    shown = pd.DataFrame(
        {
            "model": [f"{m} (default)" if m == ev.default else m for m in t["model"]],
            f"precision@{K}": t["precision"].map(lambda x: f"{x:.3f}"),
            f"recall@{K}": t["recall"].map(lambda x: f"{x:.3f}"),
            f"nDCG@{K}": t["ndcg"].map(lambda x: f"{x:.3f}"),
            f"hit rate@{K}": t["hit_rate"].map(pct),
            "catalogue coverage": t["coverage"].map(pct),
        }
    )
    pairs = top_pairs(store)
    together = "; ".join(
        f"{a} + {b} ({count(c)} customers)"
        for a, b, c in zip(pairs["product_a"], pairs["product_b"], pairs["customers"], strict=True)
    )
    best = t.set_index("model").loc[ev.default]
    summary = (
        f"{ev.summary()} It shows {pct(best['coverage'])} of the catalogue to someone. "
        f"Bought together most often: {together or 'no pairs yet'}. "
        "Run `cxlab recommend fit` to precompute every customer's list with this model."
    )
    return Section("recommendations", "Recommendations", summary, [ev.figure()], shown)


SECTIONS: tuple[Callable[[Store], Section], ...] = (recommendations_section,)
