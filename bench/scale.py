"""Every analysis group on a store of N events: time and peak memory per analysis, on DuckDB and on local Spark.

    .venv/bin/python bench/scale.py --events 1000000 --workdir /tmp/scale-data             # DuckDB
    .venv/bin/python bench/scale.py --events 10000000 --workdir /tmp/scale-data --spark     # + Spark local[2]
    .venv/bin/python bench/scale.py --events 100000000 --link --engines spark --only funnel,summary

Data: ``--events N`` simulates about N demo events (:func:`cxlab.demo.generate`, seed 1, 2 processes; 86 events
per simulated person) into ``WORKDIR/demo-<people>/`` — the same folder ``bench/journey.py`` writes, reused
when it is there. Its ``journey-<people>.duckdb`` store lacks ``spend`` and ``changes``, so this script loads
*every* canonical table into its own ``WORKDIR/scale-<people>/store.duckdb`` (plain INSERT … SELECT, no
validation) and exports that with :func:`cxlab.store.lake.export_tables` to ``WORKDIR/scale-<people>/lake/``
(the lakehouse layout, events partitioned by date), which Spark reads as ``spark://local[2]?tables=…``.

Each analysis runs in a fresh child process (``scale.py child NAME --db …``), so its peak memory is its own:

* time: the analysis alone (``open``: opening the store and, on Spark, starting the session and registering
  the canonical tables as views, is timed apart), wall clock and CPU seconds (user + system of the child and,
  on Spark, of the driver JVM, from ``/proc/<pid>/stat``: what the analysis costs on a shared machine);
* Python peak: the child's ``VmHWM`` (``/proc/self/status``; not ``getrusage``'s ``ru_maxrss``, which Linux
  carries over from the parent across fork and exec). DuckDB runs in it, so on DuckDB this is the whole
  footprint; the RSS after opening the store is kept for reference;
* JVM peak (Spark): ``VmHWM`` of the driver JVM (``/proc/<pid>/status``, pid from
  ``java.lang.ProcessHandle.current()``), read when the analysis is done. In ``local[2]`` the driver JVM also
  runs the executors, so this is the whole engine's footprint; its heap is ``--driver-memory``.

Correctness: every Spark result is compared with DuckDB's whole JSON document: counts, labels and keys exactly,
floats to ``--rel`` relative (default 1e-6; engines sum in another order); a difference fails the run.
The last column shows what came back from the engine (rows and bytes of the sufficient statistics fitted in
process) and, on Spark, the MiB read, shuffled and spilled over the session's stages (Spark's status store).
Each run's record is kept as ``RESULTS/<engine>-<analysis>.json`` (a failed child's stderr as ``.err``);
``--report`` reprints the table from them. ``--link`` makes the lake links to the demo's Parquet folders
instead of an export (100M: the export is slow), ``--build-only`` stops after making the data.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENTS_PER_PERSON = 86
SAMPLE_TEXTS = 200
"""Feedback texts read through the engine and classified in process (the embedder) by ``sentiment``."""
FUNNEL = ("page_view", "view_item", "add_to_cart", "checkout", "purchase")


@dataclass(frozen=True)
class Outcome:
    """What an analysis returns: its JSON document, and what came back from the engine (name -> figure)."""

    doc: Any
    sizes: dict[str, float]


# --- the analyses (run in the child) ------------------------------------------------------------------------


def frame_bytes(frame: Any) -> float:
    """Bytes of a pandas frame in memory (deep: strings counted)."""
    return float(frame.memory_usage(deep=True).sum())


def a_map(store: Any) -> Outcome:
    from cxlab.journey import journey_map

    res = journey_map(store.ibis(), store.config)
    return Outcome(res.to_dict(), {"rows": len(res.to_frame())})


def a_funnel(store: Any) -> Outcome:
    from cxlab.journey import funnel

    res = funnel(store.ibis(), store.config, FUNNEL, "7d")
    return Outcome(res.to_dict(), {})


def a_paths(store: Any) -> Outcome:
    from cxlab.journey import paths

    res = paths(store.ibis(), store.config, start="cart", depth=4)
    return Outcome(res.to_dict(), {})


def a_retention(store: Any) -> Outcome:
    from cxlab.journey import retention

    res = retention(store.ibis(), store.config, period="month")
    return Outcome(res.to_dict(), {"cohort_rows": len(res.cohorts)})


def a_swot(store: Any) -> Outcome:
    from cxlab.journey import swot

    res = swot(store.ibis(), store.config, evidence={})
    return Outcome(res.to_dict(), {})


def a_performance(store: Any) -> Outcome:
    from cxlab.channels.performance import channel_performance

    res = channel_performance(store.ibis(), store.config)
    return Outcome(res.to_dict(), {})


def a_attribution(store: Any) -> Outcome:
    from cxlab.channels.attribution import attribute
    from cxlab.channels.journeys import JourneyOptions, build_journeys

    t0 = time.perf_counter()
    options = JourneyOptions(
        30.0, None, None, session_timeout_minutes=store.config.journey.session_timeout_minutes
    )
    journeys = build_journeys(store.ibis(), options, store.config)
    t1 = time.perf_counter()
    res = attribute(journeys, "markov")
    doc = res.to_dict()
    arrays = (journeys.offsets, journeys.touches, journeys.conversions, journeys.value, journeys.nulls)
    sizes = {
        "unique_journeys": len(journeys.offsets) - 1,
        "journey_bytes": float(sum(a.nbytes for a in arrays)),
        "journeys_s": t1 - t0,
        "markov_s": time.perf_counter() - t1,
    }
    return Outcome(doc, sizes)


def a_experiment(store: Any) -> Outcome:
    from cxlab.experiments.definitions import metrics_from_config
    from cxlab.experiments.experiment import analyze_experiment, list_experiments

    con = store.ibis()
    listed = list_experiments(con)
    experiment = str(listed.sort_values(listed.columns[0]).iloc[0, 0])
    res = analyze_experiment(con, experiment, metrics_from_config(store.config), config=store.config)
    return Outcome({"experiment": experiment, "result": res.to_dict()}, {"experiments": len(listed)})


def a_summary(store: Any) -> Outcome:
    from cxlab.currency import shop_orders
    from cxlab.customers.summary import last_order_time, purchase_summary

    orders = shop_orders(store.ibis(), store.config).table
    s = purchase_summary(orders, last_order_time(orders), time_unit="week", period="week", exact=True)
    frame = s.to_frame()
    doc = {
        "customers": len(frame),
        "sums": {c: float(frame[c].sum()) for c in frame.columns if frame[c].dtype.kind in "if"},
    }
    return Outcome(doc, {"rows": len(frame), "bytes": frame_bytes(frame)})


def a_rfm(store: Any) -> Outcome:
    from cxlab.customers.rfm import rfm_segments

    res = rfm_segments(store.ibis(), config=store.config)
    return Outcome(res.to_dict(), {})


def a_clv(store: Any) -> Outcome:
    from cxlab.customers.lifetime import Settings, lifetime_value

    res = lifetime_value(store.ibis(), settings=Settings(model="bgnbd"), config=store.config)
    return Outcome(res.to_dict(top=20), {"customers": len(res.to_frame())})


def a_churn(store: Any) -> Outcome:
    from cxlab.customers.churn import churn_risk
    from cxlab.customers.lifetime import Settings

    res = churn_risk(store.ibis(), settings=Settings(model="bgnbd", holdout=0), config=store.config)
    return Outcome(res.to_dict(top=20), {"customers": len(res.to_frame())})


def a_scores(store: Any) -> Outcome:
    from cxlab.voice.scores import score

    con = store.ibis()
    return Outcome({k: score(con, k, config=store.config).to_dict() for k in ("nps", "csat", "ces")}, {})


def a_sentiment(store: Any) -> Outcome:
    from cxlab.voice.predict import classify_texts

    fb = store.ibis().table("feedback")
    sample = (
        fb.filter(fb.text.notnull() & (fb.text != ""))
        .select("feedback_id", "text")
        .order_by("feedback_id")
        .limit(SAMPLE_TEXTS)
        .execute()
    )
    results = classify_texts(list(sample["text"]), store.config)
    labels: dict[str, int] = {}
    for r in results:
        labels[str(r.label)] = labels.get(str(r.label), 0) + 1
    first = sample["feedback_id"].iloc[0] if len(sample) else None
    return Outcome({"texts": len(sample), "first_id": first, "labels": dict(sorted(labels.items()))}, {})


ANALYSES: dict[str, tuple[str, Callable[[Any], Outcome]]] = {
    "map": ("journey", a_map),
    "funnel": ("journey", a_funnel),
    "paths": ("journey", a_paths),
    "retention": ("journey", a_retention),
    "swot": ("journey", a_swot),
    "performance": ("channels", a_performance),
    "attribution": ("channels", a_attribution),
    "experiment": ("experiments", a_experiment),
    "summary": ("customers", a_summary),
    "rfm": ("customers", a_rfm),
    "clv": ("customers", a_clv),
    "churn": ("customers", a_churn),
    "scores": ("voice", a_scores),
    "sentiment": ("voice", a_sentiment),
}


def status_kib(pid: int | str, field: str) -> int:
    """``field`` (VmHWM, VmRSS) of process ``pid`` from ``/proc/<pid>/status``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def stage_totals(spark: Any) -> dict[str, float]:
    """MiB read from files, written to shuffle and spilled to disk over every stage this session ran (Spark's
    status store; it is kept with the web UI off too)."""
    store = spark._jsparkSession.sparkContext().statusStore()
    defaults = getattr(store, "stageList$default$4")(), getattr(store, "stageList$default$5")()
    seq = store.stageList(None, False, False, *defaults)  # all stages, no task details
    stages = spark._jvm.scala.jdk.javaapi.CollectionConverters.asJava(seq)
    totals = {"input_MiB": 0.0, "shuffle_MiB": 0.0, "spill_MiB": 0.0}
    for i in range(stages.size()):
        st = stages.get(i)
        totals["input_MiB"] += st.inputBytes() / 2**20
        totals["shuffle_MiB"] += st.shuffleWriteBytes() / 2**20
        totals["spill_MiB"] += st.diskBytesSpilled() / 2**20
    return totals


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU seconds process ``pid`` has used (``/proc/<pid>/stat``), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(name: str, db: str, out: Path) -> None:
    """Run analysis ``name`` on ``db`` and write its document, time and memory to ``out`` (JSON)."""
    from cxlab.jsonable import jsonable
    from cxlab.store import open_store
    from cxlab.store.engine import spark_session

    t0 = time.perf_counter()
    with open_store(db) as store:
        store.ibis()
        target = getattr(store, "target", None)
        session: Any = spark_session(target) if target is not None else None
        jvm = int(session._jvm.java.lang.ProcessHandle.current().pid()) if session is not None else None
        opened, rss_open = time.perf_counter() - t0, status_kib("self", "VmRSS")
        jvm_open = status_kib(jvm, "VmRSS") if jvm else None
        t1, cpu1, jcpu1 = time.perf_counter(), cpu_seconds("self"), cpu_seconds(jvm) if jvm else 0.0
        res = ANALYSES[name][1](store)
        seconds = time.perf_counter() - t1
        cpu = cpu_seconds("self") - cpu1 + (cpu_seconds(jvm) - jcpu1 if jvm else 0.0)
        if session is not None:
            res.sizes.update(stage_totals(session))
        doc = {
            "name": name,
            "open_s": opened,
            "seconds": seconds,
            "cpu_s": cpu,
            "py_peak_kib": status_kib("self", "VmHWM"),
            "py_open_kib": rss_open,
            "jvm_peak_kib": status_kib(jvm, "VmHWM") if jvm else None,
            "jvm_open_kib": jvm_open,
            "sizes": res.sizes,
            "doc": jsonable(res.doc),
        }
    out.write_text(json.dumps(doc, default=str))


# --- data -----------------------------------------------------------------------------------------------------


def make_data(events: int, workdir: Path) -> tuple[Path, Path, Path]:
    """The demo data folder (simulated if missing), the DuckDB store and the lake folder for ~``events``."""
    people = max(1000, round(events / EVENTS_PER_PERSON))
    data = workdir / f"demo-{people}"
    if not (data / "data" / "events").exists():
        from cxlab.demo import generate

        t0 = time.perf_counter()
        res = generate(data, customers=people, seed=1, workers=2)
        print(f"generated {res.counts['events']:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    home = workdir / f"scale-{people}"
    return data / "data", home / "store.duckdb", home / "lake"


def build(data: Path, db: Path, lake: Path, link: bool = False, store: bool = True) -> None:
    """Load every canonical table the demo wrote into ``db``, then export the lakehouse layout to ``lake`` (or,
    with ``link``, make ``lake/<table>`` a link to the demo's own Parquet folder: the same rows, not partitioned
    by date, in the demo's ~4M-row part files; no export to wait for, and no DuckDB store needed: ``store``
    False skips it when only Spark runs)."""
    from cxlab.config import CONFIG_NAME, default_toml
    from cxlab.schema.tables import TABLES, quote_ident
    from cxlab.store import Store
    from cxlab.store.lake import export_tables

    if not db.exists() and store:
        db.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with Store(db) as s:
            for table in TABLES:
                if not any((data / table).glob("*.parquet")):
                    continue
                cols = ", ".join(quote_ident(c) for c in s.con.table(table).columns)
                s.con.execute(
                    f"INSERT INTO {quote_ident(table)} SELECT {cols} FROM read_parquet('{data}/{table}/*.parquet')"
                )
        print(f"built {db} in {time.perf_counter() - t0:.0f} s", flush=True)
    if link and not (lake / "events").exists():
        lake.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            (lake / table).symlink_to((data / table).resolve(), target_is_directory=True)
        (lake / CONFIG_NAME).write_text(default_toml(), encoding="utf-8")
    if not (lake / "events").exists():
        t0 = time.perf_counter()
        with Store(db, read_only=True) as s:
            counts = export_tables(s.con, lake, default_toml())
        print(f"exported {counts} to {lake} in {time.perf_counter() - t0:.0f} s", flush=True)


def describe(lake: Path) -> None:
    """Rows (from the Parquet footers), bytes and files per table of the lake."""
    import duckdb

    from cxlab.schema.tables import TABLES

    for table in TABLES:
        files = list((lake / table).rglob("*.parquet"))
        size = sum(f.stat().st_size for f in files)
        glob = f"{lake / table}/**/*.parquet"
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0] if files else 0  # type: ignore[index]
        per = f"{size / n:.1f} B/row" if n else ""
        print(
            f"  {table:<10} {n:>13,} rows  {size / 2**20:10.1f} MiB Parquet in {len(files):>4} files  {per}"
        )


# --- the parent -----------------------------------------------------------------------------------------------


def differences(a: Any, b: Any, rel: float, where: str = "") -> list[str]:
    """Where ``b`` differs from ``a``: exact for everything but floats (``rel`` relative); None == NaN."""

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{where}: keys {list(a)} != {list(b)}"]
        return [d for k in a for d in differences(a[k], b[k], rel, f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, rel, f"{where}[{i}]")
        ]
    if missing(a) or missing(b):
        return [] if missing(a) and missing(b) else [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, float) or isinstance(b, float):
        ok = (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
        )
        return [] if ok else [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def run_child(name: str, db: str, out: Path, env: dict[str, str], timeout: float) -> dict[str, Any] | str:
    """One analysis in a fresh process: its record, or why there is none (the error's last line, a timeout)."""
    cmd = [sys.executable, __file__, "child", name, "--db", db, "--out", str(out)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if p.returncode != 0:
        out.with_suffix(".err").write_text(p.stderr)
        lines = [ln.strip() for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith((" ", "\t"))]
        return f"failed (rc {p.returncode}, stderr in {out.with_suffix('.err').name}): {lines[-1][:300] if lines else '?'}"
    rec: dict[str, Any] = json.loads(out.read_text())
    rec["wall_s"] = time.perf_counter() - t0
    return rec


def gib(kib: float | None) -> str:
    return "" if kib is None else f"{kib / 2**20:.2f}"


def report(engine: str, name: str, rec: dict[str, Any] | str, check: str) -> None:
    group = ANALYSES[name][0]
    if isinstance(rec, str):
        print(f"| {engine} | {group} | {name} | {rec} | | | | | | |", flush=True)
        return
    sizes = ", ".join(f"{k} {v:,.0f}" if v >= 10 else f"{k} {v:.2f}" for k, v in rec["sizes"].items())
    print(
        f"| {engine} | {group} | {name} | {rec['seconds']:.2f} | {rec.get('cpu_s', math.nan):.1f} "
        f"| {rec['open_s']:.1f} | {gib(rec['py_peak_kib'])} "
        f"| {gib(rec['jvm_peak_kib'])} | {check} | {sizes} |",
        flush=True,
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        ap = argparse.ArgumentParser()
        ap.add_argument("child")
        ap.add_argument("name", choices=ANALYSES)
        ap.add_argument("--db", required=True)
        ap.add_argument("--out", type=Path, required=True)
        a = ap.parse_args()
        child(a.name, a.db, a.out)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="about this many demo events")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/scale-data"))
    ap.add_argument("--spark", action="store_true", help="also on Spark (same as --engines duckdb,spark)")
    ap.add_argument("--engines", default=None, help="duckdb, spark or duckdb,spark (default: duckdb)")
    ap.add_argument(
        "--only", default=None, help=f"comma-separated analyses (default all: {', '.join(ANALYSES)})"
    )
    ap.add_argument("--link", action="store_true", help="Spark reads the demo's Parquet folders (no export)")
    ap.add_argument("--report", action="store_true", help="print the table of the runs already recorded")
    ap.add_argument("--build-only", action="store_true", help="make the store and lake, run nothing")
    ap.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    ap.add_argument("--driver-memory", default="4g", help="Spark driver (= local executor) heap")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per analysis before giving up")
    ap.add_argument("--rel", type=float, default=1e-6, help="relative tolerance for floats, Spark vs DuckDB")
    ap.add_argument(
        "--results", type=Path, help="folder for each run's JSON (default WORKDIR/scale-*/results)"
    )
    args = ap.parse_args()
    engines = (args.engines or ("duckdb,spark" if args.spark else "duckdb")).split(",")
    names = args.only.split(",") if args.only else list(ANALYSES)
    data, db, lake = make_data(args.events, args.workdir)
    build(data, db, lake, args.link, store="duckdb" in engines or not args.link)
    describe(lake)
    if args.build_only:
        return
    results = args.results or db.parent / "results"
    results.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": f"--driver-memory {args.driver_memory} pyspark-shell"}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores; load average {load}")
    print(
        f"Spark: {args.master}, driver memory {args.driver_memory}; floats compared to {args.rel:g} relative\n"
    )
    print(HEADER)
    urls = {"duckdb": str(db), "spark": f"spark://{args.master}?tables={lake}"}
    failed = []
    for name in names:
        for engine in engines:
            out = results / f"{engine}-{name}.json"
            got: dict[str, Any] | str
            if args.report:
                got = json.loads(out.read_text()) if out.exists() else "not recorded"
            else:
                got = run_child(name, urls[engine], out, env, args.timeout)
            check = compare(results, engine, name, got, args.rel)
            if isinstance(got, str) or check.startswith("NO"):
                failed.append(f"{engine} {name}")
            report(engine, name, got, check)
    if failed:
        sys.exit(f"failed or different: {', '.join(failed)}")


HEADER = (
    "| engine | group | analysis | time s | CPU s | open s | Python peak GiB | JVM peak GiB | same as DuckDB "
    "| from the engine |\n|---|---|---|---:|---:|---:|---:|---:|---|---|"
)


def compare(results: Path, engine: str, name: str, rec: dict[str, Any] | str, rel: float) -> str:
    """ "yes", "NO: …" (Spark's document vs DuckDB's for the same analysis), or "" when there is nothing to compare."""
    base = results / f"duckdb-{name}.json"
    if engine == "duckdb" or isinstance(rec, str) or not base.exists():
        return ""
    diffs = differences(json.loads(base.read_text())["doc"], rec["doc"], rel)
    return "yes" if not diffs else f"NO: {len(diffs)} differences, first {diffs[0][:200]}"


if __name__ == "__main__":
    main()
