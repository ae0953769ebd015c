"""``cxlab channels ...``: channel performance, journeys and attribution from the store or a paths file.

A thin shell over :mod:`cxlab.channels` following :mod:`cxlab.clitools` (rich tables, ``--json``, exit
codes 0 / 1 / 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.markup import escape

from cxlab.channels.attribution import MODELS, Attribution, Options, attribute, compare_models
from cxlab.channels.journeys import JourneyOptions, build_journeys
from cxlab.channels.paths_file import read_paths
from cxlab.channels.performance import ChannelPerformance, Freq, channel_performance
from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FitTable,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    errors_as_exit,
    fail,
    show_summary,
    show_table,
)
from cxlab.display import DASH, count, missing, money, number, pct
from cxlab.spreadsheet import write_csv
from cxlab.store import Store, open_store

MAX_BOOTSTRAP = 10_000
"""Most bootstrap replicates (intervals are stable long before; a bound keeps a served request finite)."""
MAX_STEPS = 10_000
"""Most Markov steps for --max-steps (beyond it the answer equals the exact one to many digits)."""

app = typer.Typer(
    help="Channel performance and attribution (first/last/linear/position/time decay, Markov, Shapley).",
    no_args_is_help=True,
)

PathsOpt = Annotated[
    Path | None,
    typer.Option(
        "--paths",
        help="A ChannelAttribution-style paths file (path, total_conversions[, total_conversion_value, "
        "total_null]) instead of the store's journeys.",
    ),
]
StartOpt = Annotated[datetime | None, typer.Option("--start", help="From this time (UTC), inclusive.")]
EndOpt = Annotated[datetime | None, typer.Option("--end", help="Until this time (UTC), exclusive.")]
LookbackOpt = Annotated[
    float, typer.Option("--lookback-days", help="Touches up to this many days before a conversion.")
]
SepOpt = Annotated[str, typer.Option("--sep", help="Separator between channels in --paths.")]


@contextmanager
def _store(db: str) -> Iterator[Store]:
    with open_store(db) as store:
        yield store


def _options(
    store: Store, lookback_days: float, start: datetime | None, end: datetime | None
) -> JourneyOptions:
    timeout = store.config.journey.session_timeout_minutes
    return JourneyOptions(lookback_days, start, end, session_timeout_minutes=timeout)


def _max_steps(text: str | None) -> int | Literal["ca"] | None:
    if text is None:
        return None
    if text == "ca":
        return "ca"
    try:
        steps = int(text)
    except ValueError:
        fail(f"--max-steps must be a whole number or 'ca', got {text!r}")
    if steps > MAX_STEPS:  # one matrix-vector product per step: bounded, so a request can't run for hours
        fail(f"--max-steps must be at most {MAX_STEPS:,} (leave it out for the exact, unlimited answer)")
    return steps


@app.command()
def attribution(
    paths_file: PathsOpt = None,
    db: DbOpt = DEFAULT_DB,
    model: Annotated[str, typer.Option("--model", help=f"One of: {', '.join(MODELS)}.")] = "markov",
    order: Annotated[int, typer.Option("--order", min=1, max=4, help="Markov order (1-3 typical).")] = 1,
    first: Annotated[float, typer.Option("--first", help="Position-based share of the first touch.")] = 0.4,
    last: Annotated[float, typer.Option("--last", help="Position-based share of the last touch.")] = 0.4,
    half_life_days: Annotated[
        float, typer.Option("--half-life-days", help="Time decay on the store's journeys.")
    ] = 7.0,
    half_life_touches: Annotated[
        float, typer.Option("--half-life-touches", help="Time decay on --paths (steps, no times).")
    ] = 2.0,
    direct: Annotated[
        list[str] | None, typer.Option("--direct", help="Channels last non-direct passes over.")
    ] = None,
    max_steps: Annotated[
        str | None,
        typer.Option(
            "--max-steps", help="Markov: cut journeys after N states, or 'ca' (as ChannelAttribution)."
        ),
    ] = None,
    bootstrap: Annotated[
        int,
        typer.Option("--bootstrap", min=0, max=MAX_BOOTSTRAP, help="Replicates for 95% intervals (0: none)."),
    ] = 0,
    level: Annotated[float, typer.Option("--level", help="Interval level.")] = 0.95,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    lookback_days: LookbackOpt = 30.0,
    start: StartOpt = None,
    end: EndOpt = None,
    sep: SepOpt = ">",
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Attribute conversions and value to channels with one model."""
    if model not in MODELS:
        fail(f"unknown model {model!r} (expected one of {', '.join(MODELS)})")
    options = Options(
        order=order,
        first=first,
        last=last,
        half_life_days=half_life_days,
        half_life_touches=half_life_touches,
        direct=tuple(direct) if direct else ("direct",),
        max_steps=_max_steps(max_steps),
    )
    with errors_as_exit():
        if paths_file is not None:
            res = attribute(
                read_paths(paths_file, sep=sep), model, options, bootstrap=bootstrap, level=level, seed=seed
            )
        else:
            with _store(db) as store:
                paths = build_journeys(store.ibis(), _options(store, lookback_days, start, end), store.config)
                res = attribute(paths, model, options, bootstrap=bootstrap, level=level, seed=seed)
    if json_:
        emit_json(_contract(res))
        return
    _print_attribution(res, wide)


def _contract(res: Attribution) -> dict[str, Any]:
    """The documented JSON: ``model`` and ``channels`` with ``channel``, ``conversions``, ``value`` (and
    ``removal_effect`` for Markov), plus the rest of the result."""
    doc = res.to_dict()
    if res.model != "markov":
        for ch in doc["channels"]:
            ch.pop("removal_effect", None)
    return doc


def _print_attribution(res: Attribution, wide: bool = False) -> None:
    t = FitTable(f"attribution: {res.model}")
    t.text("channel")
    for c in ("conversions", "share", "value", "efficiency"):
        t.number(c, essential=c in ("conversions", "share"))
    if res.model == "markov":
        t.number("removal effect")
    if res.bootstrap:
        t.number(f"{pct(res.level, 0)} interval")
    for r in res.table.to_dict(orient="records"):
        row = [
            escape(str(r["channel"])),
            number(r["conversions"]),
            pct(r["share"]),
            money(r["value"], res.currency) if res.currency else number(r["value"]),
            number(r["efficiency"]),
        ]
        if res.model == "markov":
            row.append(number(r["removal_effect"], 3))
        if res.bootstrap:
            row.append(f"{number(r['conversions_low'])} – {number(r['conversions_high'])}")
        t.add_row(*row)
    show_table(t, wide)
    console.print(escape(res.summary()), soft_wrap=True)


@app.command()
def compare(
    paths_file: PathsOpt = None,
    db: DbOpt = DEFAULT_DB,
    order: Annotated[int, typer.Option("--order", min=1, max=4, help="Markov order.")] = 1,
    lookback_days: LookbackOpt = 30.0,
    start: StartOpt = None,
    end: EndOpt = None,
    sep: SepOpt = ">",
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Attributed conversions per channel under every model, side by side."""
    with errors_as_exit():
        if paths_file is not None:
            table = compare_models(read_paths(paths_file, sep=sep), options=Options(order=order))
        else:
            with _store(db) as store:
                paths = build_journeys(store.ibis(), _options(store, lookback_days, start, end), store.config)
                table = compare_models(paths, options=Options(order=order))
    if json_:
        emit_json({"models": list(table.columns), "channels": table.reset_index().to_dict(orient="records")})
        return
    t = FitTable("attributed conversions per model")
    t.text("channel")
    for m in table.columns:
        t.number(m.replace("_", " "))
    for ch, row in table.iterrows():
        t.add_row(escape(str(ch)), *(number(x) for x in row))
    show_table(t, wide)


@app.command()
def journeys(
    out: Annotated[Path, typer.Option("--out", help="Where to write the paths file (.csv or .parquet).")],
    db: DbOpt = DEFAULT_DB,
    lookback_days: LookbackOpt = 30.0,
    start: StartOpt = None,
    end: EndOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Build the journeys from the store and write them as a ChannelAttribution-style paths file."""
    with errors_as_exit(), _store(db) as store:
        paths = build_journeys(store.ibis(), _options(store, lookback_days, start, end), store.config)
        frame = paths.to_frame()
        if out.suffix.lower() == ".parquet":
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(out, index=False)
        else:
            write_csv(frame, out)
    doc = {"out": str(out), **paths.summary()}
    if json_:
        emit_json(doc)
    else:
        console.print(
            escape(
                f"{paths.n_paths:,} unique paths, {doc['journeys']:,.0f} journeys, "
                f"{paths.total_conversions:,.0f} conversions → {out}"
            )
        )


@app.command()
def performance(
    db: DbOpt = DEFAULT_DB,
    by: Annotated[str, typer.Option("--by", help="channel or campaign.")] = "channel",
    start: StartOpt = None,
    end: EndOpt = None,
    freq: Annotated[str, typer.Option("--freq", help="Trend period: month, week or day.")] = "month",
    unit: Annotated[
        str, typer.Option("--unit", help="Lagging test on session or visitor conversion.")
    ] = "session",
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of the lagging test.")] = 0.05,
    trend: Annotated[bool, typer.Option("--trend/--no-trend", help="Include the trend in --json.")] = True,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Visitors, sessions, conversion (Wilson CIs), orders, revenue, AOV, CPA/ROAS and lagging channels."""
    if by not in ("channel", "campaign"):
        fail(f"--by must be 'channel' or 'campaign', got {by!r}")
    with errors_as_exit(), _store(db) as store:
        res = channel_performance(
            store.ibis(),
            store.config,
            by=cast(Literal["channel", "campaign"], by),
            start=start,
            end=end,
            freq=cast(Freq, freq),
            unit=cast(Literal["session", "visitor"], unit),
            alpha=alpha,
        )
    if json_:
        doc = res.to_dict()
        if not trend:
            doc.pop("trend")
        emit_json(doc)
        return
    _print_performance(res, wide)


def _print_performance(res: ChannelPerformance, wide: bool = False) -> None:
    t = FitTable("channel performance", keep=len(res.by))
    cur = res.currency
    for c in res.by:
        t.text(c)
    for c in (
        "visitors",
        "sessions",
        "session conv.",
        "95% CI",
        "orders",
        f"revenue ({cur})",
        f"AOV ({cur})",
    ):
        t.number(c, essential=c in ("session conv.", f"revenue ({cur})"))
    if res.has_spend:
        for c in (f"cost ({cur})", f"CPA ({cur})", "ROAS"):
            t.number(c, essential=c != f"cost ({cur})")
    t.text("lagging", essential=True)
    for r in res.table.to_dict(orient="records"):
        row = [escape(str(r[k])) for k in res.by] + [
            count(r["visitors"]),
            count(r["sessions"]),
            pct(r["session_conversion_rate"], 2),
            f"{pct(r['session_ci_low'], 2)} – {pct(r['session_ci_high'], 2)}",
            count(r["orders"]),
            money(r["revenue"], cur),
            money(r["aov"], cur, 2),
        ]
        if res.has_spend:
            spent = not missing(r["cost"]) and r["cost"] > 0  # nothing spent: cost per order doesn't apply
            row += [money(r["cost"], cur)] + (
                [money(r["cpa"], cur, 2), number(r["roas"], 3)] if spent else [DASH, DASH]
            )
        row.append("lags" if r["lagging"] else "")
        t.add_row(*row)
    show_table(t, wide)
    show_summary(res.headline(), res.summary())
