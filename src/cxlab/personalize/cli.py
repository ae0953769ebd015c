"""``cxlab recommend``: fit and precompute recommendations, look them up, find similar products, evaluate
models on a temporal split (on the store or on a transaction file). The lead mounts ``app``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    errors_as_exit,
    fail,
    show_frame,
)
from cxlab.store import Store

app = typer.Typer(
    help="Recommendations: popularity, co-purchase, EASE and ALS models; fit, look up, evaluate.",
    no_args_is_help=True,
)

KOpt = Annotated[int, typer.Option("--k", min=1, max=500, help="Number of products.")]


@app.command()
def fit(
    db: DbOpt = DEFAULT_DB,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model to fit (default: [personalize] model, else the best nDCG@10)."),
    ] = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=500, help="Products kept per customer.")] = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Fit a model on the store and precompute every customer's recommendations."""
    from cxlab.personalize.store import fit_store

    with errors_as_exit(), Store(db) as store:
        res = fit_store(
            store.ibis(), store.con, config=store.config, store_dir=store.project_dir, model=model, k=k
        )
    if json_:
        emit_json(res.to_dict())
        return
    if res.evaluation is not None:
        show_frame(res.evaluation.to_frame(), "models evaluated", res.evaluation.summary(), wide=wide)
    console.print(escape(res.summary()))


@app.command("for")
def for_(
    customer: Annotated[str, typer.Argument(help="Customer id.")],
    db: DbOpt = DEFAULT_DB,
    k: KOpt = 10,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """A customer's recommendations, each with its reason (popularity for a customer without purchases)."""
    from cxlab.personalize.store import recommend_for

    with errors_as_exit(), Store(db, read_only=True) as store:
        res = recommend_for(store.con, customer, k, config=store.config, store_dir=store.project_dir)
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(res.to_frame(), f"recommendations for {customer}", res.summary(), wide=wide)


@app.command("similar")
def similar_(
    product: Annotated[str, typer.Argument(help="Product id.")],
    db: DbOpt = DEFAULT_DB,
    k: KOpt = 10,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """The products most often bought by the customers who bought PRODUCT."""
    from cxlab.personalize.store import similar

    with errors_as_exit(), Store(db, read_only=True) as store:
        res = similar(store.ibis(), product, k, config=store.config, store_dir=store.project_dir)
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(res.to_frame(), f"bought with {res.name}", res.summary(), wide=wide)


@app.command("evaluate")
def evaluate_(
    split_date: Annotated[
        str, typer.Option("--split-date", help="Train before this date, test on new products from it on.")
    ],
    db: DbOpt = DEFAULT_DB,
    k: KOpt = 10,
    transactions: Annotated[
        Path | None, typer.Option("--transactions", help="A transaction file instead of the store.")
    ] = None,
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")] = "customer_id",
    product_col: Annotated[str, typer.Option("--product-col", help="Product id column.")] = "product_id",
    date_col: Annotated[str, typer.Option("--date-col", help="Date or time column.")] = "date",
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="strptime format of the dates (default: ISO 8601).")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Evaluate only these models (repeatable).")
    ] = None,
    sample: Annotated[
        int | None, typer.Option("--sample", min=1, help="Score a random sample of this many test customers.")
    ] = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """precision, recall, nDCG, hit rate and coverage @k per model on a temporal split; picks the default."""
    from cxlab.personalize.data import (
        catalog_for,
        file_lines,
        parse_day,
        settings_of,
        store_lines,
        store_views,
    )
    from cxlab.personalize.evaluate import evaluate
    from cxlab.personalize.models import MODELS

    for m in model or []:
        if m not in MODELS:
            fail(f"--model: unknown model {m!r} (expected one of {', '.join(MODELS)})")
    with errors_as_exit():
        split = parse_day(split_date)
        if transactions is not None:
            lines = file_lines(transactions, customer_col, product_col, date_col, date_format)
            res = evaluate(lines, None, split, k, model or None, sample=sample, source=str(transactions))
        else:
            with Store(db, read_only=True) as store:
                con = store.ibis()
                s = settings_of(store.config)
                res = evaluate(
                    store_lines(con),
                    store_views(con),
                    split,
                    k,
                    model or None,
                    settings=s,
                    catalog=catalog_for(store.project_dir, s),
                    sample=sample,
                )
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(res.to_frame(), f"recommendation models @{k}", res.summary(), wide=wide)
