"""Product recommendations from past purchases (and views): popularity, co-purchase similarity, EASE and
implicit ALS; temporal evaluation; lists precomputed in the store and served per customer."""

from cxlab.personalize.data import Catalog, Purchases, Settings, purchases_of, read_catalog, store_purchases
from cxlab.personalize.evaluate import Evaluation, evaluate, ranking_metrics, temporal_split
from cxlab.personalize.models import ALS, EASE, MODELS, CoPurchase, Item, Popularity, Recommender, make_model
from cxlab.personalize.store import Recommendations, fit_store, recommend_for, similar

__all__ = [
    "ALS",
    "EASE",
    "MODELS",
    "Catalog",
    "CoPurchase",
    "Evaluation",
    "Item",
    "Popularity",
    "Purchases",
    "Recommendations",
    "Recommender",
    "Settings",
    "evaluate",
    "fit_store",
    "make_model",
    "purchases_of",
    "ranking_metrics",
    "read_catalog",
    "recommend_for",
    "similar",
    "store_purchases",
    "temporal_split",
]
