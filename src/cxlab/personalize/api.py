"""``GET /v1/recommendations/{customer_id}``: a customer's precomputed recommendations (read role).

The table ``recommend fit`` wrote is loaded into memory once per store version (the server's result cache),
so a lookup is a dictionary access; without a table the answer is a 404 that says to run the fit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from cxlab.personalize.store import RecTable, load_table
from cxlab.server.auth import require, state_of

router = APIRouter()


class RecommendedItem(BaseModel):
    product_id: str
    name: str
    """The catalogue's name, else the product id."""
    score: float
    reason: str


class RecommendationsOut(BaseModel):
    customer_id: str
    items: list[RecommendedItem]
    model: str
    source: str
    """``table``: the customer's own list; ``popularity``: no purchases known for this customer."""


@router.get(
    "/v1/recommendations/{customer_id}",
    response_model=RecommendationsOut,
    tags=["recommendations"],
    dependencies=[Depends(require("read"))],
    summary="A customer's recommended products, each with a reason",
    responses={
        401: {"description": "Missing, unknown or revoked API key"},
        403: {"description": "The key's role may not read"},
        404: {"description": "No recommendations fitted yet on this store"},
    },
)
def recommendations(
    customer_id: str,
    request: Request,
    k: Annotated[int, Query(ge=1, le=500, description="Number of products.")] = 10,
) -> RecommendationsOut:
    state = state_of(request)

    def load() -> RecTable | None:
        with state.scope() as cur:
            return load_table(cur)

    table = state.cached("personalize.recommendations", None, load)
    if table is None:
        raise HTTPException(404, "no recommendations yet: run `cxlab recommend fit` on the store")
    res = table.lookup(customer_id, k)
    return RecommendationsOut(
        customer_id=res.customer_id,
        items=[
            RecommendedItem(product_id=i.product_id, name=i.label, score=i.score, reason=i.reason)
            for i in res.items
        ],
        model=res.model,
        source=res.source,
    )
