"""``cxlab journey map|funnel|paths|retention|swot``: thin shells over :mod:`cxlab.journey`."""

from __future__ import annotations

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
    progress,
    show_frame,
    show_summary,
)
from cxlab.display import duration, pct

app = typer.Typer(
    help="Journey map, funnels, paths, retention, strengths & weaknesses.", no_args_is_help=True
)

ByOpt = Annotated[
    str | None, typer.Option("--by", help="Breakdown: channel, country, device, variant, segment.")
]


@app.command("map")
def map_cmd(db: DbOpt = DEFAULT_DB, by: ByOpt = None, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """Stage × touchpoint: people reached, share reaching the next stage, time to it, revenue."""
    from cxlab.journey.journey_map import journey_map
    from cxlab.store import open_store

    with errors_as_exit(), open_store(db) as store:
        res = journey_map(store.ibis(), store.config, by=by)
        currency = store.config.shop.currency
    if json_:
        emit_json(res.to_dict())
        return
    names = {
        "breakdown": "breakdown",
        "stage": "stage",
        "touchpoint": "touchpoint",
        "people": "people",
        "share_next": "share next",
        "median_hours": "median time to it",
        "p90_hours": "slowest 10% take",
        "revenue": "revenue",
    }
    frame = res.to_frame()[list(names)].rename(columns=names)
    if by is None:
        frame = frame.drop(columns="breakdown")
    show_frame(
        frame,
        "journey map",
        res.headline(),
        limit=200,
        wide=wide,
        currency=currency,
        keep=2 if by is None else 3,
        essential=("people", "share next"),
        formats={"median time to it": duration, "slowest 10% take": duration},
    )


@app.command("funnel")
def funnel_cmd(
    steps: Annotated[
        str, typer.Option("--steps", help="Comma-separated steps: event, touchpoint:NAME, |k=v.")
    ],
    window: Annotated[str, typer.Option("--window", help="Conversion window, e.g. 7d, 12h.")] = "7d",
    order: Annotated[str, typer.Option("--order", help="ordered, strict (consecutive) or any.")] = "ordered",
    unit: Annotated[str, typer.Option("--unit", help="people or sessions.")] = "people",
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Exclusion step (between first and last step).")
    ] = None,
    by: ByOpt = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Unique customers (or sessions) reaching each step in order within the window after step 1."""
    from cxlab.journey.funnels import Exclusion, Step, funnel
    from cxlab.store import open_store

    if order not in ("ordered", "strict", "any"):
        fail(f"--order must be ordered, strict or any, got {order!r}")
    if unit not in ("people", "sessions"):
        fail(f"--unit must be people or sessions, got {unit!r}")
    with errors_as_exit():
        parsed = [Step.parse(s) for s in steps.split(",") if s.strip()]
        excl = [Exclusion(Step.parse(x)) for x in exclude or []]
    with errors_as_exit(), open_store(db) as store:
        res = funnel(store.ibis(), store.config, parsed, window, order=order, unit=unit,  # type: ignore[arg-type]
                     exclusions=excl, by=by)  # fmt: skip
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(
        res.to_frame(),
        "funnel",
        res.headline(),
        wide=wide,
        formats={"drop_off": pct},
        method=res.summary(),
    )
    if res.breakdown is not None:
        show_frame(
            res.breakdown,
            f"by {by}",
            f"{res.correction}-corrected tests of each value vs the rest",
            wide=wide,
        )


@app.command("paths")
def paths_cmd(
    start: Annotated[str | None, typer.Option("--start", help="Paths starting at this node.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Paths ending in this node.")] = None,
    depth: Annotated[int, typer.Option("--depth", min=2, max=50, help="Steps per path.")] = 4,
    node: Annotated[str, typer.Option("--node", help="touchpoint or event.")] = "touchpoint",
    keep_loops: Annotated[bool, typer.Option("--keep-loops", help="Don't collapse repeats.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Paths to show.")] = 20,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """The most common paths from or to a touchpoint or event."""
    from cxlab.journey.paths import paths
    from cxlab.store import open_store

    if node not in ("touchpoint", "event"):
        fail(f"--node must be touchpoint or event, got {node!r}")
    with errors_as_exit(), open_store(db) as store:
        res = paths(store.ibis(), store.config, start=start, end=end, depth=depth, node=node,  # type: ignore[arg-type]
                    collapse_loops=not keep_loops, top=top)  # fmt: skip
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(res.to_frame(), "paths", res.headline(), wide=wide, method=res.summary())


@app.command("retention")
def retention_cmd(
    period: Annotated[str, typer.Option("--period", help="week or month.")] = "month",
    by: Annotated[str | None, typer.Option("--by", help="channel (acquisition channel).")] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Cohort retention by first-purchase week or month; repeat-purchase curve."""
    from cxlab.journey.retention import retention
    from cxlab.store import open_store

    if period not in ("week", "month"):
        fail(f"--period must be week or month, got {period!r}")
    if by not in (None, "channel"):
        fail(f"--by must be channel, got {by!r}")
    with errors_as_exit(), open_store(db) as store:
        res = retention(store.ibis(), store.config, period=period, by=by)  # type: ignore[arg-type]
    if json_:
        emit_json(res.to_dict())
        return
    m = res.matrix(res.cohorts["group"].iloc[0] if len(res.cohorts) else None).iloc[:, :13]
    periods = [str(c) for c in m.columns]
    shown = m.reset_index()
    shown.columns = ["cohort", *periods]
    show_frame(
        shown,
        f"share of each cohort buying again, by {period}s since the first order",
        res.headline(),
        method=res.summary(),
        wide=wide,
        formats=dict.fromkeys(periods, pct),
    )
    show_frame(res.curve, "repeat-purchase curve", "", wide=wide)


@app.command("swot")
def swot_cmd(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False) -> None:
    """Strengths and weaknesses of every touchpoint and channel vs its peers, ranked by money at stake."""
    from cxlab.journey.swot import swot
    from cxlab.store import open_store
    from cxlab.voice.themes import touchpoint_evidence

    with errors_as_exit(), open_store(db) as store, progress(not json_) as bar:
        evidence = touchpoint_evidence(store)
        res = swot(store.ibis(), store.config, evidence=evidence, progress=bar)
    if json_:
        emit_json(res.to_dict())
        return
    console.print(escape(res.headline()))
    for place in res.places():
        console.print(f"  • [bold]{escape(str(place['verdict']))}[/]: " + escape(str(place["sentence"])))
    show_summary("", res.summary())
