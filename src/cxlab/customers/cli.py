"""``cxlab customers``: RFM segments, personas, lifetime value and churn risk (the lead mounts ``app``).

``cxlab customers clv fit`` also fits straight from a summary CSV (frequency, recency, T[, monetary_value],
as ``lifetimes`` writes it) or a transaction log CSV, so ``lifetimes`` users can switch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import ibis
import pandas as pd
import typer
from rich.markup import escape

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FigureOpt,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    err,
    errors_as_exit,
    fail,
    progress,
    show_frame,
    show_summary,
    write_figure,
)
from cxlab.customers.holdout import holdout_check
from cxlab.customers.inputs import read_summary_csv, read_transactions_csv
from cxlab.customers.lifetime import MIN_REPEAT_BUYERS, Settings, fit_models
from cxlab.customers.summary import purchase_summary
from cxlab.customers.value import DEFAULT_MODEL, MODELS
from cxlab.display import count, day, money, pct, points, whole
from cxlab.spreadsheet import write_csv
from cxlab.store import open_store

MAX_MONTHS = 1200
"""Longest value horizon (100 years; a bound keeps a served request finite)."""

app = typer.Typer(
    help="Customers: RFM segments, personas, lifetime value (MBG/NBD, BG/NBD, Pareto/NBD, Gamma-Gamma) and "
    "churn risk.",
    no_args_is_help=True,
)

OutOpt = Annotated[Path | None, typer.Option("--out", help="Write the full per-customer table to this CSV.")]
TopOpt = Annotated[int, typer.Option("--top", min=1, help="Rows to show (and to put in the JSON document).")]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help=f"Purchase model: {', '.join(MODELS)} (default {DEFAULT_MODEL}: a one-order customer may be gone).",
    ),
]


def _model_name(name: str) -> str:
    if name not in MODELS:
        fail(f"--model: unknown purchase model {name!r} (expected one of {', '.join(MODELS)})")
    return name


def _print_frame(df: pd.DataFrame, title: str, currency: str, wide: bool) -> None:
    """A result table in full (these are short), amounts in the shop's currency."""
    show_frame(df, title, "", limit=len(df), wide=wide, currency=currency)


@app.command()
def rfm(
    db: DbOpt = DEFAULT_DB,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Score on this date (default: the last order).")
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option("--compare", help="Also show movement from the segments on this earlier date."),
    ] = None,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """RFM quintile scores and the named segments: sizes, revenue share, and movement between dates."""
    from cxlab.customers.rfm import rfm_movement, rfm_segments

    with errors_as_exit(), open_store(db) as store:
        con = store.ibis()
        seg = rfm_segments(con, as_of, config=store.config)
        move = rfm_movement(con, compare, as_of, config=store.config) if compare else None
    write_figure(move.figure() if move is not None else seg.figure(), figure)
    if json_:
        emit_json({**seg.to_dict(), "movement": move.to_dict() if move is not None else None})
        return
    show_summary(seg.summary(), seg.details())
    _print_frame(seg.to_frame(), f"RFM segments on {day(seg.as_of)}", seg.currency, wide)
    if move is not None:
        console.print(escape(move.summary()))
        _print_frame(
            move.matrix().reset_index(), "segment movement (rows: from, columns: to)", seg.currency, wide
        )


@app.command()
def personas(
    db: DbOpt = DEFAULT_DB,
    k: Annotated[
        int | None, typer.Option("--k", min=2, help="Number of personas (default: by silhouette).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same personas.")] = 42,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write each customer's persona to this CSV.")
    ] = None,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Behavioural personas (k-means on engine-computed features) as cards."""
    from cxlab.customers.personas import personas as run

    with errors_as_exit(), open_store(db) as store, progress(not json_) as bar:
        res = run(store.ibis(), k=k, seed=seed, config=store.config, progress=bar)
    if out is not None:
        write_csv(res.assignments, out)
    write_figure(res.figure(), figure)
    if json_:
        emit_json(res.to_dict())
        return
    show_summary(res.summary(), res.details())
    for c in res.cards:
        console.print(
            f"\n[bold]{c.persona}. {escape(c.name)}[/]  {count(c.customers)} customers ({pct(c.share, 0)}), "
            f"{pct(c.revenue_share, 0)} of revenue; {c.mean_orders:.1f} orders of "
            f"{escape(money(c.mean_order_value, res.currency))} on average"
        )
        for label, items, sep in (
            ("channels", c.channels, "; "),
            ("categories", c.categories, "; "),
            ("touchpoints", c.touchpoints, "; "),
            ("journey", c.journey, " → "),
            ("pains", c.pains, "; "),
        ):
            if items:
                console.print(f"  {label}: {escape(sep.join(items))}", soft_wrap=True)


clv_app = typer.Typer(
    help="Lifetime value: fit MBG/NBD (or BG/NBD, Pareto/NBD) and Gamma-Gamma on the store's orders, "
    "predict and check on a holdout. `clv fit` fits a summary or transactions CSV instead.",
)
app.add_typer(clv_app, name="clv")


@clv_app.callback(invoke_without_command=True)
def clv(
    ctx: typer.Context,
    db: DbOpt = DEFAULT_DB,
    calibration_end: Annotated[
        str | None,
        typer.Option("--calibration-end", help="Fit on orders up to here (default: the last order)."),
    ] = None,
    holdout: Annotated[
        float, typer.Option("--holdout", min=0, help="Weeks held out to check the model (0: no check).")
    ] = 26.0,
    months: Annotated[int, typer.Option(min=1, max=MAX_MONTHS, help="CLV horizon in months.")] = 12,
    discount_rate: Annotated[float, typer.Option("--discount-rate", help="Monthly discount rate.")] = 0.01,
    model: ModelOpt = DEFAULT_MODEL,
    top: TopOpt = 20,
    out: OutOpt = None,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Fit on the store, predict P(alive), purchases and CLV per customer, and check on a holdout."""
    if ctx.invoked_subcommand is not None:
        return
    from cxlab.customers.lifetime import lifetime_value

    settings = Settings(model=_model_name(model), months=months, discount_rate=discount_rate, holdout=holdout)
    with errors_as_exit(), open_store(db) as store:
        res = lifetime_value(
            store.ibis(), calibration_end=calibration_end, settings=settings, config=store.config
        )
    if out is not None:
        write_csv(res.to_frame(), out)
    write_figure(res.figure(), figure)
    if json_:
        emit_json(res.to_dict(top=top))
        return
    show_summary(res.summary(), res.details())
    _print_frame(res.purchases.to_frame(), res.purchases.method, res.currency, wide)
    if res.spend is not None:
        _print_frame(res.spend.to_frame(), res.spend.method, res.currency, wide)
    if res.holdout is not None:
        _print_frame(res.holdout.to_frame(), "holdout check: mean purchases per customer", res.currency, wide)
    _print_frame(res.to_frame().head(top), f"top {top} customers by CLV", res.currency, wide)


def _fit_doc(frame: pd.DataFrame, model: str) -> tuple[dict[str, Any], Any, Any]:
    """Fit with :func:`fit_models` (as ``customers clv`` does) and describe the fit as a JSON document."""
    purchases, spend = fit_models(frame, model)
    p = purchases.to_dict()
    doc: dict[str, Any] = {
        model: {
            k: p[k] for k in (*purchases.params_, "loglik", "n", "n_new", "degenerate", "degenerate_reason")
        }
    }
    ses: dict[str, Any] = {model: p["se"]}
    if spend is not None:
        g = spend.to_dict()
        doc["gamma_gamma"] = {
            k: g[k] for k in ("p", "q", "v", "loglik", "n", "degenerate", "degenerate_reason")
        }
        ses["gamma_gamma"] = g["se"]
    else:
        doc["gamma_gamma"] = None
        if "monetary_value" in frame:
            err.print(
                f"warning: fewer than {MIN_REPEAT_BUYERS} repeat buyers with a monetary value: no Gamma-Gamma fit"
            )
    doc["standard_errors"] = ses
    doc["method"] = purchases.method + (f"; {spend.method}" if spend is not None else "")
    return doc, purchases, spend


@clv_app.command("fit")
def clv_fit(
    summary: Annotated[
        Path | None, typer.Option("--summary", help="CSV with frequency, recency, T[, monetary_value].")
    ] = None,
    transactions: Annotated[
        Path | None, typer.Option("--transactions", help="CSV with one row per transaction.")
    ] = None,
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")] = "customer_id",
    date_col: Annotated[str, typer.Option("--date-col", help="Date or time column.")] = "date",
    value_col: Annotated[str | None, typer.Option("--value-col", help="Transaction value column.")] = None,
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="strptime format of the dates (default: ISO 8601).")
    ] = None,
    calibration_end: Annotated[
        str | None, typer.Option("--calibration-end", help="Last day (or time) of the calibration period.")
    ] = None,
    observation_end: Annotated[
        str | None, typer.Option("--observation-end", help="End of a holdout period to check predictions on.")
    ] = None,
    period: Annotated[
        str, typer.Option("--period", help="Clock: day or week (purchases in one count once).")
    ] = "week",
    time_unit: Annotated[
        str | None,
        typer.Option("--time-unit", help="Unit of recency and T: day or week (default: --period)."),
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Count every purchase time, exact durations (no periods).")
    ] = False,
    model: ModelOpt = DEFAULT_MODEL,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Fit the purchase model and Gamma-Gamma on a summary CSV or a transactions CSV."""
    model = _model_name(model)
    if (summary is None) == (transactions is None):
        fail("give exactly one of --summary FILE.csv or --transactions FILE.csv")
    check = None
    with errors_as_exit():
        if summary is not None:
            if observation_end is not None:
                raise ValueError("--observation-end needs --transactions (a summary has no holdout)")
            s = read_summary_csv(summary)
            cols = {"frequency": s.frequency, "recency": s.recency, "T": s.T}
            if s.monetary_value is not None:
                cols["monetary_value"] = s.monetary_value
            f = pd.DataFrame(cols)
            info: dict[str, Any] = {"input": str(summary), "customers": len(f)}
        else:
            assert transactions is not None
            if calibration_end is None:
                raise ValueError("--calibration-end is required with --transactions")
            log = read_transactions_csv(transactions, customer_col, date_col, value_col, date_format)
            ps = purchase_summary(
                ibis.memtable(log),
                calibration_end,
                observation_end=observation_end,
                value_col="value" if value_col else None,
                period=period,
                time_unit=time_unit,
                exact=exact,
            )
            f = ps.frame
            if f.empty:
                raise ValueError(f"{transactions}: no transactions on or before {calibration_end}")
            info = {
                "input": str(transactions),
                "customers": len(f),
                "calibration_end": ps.calibration_end,
                "observation_end": ps.observation_end,
                "clock": ps.clock,
                "time_unit": ps.time_unit,
            }
        doc, purchases, spend = _fit_doc(f, model)
        if transactions is not None and observation_end is not None:
            check = holdout_check(
                purchases,
                f["frequency"],
                f["recency"],
                f["T"],
                f["frequency_holdout"],
                float(f["duration_holdout"].iloc[0]),
                time_unit=ps.time_unit,
            )
            doc["holdout"] = check.to_dict()
    doc["data"] = info
    if check is not None:
        write_figure(check.figure(), figure)
    elif figure is not None:
        err.print("warning: no figure without a holdout (--observation-end)")
    if json_:
        emit_json(doc)
        return
    console.print(escape(purchases.summary()))
    if spend is not None:
        console.print(escape(spend.summary()))
    if check is not None:
        console.print(escape(check.summary()))
        _print_frame(check.to_frame(), "holdout check: mean purchases per customer", "", wide)


@app.command()
def churn(
    db: DbOpt = DEFAULT_DB,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date of the ranking (default: the last order).")
    ] = None,
    lookback: Annotated[
        float, typer.Option("--lookback", min=0.1, help="Weeks over which the fall in P(alive) is measured.")
    ] = 13.0,
    months: Annotated[int, typer.Option(min=1, max=MAX_MONTHS, help="Value horizon in months.")] = 12,
    discount_rate: Annotated[float, typer.Option("--discount-rate", help="Monthly discount rate.")] = 0.01,
    model: ModelOpt = DEFAULT_MODEL,
    top: TopOpt = 20,
    out: OutOpt = None,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Customers ranked by value at risk: high value if active, falling probability of being active."""
    from cxlab.customers.churn import churn_risk

    settings = Settings(model=_model_name(model), months=months, discount_rate=discount_rate, holdout=0)
    with errors_as_exit(), open_store(db) as store:
        res = churn_risk(store.ibis(), as_of=as_of, lookback=lookback, settings=settings, config=store.config)
    if out is not None:
        write_csv(res.to_frame(), out)
    write_figure(res.figure(), figure)
    if json_:
        emit_json(res.to_dict(top=top))
        return
    show_summary(res.summary(), res.details())
    names = {
        "rank": "rank",
        "customer_id": "customer_id",
        "value_at_risk": "value at risk",
        "p_alive": "chance still active",
        "p_alive_change": "change",
        "orders": "orders",
        "weeks_since_last_order": "weeks since last order",
        "value_if_alive": "worth if still active",
    }
    shown = res.top(top)[list(names)].rename(columns=names)
    show_frame(
        shown,
        f"top {top} customers by value at risk",
        "",
        limit=len(shown),
        wide=wide,
        currency=res.currency,
        keep=2,
        essential=("value at risk", "chance still active"),
        formats={
            "chance still active": pct,
            "change": lambda x: points(x, 0),
            "weeks since last order": whole,
        },
    )
