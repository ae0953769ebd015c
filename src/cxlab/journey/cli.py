"""``cxlab journey map|funnel|paths|retention|swot``: thin shells over :mod:`cxlab.journey`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from cxlab.clitools import DEFAULT_DB, DbOpt, JsonOpt, console, emit_json, errors_as_exit, fail, show_frame
from cxlab.journey.funnels import Exclusion, Step, funnel
from cxlab.journey.journey_map import journey_map
from cxlab.journey.paths import paths
from cxlab.journey.retention import retention
from cxlab.journey.swot import swot
from cxlab.store import Store
from cxlab.voice.themes import touchpoint_evidence

app = typer.Typer(
    help="Journey map, funnels, paths, retention, strengths & weaknesses.", no_args_is_help=True
)

ByOpt = Annotated[
    str | None, typer.Option("--by", help="Breakdown: channel, country, device, variant, segment.")
]


@app.command("map")
def map_cmd(db: DbOpt = DEFAULT_DB, by: ByOpt = None, json_: JsonOpt = False) -> None:
    """Stage × touchpoint: people reached, share reaching the next stage, time to it, revenue."""
    with errors_as_exit(), Store(db, read_only=True) as store:
        res = journey_map(store.ibis(), store.config, by=by)
    if json_:
        emit_json(res.to_dict())
        return
    cols = [
        "breakdown",
        "stage",
        "touchpoint",
        "people",
        "share_next",
        "median_hours",
        "p90_hours",
        "revenue",
    ]
    show_frame(res.to_frame()[cols], "journey map", res.summary(), limit=200)


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
) -> None:
    """Unique customers (or sessions) reaching each step in order within the window after step 1."""
    if order not in ("ordered", "strict", "any"):
        fail(f"--order must be ordered, strict or any, got {order!r}")
    if unit not in ("people", "sessions"):
        fail(f"--unit must be people or sessions, got {unit!r}")
    with errors_as_exit():
        parsed = [Step.parse(s) for s in steps.split(",") if s.strip()]
        excl = [Exclusion(Step.parse(x)) for x in exclude or []]
    with errors_as_exit(), Store(db, read_only=True) as store:
        res = funnel(store.ibis(), store.config, parsed, window, order=order, unit=unit,  # type: ignore[arg-type]
                     exclusions=excl, by=by)  # fmt: skip
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(res.to_frame(), "funnel", res.summary())
    if res.breakdown is not None:
        show_frame(res.breakdown, f"by {by}", f"{res.correction}-corrected tests of each value vs the rest")


@app.command("paths")
def paths_cmd(
    start: Annotated[str | None, typer.Option("--start", help="Paths starting at this node.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Paths ending in this node.")] = None,
    depth: Annotated[int, typer.Option("--depth", min=2, max=50, help="Steps per path.")] = 4,
    node: Annotated[str, typer.Option("--node", help="touchpoint or event.")] = "touchpoint",
    keep_loops: Annotated[bool, typer.Option("--keep-loops", help="Don't collapse repeats.")] = False,
    top: Annotated[int, typer.Option("--top", min=1)] = 20,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """The most common paths from or to a touchpoint or event."""
    if node not in ("touchpoint", "event"):
        fail(f"--node must be touchpoint or event, got {node!r}")
    with errors_as_exit(), Store(db, read_only=True) as store:
        res = paths(store.ibis(), store.config, start=start, end=end, depth=depth, node=node,  # type: ignore[arg-type]
                    collapse_loops=not keep_loops, top=top)  # fmt: skip
    if json_:
        emit_json(res.to_dict())
        return
    show_frame(res.to_frame(), "paths", res.summary())


@app.command("retention")
def retention_cmd(
    period: Annotated[str, typer.Option("--period", help="week or month.")] = "month",
    by: Annotated[str | None, typer.Option("--by", help="channel (acquisition channel).")] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Cohort retention by first-purchase week or month; repeat-purchase curve."""
    if period not in ("week", "month"):
        fail(f"--period must be week or month, got {period!r}")
    if by not in (None, "channel"):
        fail(f"--by must be channel, got {by!r}")
    with errors_as_exit(), Store(db, read_only=True) as store:
        res = retention(store.ibis(), store.config, period=period, by=by)  # type: ignore[arg-type]
    if json_:
        emit_json(res.to_dict())
        return
    m = res.matrix(res.cohorts["group"].iloc[0] if len(res.cohorts) else None)
    show_frame(
        (m.iloc[:, :13] * 100).round(1).reset_index().astype({"cohort": str}), "retention %", res.summary()
    )
    show_frame(res.curve, "repeat-purchase curve", "")


@app.command("swot")
def swot_cmd(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False) -> None:
    """Strengths and weaknesses of every touchpoint and channel vs its peers, ranked by money at stake."""
    with errors_as_exit(), Store(db, read_only=True) as store:
        res = swot(store.ibis(), store.config, evidence=touchpoint_evidence(store))
    if json_:
        emit_json(res.to_dict())
        return
    d = res.to_dict()
    for part in ("weaknesses", "strengths"):
        console.print(f"[bold]{part}[/]")
        for item in d[part]:
            console.print("  • " + escape(item["sentence"]), soft_wrap=True)
    console.print(escape(res.summary()))
