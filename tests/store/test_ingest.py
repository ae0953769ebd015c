"""Ingest is idempotent, atomic per file (also when killed), and keeps values exactly."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cxlab.store import IngestError, Store
from tests.conftest import write

EVENTS_CSV = """event_id,ts,customer_id,anonymous_id,event,channel,touchpoint,revenue,properties
e1,2024-05-01T10:00:00+02:00,c1,a1,page_view,email,site,,"{""page"": ""/"" }"
e2,2024-05-01 09:30:00 +0100,c1,a1,purchase,email,checkout,49.95,
e3,2024-05-01T23:59:59Z,,a2,page_view,direct,site,,
"""


def snapshot(store: Store) -> list[tuple]:
    return store.con.execute("SELECT * FROM events ORDER BY event_id").fetchall()


def test_csv_values_and_utc(store: Store, tmp_path: Path) -> None:
    r = store.ingest("events", write(tmp_path / "events.csv", EVENTS_CSV))
    assert (r.rows_read, r.stored, r.duplicate, r.rejected) == (3, 3, 0, 0)
    rows = store.con.execute(
        "SELECT event_id, ts, customer_id, revenue, properties FROM events ORDER BY event_id"
    ).fetchall()
    assert rows == [
        ("e1", dt.datetime(2024, 5, 1, 8, 0), "c1", None, '{"page": "/" }'),
        ("e2", dt.datetime(2024, 5, 1, 8, 30), "c1", 49.95, None),
        ("e3", dt.datetime(2024, 5, 1, 23, 59, 59), None, None, None),
    ]


def test_reingest_adds_nothing_and_overlap_adds_only_new(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", EVENTS_CSV)
    store.ingest("events", path)
    before = snapshot(store)
    again = store.ingest("events", path)
    assert (again.rows_read, again.stored, again.duplicate) == (3, 0, 3)
    assert snapshot(store) == before
    more = write(
        tmp_path / "more.csv",
        EVENTS_CSV.splitlines()[0]
        + "\n"
        + EVENTS_CSV.splitlines()[1]
        + "\ne4,2024-05-02,c9,,page_view,direct,site,,\n",
    )
    r = store.ingest("events", more)
    assert (r.rows_read, r.stored, r.duplicate) == (2, 1, 1)
    assert store.counts()["events"] == 4


def test_every_format_gives_the_same_rows(tmp_path: Path) -> None:
    src = write(tmp_path / "events.csv", EVENTS_CSV)
    table = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(column_types={"ts": pa.string()}))
    pq.write_table(table, tmp_path / "events.parquet")
    (tmp_path / "events.csv.gz").write_bytes(gzip.compress(src.read_bytes()))
    lines = [
        json.dumps({k: v for k, v in row.items() if v not in ("", None)})
        for row in csv.DictReader(src.open(encoding="utf-8"))
    ]
    (tmp_path / "events.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    results = []
    for i, data in enumerate(
        [
            src,
            tmp_path / "events.parquet",
            tmp_path / "events.csv.gz",
            tmp_path / "events.jsonl.gz",
            table,
            table.to_pandas(),
        ]
    ):
        with Store(tmp_path / f"s{i}.duckdb") as s:
            assert s.ingest("events", data).stored == 3
            results.append(snapshot(s))
    assert all(r == results[0] for r in results[1:])


def test_bad_file_leaves_store_exactly_as_it_was(store: Store, tmp_path: Path) -> None:
    store.ingest("events", write(tmp_path / "events.csv", EVENTS_CSV))
    before = snapshot(store)
    bad = write(tmp_path / "bad.csv", "event_id,ts,customer_id,event\nn1,2024-06-01,c1,x\nn2,never,c1,x\n")
    with pytest.raises(IngestError):
        store.ingest("events", bad)
    assert snapshot(store) == before
    log = store.con.execute("SELECT count(*) FROM _cxlab_ingests").fetchone()
    assert log == (1,)


def test_skip_bad_stores_good_rows_and_writes_rejects(store: Store, tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.csv",
        "event_id,ts,customer_id,event,revenue\n"
        "n1,2024-06-01,c1,x,\nn2,never,c1,x,-1\nn1,2024-06-02,c1,x,\nn3,2024-06-01,c2,y,5\n",
    )
    r = store.ingest("events", bad, skip_bad=True)
    assert (r.rows_read, r.stored, r.duplicate, r.rejected) == (4, 2, 0, 2)
    assert [e[0] for e in store.con.execute("SELECT event_id FROM events ORDER BY 1").fetchall()] == [
        "n1",
        "n3",
    ]
    assert r.rejects_file == str(tmp_path / "bad.rejects.csv")
    with open(r.rejects_file, encoding="utf-8") as f:
        rejects = list(csv.DictReader(f))
    assert [x["_row"] for x in rejects] == ["3", "4"]
    assert rejects[0]["_errors"] == (
        "ts: unparseable timestamp 'never' (expected ISO 8601, e.g. "
        "2024-05-01T13:45:00Z; see --date-format); revenue: negative revenue: '-1'"
    )
    assert rejects[0]["ts"] == "never" and rejects[0]["event_id"] == "n2"
    assert rejects[1]["_errors"] == "event_id: duplicate key 'n1' within the file (first at row 2)"


def test_dry_run_checks_and_counts_but_stores_nothing(store: Store, tmp_path: Path) -> None:
    r = store.ingest("events", write(tmp_path / "events.csv", EVENTS_CSV), dry_run=True)
    assert (r.rows_read, r.stored) == (3, 3)
    assert store.counts()["events"] == 0


def test_composite_key_of_exposures(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv",
        "experiment_id,variant,customer_id,ts\n"
        "exp1,a,c1,2024-05-01\nexp2,a,c1,2024-05-01\nexp1,b,c1,2024-05-02\n",
    )
    with pytest.raises(IngestError) as info:
        store.ingest("exposures", path)
    assert [str(e) for e in info.value.errors] == [
        f"{path}:4: experiment_id,customer_id: duplicate key 'exp1/c1' within the file (first at row 2)"
    ]


def test_pandas_frames_and_config_channels(tmp_path: Path) -> None:
    (tmp_path / "cxlab.toml").write_text(
        textwrap.dedent("""
        [journey]
        stages = ["see", "do"]
        [journey.touchpoints]
        site = "see"
        [channels]
        names = ["tiktok"]
    """)
    )
    df = pd.DataFrame(
        {
            "event_id": ["t1"],
            "ts": [pd.Timestamp("2024-05-01 12:00")],
            "anonymous_id": ["a"],
            "event": ["ad_click"],
            "channel": ["tiktok"],
        }
    )
    with Store(tmp_path / "cxlab.duckdb") as s:
        assert s.ingest("events", df).stored == 1
        with pytest.raises(IngestError, match="unknown value 'email' \\(expected one of tiktok\\)"):
            s.ingest("events", df.assign(event_id="t2", channel="email"))


KILLER = """
import sys
from cxlab.store import Store
def progress(phase, pct):
    print(phase, flush=True)
with Store(sys.argv[1]) as s:
    s.ingest("events", sys.argv[2], progress=progress)
print("finished", flush=True)
"""


@pytest.mark.slow
def test_killed_ingest_leaves_store_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "cxlab.duckdb"
    with Store(db) as s:
        s.ingest("events", write(tmp_path / "events.csv", EVENTS_CSV))
        before = snapshot(s)
    big = tmp_path / "big.parquet"
    duckdb.execute(
        f"COPY (SELECT 'k' || i AS event_id, TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, "
        f"'a' || (i % 1000) AS anonymous_id, 'page_view' AS event, repeat('x', 40) || i AS campaign "
        f"FROM range(4000000) t(i)) TO '{big}' (FORMAT parquet)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(db), str(big)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "storing":  # the INSERT is running
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    with Store(db) as s:
        assert snapshot(s) == before
        assert s.counts()["events"] == 3
        r = s.ingest("events", big)  # the store still works, and the file loads in full
        assert r.stored == 4_000_000


def _parquet_events(path: Path, n: int) -> Path:
    duckdb.execute(
        f"COPY (SELECT 'k' || i AS event_id, TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, "
        f"'a' || (i % 1000) AS anonymous_id, 'page_view' AS event, repeat('x', 40) || i AS campaign "
        f"FROM range({n}) t(i)) TO '{path}' (FORMAT parquet)"
    )
    return path


@pytest.mark.slow
def test_killed_at_commit_the_log_and_the_data_agree(tmp_path: Path) -> None:
    """Killed the instant DuckDB writes the commit to its WAL: the rows that arrived are in the log."""
    db = tmp_path / "cxlab.duckdb"
    Store(db).close()
    big = _parquet_events(tmp_path / "big.parquet", 1_000_000)
    wal = db.with_name(db.name + ".wal")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(db), str(big)],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    # The commit of a million rows writes ~16 kB of WAL at once; a pending log row, under 1 kB.
    while proc.poll() is None and (wal.stat().st_size if wal.exists() else 0) < 1000:
        time.sleep(0.0001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    with Store(db) as s:
        events = s.counts()["events"]
        log = s.con.execute("SELECT stored, rows_read FROM _cxlab_ingests WHERE stored > 0").fetchall()
        assert events in (0, 1_000_000)
        assert sum(stored for stored, _ in log) == events
        assert all(read == 1_000_000 for _, read in log)
        statuses = s.con.execute("SELECT status FROM _cxlab_ingests").fetchall()
    assert statuses in ([], [("done",)], [("recovered",)], [("interrupted",)])


def test_pending_log_rows_of_a_killed_process_are_settled(tmp_path: Path) -> None:
    """What the store holds after a kill at commit decides: rows arrived → recovered, none → interrupted."""
    db = tmp_path / "cxlab.duckdb"
    with Store(db) as s:
        s.ingest("events", write(tmp_path / "events.csv", EVENTS_CSV))
        s.con.execute(
            'INSERT INTO _cxlab_ingests (ts, "table", file, rows_read, rejected, id, status, rows_before, pid) '
            "VALUES (now(), 'events', 'landed.csv', 5, 1, 'a', 'pending', 1, -1), "
            "(now(), 'orders', 'lost.csv', 7, 0, 'b', 'pending', 0, -1)"
        )
    with Store(db, read_only=True) as s:  # reading settles nothing
        assert s.con.execute("SELECT count(*) FROM _cxlab_ingests WHERE status = 'pending'").fetchone() == (
            2,
        )
    with Store(db) as s:
        rows = s.con.execute(
            "SELECT file, status, stored, duplicate FROM _cxlab_ingests ORDER BY file"
        ).fetchall()
    assert rows == [
        (str(tmp_path / "events.csv"), "done", 3, 0),
        ("landed.csv", "recovered", 2, 2),
        ("lost.csv", "interrupted", 0, 0),
    ]
