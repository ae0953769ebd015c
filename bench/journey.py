"""Funnel (5 steps, 7-day window) and top paths: cxlab vs hand-written DuckDB SQL, ClickHouse windowFunnel, pandas.

    .venv/bin/python bench/journey.py                       # quick: about 1M events
    .venv/bin/python bench/journey.py --events 10000000     # + pandas (on by default up to 10M events)
    .venv/bin/python bench/journey.py --events 100000000 --workdir /tmp/journey-bench
    .venv/bin/python bench/journey.py --events 10000000 --workdir /tmp/scale-data --update random

``--events N`` simulates about N demo events (``cxlab.demo.generate``, 2 processes; the store averages 86
events per simulated person) once into ``WORKDIR/demo-<people>/``, loads them into ``WORKDIR/journey-<people>
.duckdb`` (plain INSERT … SELECT, no validation: the benchmark is about the queries) and reuses both after.
``--data``/``--db`` point at existing ones instead. Then, in one process, on the same data:

* cxlab: :func:`cxlab.journey.funnel` (the whole result: counts, Wilson intervals, time-to-convert
  quantiles) and :func:`cxlab.journey.paths` (top paths from the cart, depth 4, repeats collapsed);
* the same funnel as hand-written DuckDB SQL, three times: cxlab's per-person list algorithm with the
  cheapest stitch (the practical limit), the direct translation (one running-max window per step over all
  the step events) and the staged windows (each step's window over only the rows that matter to it; what
  cxlab runs on other engines and with exclusion steps);
* ClickHouse's ``windowFunnel(604800, 'strict_increase')`` through embedded chdb (``pip install chdb``),
  (1) on the raw ``customer_id, anonymous_id, ts, event`` columns exported to Parquet, stitching people in
  ClickHouse SQL with the same rule as cxlab — the like-for-like comparison — and (2) on pre-stitched
  ``person_id, t, event`` rows of the five step events only (ClickHouse's best case). Export not timed;
* pandas (``--pandas``, default on up to 10M events), on a DataFrame of the raw columns already in memory
  (loading it is timed separately), twice: the straightforward way (group the step events by person and walk
  each person's events) and vectorised (sort, ``groupby().cummax()``, shifts and merges).

* the journey layout (:mod:`cxlab.journey.layout`): a full build, then the incremental update for the newest
  ``--update-fraction`` of the events (``--update newest``; ``random``: late events spread over everyone):
  those events are taken out of ``events``, the layout built on the rest, the events put back and the layout
  refreshed; then a full build on everything (the reference of the ≤ 5% target). The funnel (the same call,
  :func:`cxlab.journey.funnel`) then reads the layout; ``cxlab funnel, raw events`` is the same call with the
  layout switched off;
* ClickHouse's data in its own best form: every event, people pre-stitched (the layout's person numbers),
  ``t`` in milliseconds, ``event`` LowCardinality, in a MergeTree table ``ORDER BY (person, t)`` created inside
  a chDB session from a Parquet export and merged to one part (not timed), queried with windowFunnel with and
  without ``optimize_aggregation_in_order``;

All give the same people per step (asserted). Each time is the median of ``--repeat`` runs (all runs shown).
Peak RSS is this process's (``getrusage``), printed after each stage; DuckDB's memory limit is its default
unless ``--memory-limit``. A scan of the columns used warms the caches before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cxlab.journey import funnel, funnels, layout, paths
from cxlab.store import Store

STEPS = ("page_view", "view_item", "add_to_cart", "checkout", "purchase")
WINDOW_S = 7 * 86400
EVENTS_PER_PERSON = 86

PERSONS = """
WITH links AS (
  SELECT anonymous_id, min(customer_id) AS linked FROM events
  WHERE customer_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id
), ev AS (
  SELECT coalesce(e.customer_id, l.linked, 'anon:' || e.anonymous_id) AS person_id,
         CAST(epoch(e.ts) AS BIGINT) AS t, e.event
  FROM events e LEFT JOIN links l USING (anonymous_id)
)"""
IN_STEPS = ", ".join(f"'{s}'" for s in STEPS)


def hand_sql() -> str:
    """The funnel as a person would write it for DuckDB: the latest chain start, one running max per step."""
    marks = ", ".join(f"event = '{s}' AS m{i + 1}" for i, s in enumerate(STEPS))
    sql = (
        PERSONS
        + f""", f0 AS (
  SELECT person_id, t, {marks} FROM ev WHERE event IN ({IN_STEPS})
), f1 AS (SELECT *, CASE WHEN m1 THEN t END AS a1 FROM f0)"""
    )
    w = "OVER (PARTITION BY person_id ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    for k in range(2, len(STEPS) + 1):
        sql += f""", f{k} AS (
  SELECT *, CASE WHEN m{k} AND t - s{k} <= {WINDOW_S} THEN s{k} END AS a{k}
  FROM (SELECT *, max(a{k - 1}) {w} AS s{k} FROM f{k - 1}))"""
    k = len(STEPS)
    reached = ", ".join(f"bool_or(a{i} IS NOT NULL) AS r{i}" for i in range(1, k + 1))
    sums = ", ".join(f"sum(r{i}::INT) AS r{i}" for i in range(1, k + 1))
    return sql + f"\nSELECT {sums} FROM (SELECT person_id, {reached} FROM f{k} GROUP BY person_id) WHERE r1"


def hand_sql_staged() -> str:
    """The staged form by hand: step i's window sees only the valid step i-1 rows and the step i events."""
    k = len(STEPS)
    marks = ", ".join(f"event = '{s}' AS m{i + 1}" for i, s in enumerate(STEPS))
    sql = PERSONS + f", f AS (SELECT person_id, t, {marks} FROM ev WHERE event IN ({IN_STEPS}))"
    sql += ", l1 AS (SELECT person_id, t, t AS a FROM f WHERE m1)"
    for i in range(2, k + 1):
        sql += f""", l{i} AS (
  SELECT person_id, t, s AS a FROM (
    SELECT *, max(a) OVER (PARTITION BY person_id ORDER BY t, src ROWS UNBOUNDED PRECEDING) AS s FROM (
      SELECT person_id, t, a, 1 AS src FROM l{i - 1}
      UNION ALL SELECT person_id, t, NULL, 0 FROM f WHERE m{i}))
  WHERE src = 0 AND t - s <= {WINDOW_S})"""
    levels = " UNION ALL ".join(f"SELECT person_id, {i} AS lvl FROM l{i}" for i in range(1, k + 1))
    sums = ", ".join(f"count(*) FILTER (WHERE lvl >= {i})" for i in range(1, k + 1))
    return (
        sql + f"\nSELECT {sums} FROM (SELECT person_id, max(lvl) AS lvl FROM ({levels}) GROUP BY person_id)"
    )


def hand_sql_lists() -> str:
    """cxlab's per-person list algorithm by hand, with the cheapest stitch: the step events are picked first and
    grouped by (customer or linked customer, else anonymous id) without building a person string."""
    k, m = len(STEPS), 8
    code = "CASE event " + " ".join(f"WHEN '{s}' THEN {m - 2 - i}" for i, s in enumerate(STEPS)) + " END"
    sql = f"""WITH links AS (
  SELECT anonymous_id, min(customer_id) AS linked FROM events
  WHERE customer_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id
), s1 AS (
  SELECT x, list_transform(list_filter(x, lambda v: v % {m} = {m - 2}), lambda v: v // {m}) AS b1 FROM (
    SELECT list_sort(list(v)) AS x FROM (
      SELECT coalesce(e.customer_id, l.linked, e.anonymous_id) AS pk, e.customer_id IS NULL AND l.linked IS NULL
             AS anon, CAST(epoch(e.ts) AS BIGINT) * {m} + {code} AS v
      FROM (SELECT customer_id, anonymous_id, ts, event FROM events WHERE event IN ({IN_STEPS})) e
      LEFT JOIN links l USING (anonymous_id))
    GROUP BY pk, anon HAVING bool_or(v % {m} = {m - 2})))"""
    for i in range(2, k + 1):
        ci, cp = m - 1 - i, m - i
        b = f", list_transform(p, lambda q, j: b{i - 1}[q - j]) AS b{i}" if i < k else ""
        sql += f""", s{i} AS (
  SELECT * EXCLUDE (y, p, b{i - 1}), coalesce(list_min(list_transform(p, lambda q, j: y[q] // {m} - b{i - 1}[q - j]))
         <= {WINDOW_S}, false) AS r{i}{b} FROM (
    SELECT *, list_filter(list_transform(y, lambda v, j: CASE WHEN v % {m} = {ci} THEN j END),
                          lambda j: j IS NOT NULL) AS p FROM (
      SELECT *, list_filter(x, lambda v: v % {m} IN ({ci}, {cp})) AS y FROM s{i - 1})))"""
    sums = ", ".join(f"sum(r{i}::INT)" for i in range(2, k + 1))
    return sql + f"\nSELECT count(*), {sums} FROM s{k}"


def pandas_steps(df: pd.DataFrame) -> pd.DataFrame:
    """Stitch people (an anonymous id's smallest customer id) and keep the step events: person, t, event."""
    links = df.dropna(subset=["customer_id", "anonymous_id"]).groupby("anonymous_id")["customer_id"].min()
    person = df["customer_id"].fillna(df["anonymous_id"].map(links)).fillna("anon:" + df["anonymous_id"])
    t = (df["ts"] - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    ev = pd.DataFrame({"person": person, "t": t, "event": df["event"]})
    return ev[ev["event"].isin(STEPS)]


def pandas_funnel(df: pd.DataFrame) -> list[int]:
    """The funnel in vectorised pandas: sort, then per step the latest chain start from a strictly earlier
    event (a per-person running max, taken before each second's first row)."""
    ev = pandas_steps(df).sort_values(["person", "t"], kind="stable").reset_index(drop=True)
    p, tt = ev["person"], ev["t"]
    new_second = (p != p.shift()) | (tt != tt.shift())
    second = new_second.cumsum()
    start = tt.where(ev["event"] == STEPS[0]).astype("float64")
    reached = [set(p[start.notna()])]
    for step in STEPS[1:]:
        run = start.groupby(p).cummax().groupby(p).ffill()
        before = run.groupby(p).shift()  # latest chain start up to the row before
        first = pd.Series(before[new_second].to_numpy(), index=second[new_second].to_numpy())
        s = second.map(first)  # ... as of each second's first row: from strictly earlier events only
        ok = (ev["event"] == step) & s.notna() & (tt - s <= WINDOW_S)
        start = s.where(ok)
        reached.append(set(p[ok]))
    return [len(r) for r in reached]


def pandas_per_person(df: pd.DataFrame) -> list[int]:
    """The funnel as most pandas funnels are written: group the step events by person and walk each
    person's events in time order, keeping the latest chain start per step (later steps first within a
    second, so a step needs a strictly earlier one)."""
    ev = pandas_steps(df)
    ev = ev.assign(step=ev["event"].map({s: i for i, s in enumerate(STEPS)}))
    ev = ev.sort_values(["person", "t", "step"], ascending=[True, True, False])

    def level(g: pd.DataFrame) -> int:
        starts: list[int | None] = [None] * len(STEPS)
        best = 0
        for t, step in zip(g["t"].to_numpy(), g["step"].to_numpy(), strict=True):
            if step == 0:
                starts[0], best = t, max(best, 1)
            elif (a := starts[step - 1]) is not None and t - a <= WINDOW_S:
                starts[step], best = a, max(best, step + 1)
        return best

    levels = ev.groupby("person", sort=False)[["t", "step"]].apply(level)
    return [int((levels >= i).sum()) for i in range(1, len(STEPS) + 1)]


def chdb_sqls(raw: Path) -> dict[str, str]:
    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    levels = ", ".join(f"countIf(level >= {i + 1})" for i in range(len(STEPS)))
    wf = f"windowFunnel({WINDOW_S}, 'strict_increase')"
    return {
        "raw": f"""
WITH links AS (SELECT anonymous_id, min(customer_id) AS linked FROM file('{raw}', Parquet)
               WHERE customer_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id)
SELECT {levels} FROM (
  SELECT coalesce(e.customer_id, l.linked, concat('anon:', e.anonymous_id)) AS person_id,
         {wf}(toDateTime(e.ts), {conds}) AS level
  FROM file('{raw}', Parquet) AS e LEFT JOIN links AS l ON e.anonymous_id = l.anonymous_id
  WHERE e.event IN ({IN_STEPS}) GROUP BY person_id) WHERE level >= 1
SETTINGS join_use_nulls = 1 FORMAT CSV""",
        "mergetree": f"SELECT {levels} FROM (SELECT person, windowFunnel({WINDOW_S * 1000}, 'strict_increase')"
        f"(t, {conds}) AS level FROM ev WHERE event IN ({IN_STEPS}) GROUP BY person) WHERE level >= 1",
    }


def make_data(events: int, workdir: Path) -> tuple[Path, Path]:
    people = max(1000, round(events / EVENTS_PER_PERSON))
    data, db = workdir / f"demo-{people}", workdir / f"journey-{people}.duckdb"
    if not (data / "data" / "events").exists():
        from cxlab.demo import generate

        t0 = time.perf_counter()
        res = generate(data, customers=people, seed=1, workers=2)
        print(f"generated {res.counts['events']:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    return data / "data", db


def build(data: Path, db: Path) -> None:
    if db.exists():
        return
    t0 = time.perf_counter()
    with Store(db) as s:
        for table in ("events", "customers", "orders", "exposures", "feedback"):
            cols = ", ".join(f'"{c}"' for c in s.con.table(table).columns)
            s.con.execute(
                f"INSERT INTO \"{table}\" SELECT {cols} FROM read_parquet('{data}/{table}/*.parquet')"
            )
    print(f"built {db} in {time.perf_counter() - t0:.0f} s", flush=True)


def peak_rss() -> str:
    return f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"


def timed(label: str, fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"{label:<52} {med:8.2f} s  (runs {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    return med, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000, help="about this many demo events")
    ap.add_argument("--workdir", type=Path, default=Path("bench/data"))
    ap.add_argument("--data", type=Path, help="existing demo data folder (with events/*.parquet)")
    ap.add_argument("--db", type=Path, help="existing (or to be built) DuckDB store")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pandas", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument(
        "--hand-sql",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the hand-written DuckDB SQL and top paths (default: up to 11M events)",
    )
    ap.add_argument("--no-chdb", action="store_true")
    ap.add_argument(
        "--update",
        choices=("newest", "random", "none"),
        default="newest",
        help="which events the incremental update adds (none: one full build only)",
    )
    ap.add_argument("--update-fraction", type=float, default=0.01)
    ap.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 12GB (default: DuckDB's, 80%% of RAM)")
    args = ap.parse_args()
    data, db = make_data(args.events, args.workdir) if args.data is None else (args.data, args.db)
    db = args.db or db
    build(data, db)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with Store(db) as store:  # writable: the layout is written into the store
        store.con.execute("SET enable_progress_bar = false")
        if args.memory_limit:
            store.con.execute(f"SET memory_limit = '{args.memory_limit}'")
        n = store.con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        print(
            f"events: {n:,}; funnel {' > '.join(STEPS)}, window 7 days; median of {args.repeat}", flush=True
        )
        t: dict[str, float] = {}
        layout_side(store, t, args.update, args.update_fraction)
        t0 = (
            time.perf_counter()
        )  # warm the caches for everyone: the first timed query shouldn't read the disk
        store.con.execute(
            "SELECT count(customer_id), count(anonymous_id), max(ts), max(event), max(touchpoint), "
            "max(event_id) FROM events"
        ).fetchall()
        print(f"warm-up scan of the columns used: {time.perf_counter() - t0:.1f} s (not counted)", flush=True)
        con, cfg = store.ibis(), store.config
        t["cx"], res = timed(
            "cxlab funnel on the journey layout", lambda: funnel(con, cfg, STEPS, "7d"), args.repeat
        )
        cx = [int(x) for x in res.to_frame()["units"]]
        print(f"  people per step: {cx}; {peak_rss()}")
        coded = layout.codes(store.con, [("ev", s) for s in STEPS])
        t["units"], _ = timed(
            "  of which: read the layout + NumPy funnel",
            lambda: layout.funnel_units(store.con, coded, WINDOW_S * 1000),
            args.repeat,
        )
        t["read"], _ = timed(
            "  of which: the read alone (pid, t, step bits)", lambda: read_steps(store, coded), 1
        )
        real = funnels._layout_connection
        funnels._layout_connection = lambda *a: None  # the raw-events path
        try:
            t["raw"], raw = timed(
                "cxlab funnel, raw events", lambda: funnel(con, cfg, STEPS, "7d"), args.repeat
            )
        finally:
            funnels._layout_connection = real
        same(raw, res)
        print(f"  same result; {peak_rss()}")
        if args.hand_sql if args.hand_sql is not None else n <= 11_000_000:
            hand_side(store, con, cfg, cx, t, args.repeat)
        if not args.no_chdb:
            chdb_side(store, cx, t, args.repeat)
        if args.pandas if args.pandas is not None else n <= 11_000_000:
            pandas_side(store, cx, t, args.repeat)
        print("\ncxlab funnel on the layout ÷ each:")
        for key, label in (
            ("raw", "cxlab funnel, raw events"),
            ("lists", "hand-written SQL, per-person lists"),
            ("sql", "hand-written SQL, window per step"),
            ("staged", "hand-written SQL, staged windows"),
            ("ch_raw", "windowFunnel, stitching in ClickHouse"),
            ("ch_mergetree", "windowFunnel, MergeTree (person, t)"),
            ("ch_mergetree_inorder", "windowFunnel, MergeTree, aggregation in order"),
            ("pandas", "pandas, per person"),
            ("pandas_vec", "pandas, vectorised"),
        ):
            if key in t:
                print(f"  {label:<46} {t['cx'] / t[key]:6.3f}x  ({t[key] / t['cx']:.1f}x the other way)")
        print(peak_rss())


def same(a: funnels.Funnel, b: funnels.Funnel) -> None:
    """The funnel's whole result (counts, intervals, time-to-convert quantiles) is the same both ways."""
    pd.testing.assert_frame_equal(a.steps, b.steps)
    pd.testing.assert_frame_equal(a.time_to_convert, b.time_to_convert)


def read_steps(store: Store, coded: list[layout.StepCode]) -> int:
    """The layout's read alone: the step events' person, time and step bits as NumPy arrays."""
    return len(layout._step_events(store.con, coded)[0])


def layout_side(store: Store, t: dict[str, float], update: str, fraction: float) -> None:
    """Full build on all but ``fraction`` of the events, those events put back, the incremental update timed,
    then a full build on everything (the store ends as it began, with a current layout)."""
    con = store.con
    if update == "none":
        t["build"], full = timed("layout: full build, all events", lambda: layout.refresh(con, True), 1)
        print(f"  {full.people:,} people; layout {layout_bytes(store) / 2**20:,.0f} MiB; {peak_rss()}")
        return
    if update == "newest":
        cut = f"ts >= (SELECT quantile_disc(ts, {1 - fraction}) FROM events)"
    else:
        cut = f"hash(event_id) % {round(1 / fraction)} = 0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bench_held AS SELECT * FROM events WHERE {cut}")
    held = con.execute("SELECT count(*) FROM _bench_held").fetchone()[0]  # type: ignore[index]
    con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _bench_held)")
    try:
        t["build99"], up = timed(
            f"layout: full build without the {update} {held:,}", lambda: layout.refresh(con, True), 1
        )
    finally:
        con.execute("INSERT INTO events SELECT * FROM _bench_held")
        con.execute("DROP TABLE _bench_held")
    t["update"], up = timed(
        f"layout: incremental update, {held:,} {update} events", lambda: layout.refresh(con), 1
    )
    assert up.mode == "incremental", up
    print(f"  {up.people:,} new people; {peak_rss()}")
    t["build"], full = timed("layout: full build, all events", lambda: layout.refresh(con, True), 1)
    print(
        f"  {full.people:,} people; update ÷ full build: {t['update'] / t['build']:.1%}; "
        f"layout {layout_bytes(store) / 2**20:,.0f} MiB in the store file; {peak_rss()}"
    )


def layout_bytes(store: Store) -> int:
    """Bytes of the layout's blocks in the store (DuckDB's storage info, all columns)."""
    row = store.con.execute(
        f"SELECT count(DISTINCT block_id) * (SELECT block_size FROM pragma_database_size()) "
        f"FROM pragma_storage_info('{layout.LAYOUT}') WHERE persistent"
    ).fetchone()
    return int(row[0]) if row and row[0] else 0


def hand_side(store: Store, con: Any, cfg: Any, cx: list[int], t: dict[str, float], repeat: int) -> None:
    t["paths"], pres = timed("cxlab top paths from cart (depth 4)", lambda: paths(con, cfg, start="cart"), 1)
    print(f"  top path: {pres.to_frame().iloc[0].to_dict()}; {peak_rss()}")
    for key, label, sql in (
        ("lists", "hand-written DuckDB SQL, per-person lists", hand_sql_lists()),
        ("sql", "hand-written DuckDB SQL, window per step", hand_sql()),
        ("staged", "hand-written DuckDB SQL, staged windows", hand_sql_staged()),
    ):
        t[key], row = timed(label, lambda sql=sql: store.con.execute(sql).fetchone(), repeat)
        assert [int(x) for x in row] == cx, f"cxlab and {label} disagree: {list(row)}"
    print(f"  same answers; {peak_rss()}")


def pandas_side(store: Store, cx: list[int], t: dict[str, float], repeat: int) -> None:
    t0 = time.perf_counter()
    df = store.con.execute("SELECT customer_id, anonymous_id, ts, event FROM events").df()
    print(f"pandas: load {len(df):,} rows into a DataFrame   {time.perf_counter() - t0:8.2f} s (not counted)")
    for key, label, fn in (
        ("pandas", "pandas funnel, per person (groupby-apply)", pandas_per_person),
        ("pandas_vec", "pandas funnel, vectorised", pandas_funnel),
    ):
        t[key], pd_counts = timed(label, lambda fn=fn: fn(df), max(1, repeat - 2))
        assert pd_counts == cx, f"cxlab and {label} disagree: {pd_counts}"
    print(f"  same answers; {peak_rss()}")


def chdb_side(store: Store, cx: list[int], t: dict[str, float], repeat: int) -> None:
    try:
        from chdb import session
    except ImportError:
        print("chdb not installed: skipping ClickHouse windowFunnel")
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.parquet"
        store.con.execute(
            f"COPY (SELECT customer_id, anonymous_id, ts, event FROM events) TO '{raw}' (FORMAT parquet)"
        )
        # ClickHouse's best form: every event, people pre-stitched as integers, in (person, t) order
        best = Path(tmp) / "best.parquet"
        store.con.execute(
            f"COPY (SELECT j.pid::UBIGINT AS person, j.t::UBIGINT AS t, c.name AS event FROM {layout.LAYOUT} j "
            f"JOIN {layout.CODES} c ON c.kind = 'ev' AND c.code = j.ev) TO '{best}' (FORMAT parquet)"
        )
        sess = session.Session(str(Path(tmp) / "ch"))
        t0 = time.perf_counter()
        sess.query(
            "CREATE TABLE ev (person UInt64, t UInt64, event LowCardinality(String)) ENGINE = MergeTree "
            "ORDER BY (person, t)"
        )
        sess.query(f"INSERT INTO ev SELECT person, t, event FROM file('{best}', Parquet)")
        sess.query("OPTIMIZE TABLE ev FINAL")
        print(f"ClickHouse MergeTree loaded and merged in {time.perf_counter() - t0:.1f} s (not counted)")
        sqls = chdb_sqls(raw)
        for key, label, q, run in (
            ("ch_raw", "stitching people in ClickHouse from raw Parquet", sqls["raw"], sess.query),
            (
                "ch_mergetree",
                "MergeTree ORDER BY (person, t), pre-stitched",
                sqls["mergetree"] + " FORMAT CSV",
                sess.query,
            ),
            (
                "ch_mergetree_inorder",
                "the same, optimize_aggregation_in_order = 1",
                sqls["mergetree"] + " SETTINGS optimize_aggregation_in_order = 1 FORMAT CSV",
                sess.query,
            ),
        ):
            t[key], out = timed(f"ClickHouse windowFunnel, {label}", lambda q=q, run=run: run(q), repeat)
            ch = [int(x) for x in str(out).strip().split(",")]
            assert ch == cx, f"cxlab and windowFunnel ({label}) disagree: {ch}"
        sess.close()
        print(f"  same answers; {peak_rss()}")


if __name__ == "__main__":
    main()
