"""``cxlab flows``: declared flows, a dry run, the delivery rounds and each flow's measured effect (the lead
mounts ``app``)."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape

from cxlab.automate.flows import HOLDOUT, Flow, automate_settings, load_flows, parse_delay
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
    show_frame,
    write_figure,
)
from cxlab.display import count, interval, money, pct
from cxlab.store import Store

NO_FLOWS = "no flows declared: add [flows.<name>] to cxlab.toml (see README)"

app = typer.Typer(
    help="Automated flows: abandoned cart, review request, birthday, win-back … with holdouts, consent, caps "
    "and exactly-once delivery.",
    no_args_is_help=True,
)

AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="Plan as of this moment (UTC, e.g. 2026-03-01T10:00; default now)."),
]


def _flows(store: Store) -> list[Flow]:
    flows = load_flows(store.config, store.project_dir)
    if not flows:
        fail(NO_FLOWS)
    return flows


def _at(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as e:
        raise ValueError(f"--at: {text!r} is not a date and time such as 2026-03-01T10:00") from e
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _versions(store: Store) -> dict[str, list[str]]:
    from cxlab.automate.tables import FLOW_VERSIONS

    found = store.con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [FLOW_VERSIONS]
    ).fetchall()
    if not found:
        return {}
    out: dict[str, list[str]] = {}
    for flow, version in store.con.execute(
        f"SELECT flow, version FROM {FLOW_VERSIONS} ORDER BY first_seen, version"
    ).fetchall():
        out.setdefault(flow, []).append(version)
    return out


@app.command("list")
def list_(db: DbOpt = DEFAULT_DB, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """The declared flows: enabled, version, trigger in words, channel, holdout and metric."""
    from cxlab.automate.plan import event_warnings
    from cxlab.automate.run import trigger_words

    with errors_as_exit(), Store(db, read_only=True) as store:
        flows = _flows(store)
        seen = _versions(store)
        warnings = event_warnings(store.ibis(), flows)
    rows: list[dict[str, Any]] = []
    for f in flows:
        h = f.version_hash()
        known = seen.get(f.name, [])
        rows.append(
            {
                "flow": f.name,
                "enabled": f.enabled,
                "channel": f.channel,
                "priority": f.priority,
                "trigger": trigger_words(f),
                "holdout": f.holdout,
                "metric": f.metric,
                "languages": f.languages,
                "variants": list(f.arms),
                "version": h,
                "version_number": known.index(h) + 1 if h in known else len(known) + 1,
                "version_recorded": h in known,
            }
        )
    if json_:
        emit_json({"flows": rows, "warnings": warnings})
        return
    t = pd.DataFrame(
        {
            "flow": [r["flow"] for r in rows],
            "enabled": ["yes" if r["enabled"] else "no" for r in rows],
            "channel": [r["channel"] for r in rows],
            "trigger": [r["trigger"] for r in rows],
            "holdout": [pct(r["holdout"], 0) for r in rows],
            "metric": [r["metric"] for r in rows],
            "languages": [", ".join(r["languages"]) for r in rows],
            "version": [
                f"v{r['version_number']} {r['version']}" + ("" if r["version_recorded"] else " (new)")
                for r in rows
            ],
        }
    )
    show_frame(
        t,
        "Flows",
        f"{len(rows)} flow(s) declared; a new version is logged in the change log when run.",
        wide=wide,
    )
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")


def plan_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The plan's rows as the terminal shows them: blanks for no reason, variant or language (not "None"),
    due times in whole seconds (a score trigger is due at the round's clock, which has microseconds)."""
    cols = [c for c in ("flow", "customer_id", "status", "reason", "variant", "language", "due") if c in rows]
    t = rows[cols].sort_values(["due", "flow"], kind="stable").reset_index(drop=True)
    for c in ("reason", "variant", "language"):
        if c in t:
            t[c] = t[c].astype(object).where(t[c].notna(), "")
    if "due" in t:
        t["due"] = pd.to_datetime(t["due"]).dt.floor("s").dt.strftime("%Y-%m-%d %H:%M:%S")
    return t


@app.command()
def plan(
    db: DbOpt = DEFAULT_DB,
    at: AtOpt = None,
    tone: Annotated[
        bool, typer.Option("--tone/--no-tone", help="Run the tone check on every message.")
    ] = True,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 50,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Dry run: who would get which message, when, and why not (no consent, capped, holdout, priority),
    plus the tone check's findings. Writes nothing."""
    from cxlab.automate.plan import plan as make_plan

    with errors_as_exit(), Store(db, read_only=True) as store:
        flows = _flows(store)
        p = make_plan(store, flows, automate_settings(store.config), _at(at), check_tone=tone)
    if json_:
        emit_json(p.to_dict())
        return
    console.print(escape(p.summary()))
    for name, why in p.blocked.items():
        console.print(f"[yellow]{escape(name)}[/] does not run: {escape(why)}")
    rows = p.rows
    if len(rows):
        by = rows.assign(reason=rows["reason"].fillna("")).groupby(["flow", "status", "reason"]).size()
        show_frame(
            by.rename("customers").reset_index(),
            "Decisions per flow",
            "Per flow, status and reason.",
            wide=wide,
        )
        show_frame(
            plan_table(rows), "Who would get what, when", "UTC, whole seconds.", limit=limit, wide=wide
        )
    else:
        console.print("Nothing is due: no new triggers.")
    if p.tone is not None and len(p.tone):
        show_frame(
            p.tone,
            "Tone of the messages",
            "Flagged messages block their flow unless accept_tone = true.",
            wide=wide,
        )


@contextmanager
def _stop_on_sigint(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C stops after the current round; a second one interrupts at once."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        err.print("stopping after this round (Ctrl-C again to interrupt)")
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@app.command()
def run(
    db: DbOpt = DEFAULT_DB,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (the default).")] = False,
    every: Annotated[
        str | None, typer.Option("--every", help="A round every period (e.g. 5m) until Ctrl-C.")
    ] = None,
    no_deliver: Annotated[
        bool, typer.Option("--no-deliver", help="Decide and record, but send nothing this time.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Run one round as of this moment (UTC; for replays and demos). Consent is still checked "
            "on the real clock just before each send.",
        ),
    ] = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Plan, record (outbox, exposures, change log) and deliver the due messages: once, or every period."""
    from cxlab.automate.run import RunResult, preflight, run_once

    if once and every is not None:
        fail("--once and --every: choose one")
    if at is not None and every is not None:
        fail("--at runs one round: leave out --every")
    with errors_as_exit():
        when = _at(at)
        seconds = parse_delay(every).total_seconds() if every is not None else None
        if seconds is not None and seconds <= 0:
            raise ValueError("--every: give a period above zero such as 5m")
        with Store(db) as store:  # checks the declaration (and the lock) before the first round
            found = _flows(store)
            # what a round would need to deliver: a config error stops here (exit 2), not in every round
            ready = preflight(store, found, automate_settings(store.config), deliver=not no_deliver)
            if ready is not None:
                ready.close()
    results: list[RunResult] = []
    if seconds is None:
        with errors_as_exit(), Store(db) as store:
            results.append(run_once(store, when, deliver=not no_deliver))
        err.print(escape(results[0].summary()), soft_wrap=True)
    else:
        stop = threading.Event()
        with _stop_on_sigint(stop):
            while not stop.is_set():
                try:
                    with Store(db) as store:
                        results.append(run_once(store, deliver=not no_deliver))
                    err.print(escape(results[-1].summary()), soft_wrap=True)
                except Exception as e:  # the loop keeps going: the store may be busy, a receiver down
                    err.print(f"round failed: {escape(f'{type(e).__name__}: {e}')}", soft_wrap=True)
                stop.wait(seconds)
    if json_:
        emit_json(results[0].to_dict() if seconds is None else {"rounds": [r.to_dict() for r in results]})
        return
    last = results[-1] if results else None
    if last is not None and len(last.decided):
        show_frame(last.decided, "Decided this round", f"{len(results)} round(s) run.", wide=wide)


@app.command()
def report(
    db: DbOpt = DEFAULT_DB,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.0001, max=0.5, help="1 − confidence level.")
    ] = 0.05,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Per flow: triggered, sent, held out, suppressed, gave up; its effect on its metric against the holdout
    with interval, revenue per recipient and unsubscribes."""
    from cxlab.automate.effects import SENT, flow_effects

    with errors_as_exit(), Store(db, read_only=True) as store:
        flows = _flows(store)
        res = flow_effects(store, flows, alpha=alpha)
    write_figure(res.figure(), figure)
    if json_:
        emit_json(res.to_dict())
        return
    console.print(escape(res.summary()), soft_wrap=True)
    t = pd.DataFrame(
        {
            "flow": [f.flow for f in res.flows],
            "exposed: sent arm / holdout": [
                f"{count(f.exposed - f.n.get(HOLDOUT, 0))} / {count(f.n.get(HOLDOUT, 0))}" for f in res.flows
            ],
            "triggered by cxlab": [count(f.triggered) for f in res.flows],
            "sent": [count(f.sent) for f in res.flows],
            "suppressed": [count(sum(f.suppressed.values())) for f in res.flows],
            "gave up": [count(f.gave_up) for f in res.flows],
            "in doubt": [count(f.in_doubt) for f in res.flows],
            "metric": [f"{f.metric} ({f.window})" for f in res.flows],
            "lift": [pct(f.lift_relative, 1, signed=True) for f in res.flows],
            "95% CI" if alpha == 0.05 else f"{100 * (1 - alpha):g}% CI": [
                interval(*f.ci_relative, lambda x: pct(x, 1, signed=True)) for f in res.flows
            ],
            "revenue / recipient": [
                money(f.revenue_per_recipient.get(SENT), res.currency, 2) for f in res.flows
            ],
            "unsubscribes": [count(f.unsubscribes) for f in res.flows],
        }
    )
    show_frame(t, "Flows", "", wide=wide)
