"""Ingest into a lakehouse folder: the DuckDB ingest's checks and counts, idempotent across partitions, atomic
per file, logged, keyed with the lake's own secret; no Spark involved."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.keys import SECRET_ENV, SecretError
from cxlab.schema.tables import TABLES
from cxlab.store import SparkStore, Store, StoreError, open_store
from cxlab.store import lake as lake_mod
from cxlab.store.lake import TMP_PREFIX, export_tables, parquet_glob, writer_lock
from cxlab.store.lake_ingest import LOG_DIR
from tests.conftest import write

EVENTS = """event_id,ts,customer_id,anonymous_id,event,channel,touchpoint,revenue,properties
e1,2024-05-01T10:00:00+02:00,c1,a1,page_view,email,site,,"{""page"": ""/"", ""email"": ""a@b.nl""}"
e2,2024-05-01 23:30:00,c1,a1,purchase,email,checkout,49.95,
e3,2024-05-02T00:00:00Z,,a2,page_view,direct,site,,
e4,2024-05-03T08:00:00Z,c2,a3,page_view,direct,site,,
"""
MORE = """event_id,ts,customer_id,event,revenue
e1,2024-06-09T10:00:00Z,c1,page_view,
e9,2024-06-09T11:00:00Z,c1,page_view,
e9,2024-06-09T12:00:00Z,c1,page_view,
e8,never,c1,page_view,-1
"""
CUSTOMERS = """customer_id,first_seen,country,consent_email,consent_sms
c1,2024-01-01,NL,true,false
c2,2024-01-02,DK,false,
"""
CUSTOMERS_LATER = """customer_id,first_seen,country,consent_email,consent_sms
c1,2024-01-01,NL,false,false
c3,2024-02-01,DK,true,true
"""
FIXTURES = Path(__file__).parent / "importers" / "fixtures"


def url(d: Path) -> str:
    return f"spark://local[2]?tables={d}"


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    d = tmp_path / "lake"
    d.mkdir()
    return d


def lake_rows(d: Path, table: str) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in TABLES[table].column_names)
    if not (d / table).is_dir():
        return []
    return duckdb.connect().execute(f"SELECT {cols} FROM {parquet_glob(d, table)} ORDER BY ALL").fetchall()


def store_rows(s: Store, table: str) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in TABLES[table].column_names)
    return s.con.execute(f'SELECT {cols} FROM "{table}" ORDER BY ALL').fetchall()


def tree(d: Path) -> list[str]:
    """Every file under ``d`` (relative)."""
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


def counts(r: object) -> tuple[int, int, int, int]:
    return (r.rows_read, r.stored, r.duplicate, r.rejected)  # type: ignore[attr-defined]


def test_lake_stores_what_the_store_stores_with_the_same_counts(lake: Path, tmp_path: Path) -> None:
    files = [
        ("events", write(tmp_path / "events.csv", EVENTS)),
        ("events", write(tmp_path / "more.csv", MORE)),
        ("events", tmp_path / "events.csv"),
        ("customers", write(tmp_path / "customers.csv", CUSTOMERS)),
        ("customers", write(tmp_path / "later.csv", CUSTOMERS_LATER)),
    ]
    with Store(tmp_path / "s.duckdb") as duck, open_store(url(lake), read_only=False) as spark:
        assert isinstance(spark, SparkStore)
        reports = []
        for table, f in files:
            a = duck.ingest(table, f, skip_bad=True, rejects_path=tmp_path / "a.csv")
            b = spark.ingest(table, f, skip_bad=True, rejects_path=tmp_path / "b.csv")
            assert b.to_dict() == {**a.to_dict(), "rejects_file": b.rejects_file}, f
            reports.append(counts(b))
        for table in TABLES:
            if table != "consent":
                assert lake_rows(lake, table) == store_rows(duck, table), table
        # a change of consent is dated now(): the two ledgers agree but for those instants
        without_ts = [
            [r[:3] + r[4:] for r in rows]
            for rows in (lake_rows(lake, "consent"), store_rows(duck, "consent"))
        ]
        assert without_ts[0] == without_ts[1] and len(without_ts[0]) == 6
        assert duck.ingest_log(20) and [r[1:] for r in spark.ingest_log(20)] == [
            r[1:] for r in duck.ingest_log(20)
        ]
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # the second file's e1 would go to another day: still a duplicate; its repeated e9 and bad e8 rejected
    assert reports[:3] == [(4, 4, 0, 0), (4, 1, 1, 2), (4, 0, 4, 0)]
    assert len(lake_rows(lake, "events")) == 5
    assert '"email"' not in str(lake_rows(lake, "events"))  # scrubbed as in a store
    # consent: c1 withdrew e-mail in the later file; the ledger grew by exactly what the store's did
    assert ("c1", "email", False) in [r[:3] for r in lake_rows(lake, "consent")]
    days = sorted(p.name for p in (lake / "events").iterdir())
    assert days == ["date=2024-05-01", "date=2024-05-02", "date=2024-05-03", "date=2024-06-09"]
    assert not [p for p in lake.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_reingest_stores_nothing_and_status_shows_the_log(lake: Path, tmp_path: Path) -> None:
    f = write(tmp_path / "events.csv", EVENTS)
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", "events", str(f), "--db", url(lake), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["files"][0]["stored"] == 4
    before = tree(lake)
    again = runner.invoke(app, ["ingest", "events", str(f), "--db", url(lake), "--json"])
    doc = json.loads(again.stdout)["files"][0]
    assert (doc["stored"], doc["duplicate"]) == (0, 4)
    added = sorted(set(tree(lake)) - set(before))
    assert len(added) == 1 and added[0].startswith(f"{LOG_DIR}/part-")  # only the log row
    with open_store(url(lake)) as s:
        log = s.ingest_log(20)
    assert [(r[1], r[2], r[4], r[5], r[7]) for r in log] == [
        ("events", str(f), 0, 4, "done"),
        ("events", str(f), 4, 0, "done"),
    ]


def test_bad_file_stores_nothing_and_names_file_row_field(lake: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", "event_id,ts,customer_id,event\nn1,2024-06-01,c1,x\nn2,never,c1,x\n")
    res = CliRunner().invoke(app, ["ingest", "events", str(bad), "--db", url(lake)])
    assert res.exit_code == 2
    assert f"{bad}:3: ts: unparseable timestamp 'never'" in res.output
    assert "nothing from this file was stored" in res.output
    assert not (lake / "events").exists() and not (lake / LOG_DIR).exists()
    assert not (tmp_path / "bad.rejects.csv").exists()


def test_dry_run_counts_against_the_lake_and_writes_nothing(lake: Path, tmp_path: Path) -> None:
    with open_store(url(lake), read_only=False) as s:
        s.ingest("events", write(tmp_path / "events.csv", EVENTS))
        before = tree(lake)
        r = s.ingest("events", write(tmp_path / "more.csv", MORE), dry_run=True, skip_bad=True)
    assert counts(r) == (4, 1, 1, 2) and r.rejects_file is None
    assert tree(lake) == before and not (tmp_path / "more.rejects.csv").exists()


def test_failure_before_commit_leaves_the_lake_as_it_was(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(url(lake), read_only=False) as s:
        s.ingest("events", write(tmp_path / "events.csv", EVENTS))
        before = tree(lake)

        def broken(tmp: Path, files: list[Path], out: Path) -> None:
            assert [f for f in files if (tmp / f).is_file()] == files  # written, not yet moved
            raise OSError("disk full")

        monkeypatch.setattr(lake_mod, "commit", broken)
        with pytest.raises(OSError, match="disk full"):
            s.ingest("events", write(tmp_path / "more.csv", MORE), skip_bad=True)
    assert tree(lake) == before
    assert not [p for p in lake.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_rerun_after_a_partial_commit_stores_the_rest_once(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write(tmp_path / "events.csv", EVENTS)
    real = lake_mod.commit

    def first_file_only(tmp: Path, files: list[Path], out: Path) -> None:
        real(tmp, files[:1], out)
        raise OSError("killed")

    with open_store(url(lake), read_only=False) as s:
        monkeypatch.setattr(lake_mod, "commit", first_file_only)
        with pytest.raises(OSError, match="killed"):
            s.ingest("events", f)
        partial = lake_rows(lake, "events")
        assert 0 < len(partial) < 4 and not (lake / LOG_DIR).exists()
        monkeypatch.setattr(lake_mod, "commit", real)
        r = s.ingest("events", f)
    assert (r.stored, r.duplicate) == (4 - len(partial), len(partial))
    assert [row[0] for row in lake_rows(lake, "events")] == ["e1", "e2", "e3", "e4"]


def test_one_writer_at_a_time(lake: Path, tmp_path: Path) -> None:
    with (
        writer_lock(lake),
        open_store(url(lake), read_only=False) as s,
        pytest.raises(StoreError, match="another"),
    ):
        s.ingest("events", write(tmp_path / "events.csv", EVENTS))
    with writer_lock(lake), pytest.raises(StoreError, match="another ingest or export"):
        export_tables(duckdb.connect(), lake, "")
    assert list(lake.iterdir()) == []  # nothing written, no lock file left
    with open_store(url(lake), read_only=False) as s:
        assert s.ingest("events", tmp_path / "events.csv").stored == 4  # the lock is released
    with open_store(url(lake)) as s, pytest.raises(StoreError, match="read-only"):
        s.ingest("events", tmp_path / "events.csv")


def test_secret_is_created_once_and_checked(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with open_store(url(lake), read_only=False) as s:
        s.ingest("events", write(tmp_path / "events.csv", EVENTS))
        secret = s.secret
    path = lake / "cxlab.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip().encode() == secret
    with open_store(url(lake)) as s:
        assert s.secret == secret
    monkeypatch.setenv(SECRET_ENV, "x" * 40)
    with open_store(url(lake), read_only=False) as s, pytest.raises(SecretError, match="not the secret"):
        s.ingest("events", tmp_path / "events.csv")
    monkeypatch.delenv(SECRET_ENV)
    path.unlink()
    with open_store(url(lake), read_only=False) as s, pytest.raises(SecretError, match="missing"):
        s.secret  # noqa: B018
    assert not path.exists()


def test_shopify_import_into_a_lake_equals_the_store(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "k" * 40)  # one secret for both, so keyed hashes compare
    runner = CliRunner()
    db = tmp_path / "s.duckdb"
    for target in (str(db), url(lake)):
        res = runner.invoke(
            app, ["import", "shopify", str(FIXTURES / "shopify_orders.csv"), "--db", target, "--json"]
        )
        assert res.exit_code == 0, res.output
    again = runner.invoke(
        app, ["import", "shopify", str(FIXTURES / "shopify_orders.csv"), "--db", url(lake), "--json"]
    )
    assert {f["stored"] for f in json.loads(again.stdout)["files"]} == {0}
    with Store(db, read_only=True) as s:
        for table in ("customers", "orders", "events", "consent"):
            assert lake_rows(lake, table) == store_rows(s, table), table
            assert store_rows(s, table) or table == "consent"


def test_ga4_import_into_a_lake(lake: Path) -> None:
    res = CliRunner().invoke(
        app, ["import", "ga4", str(FIXTURES / "ga4_events.jsonl"), "--db", url(lake), "--json"]
    )
    assert res.exit_code == 0, res.output
    stored = json.loads(res.stdout)["files"][0]["stored"]
    assert stored > 0 and len(lake_rows(lake, "events")) == stored


def test_targets_ingest_cannot_write(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["ingest", "events", os.devnull, "--db", "spark://local[2]?database=shop"])
    assert res.exit_code == 2 and "local tables folder" in res.output


def test_rejects_of_a_lake_ingest_match_the_store(lake: Path, tmp_path: Path) -> None:
    f = write(tmp_path / "more.csv", MORE)
    with open_store(url(lake), read_only=False) as s:
        r = s.ingest("events", f, skip_bad=True)
    assert r.rejects_file == str(tmp_path / "more.rejects.csv")
    with open(r.rejects_file, encoding="utf-8") as fh:
        assert [x["_row"] for x in csv.DictReader(fh)] == ["4", "5"]


def test_a_project_whose_config_names_a_lake_ingests_into_it(tmp_path: Path) -> None:
    from cxlab.config import default_toml

    project = tmp_path / "shop"
    project.mkdir()
    (project / "cxlab.toml").write_text(
        default_toml() + '\n[engine]\nurl = "spark://local[2]"\ntables = "lake"\n', encoding="utf-8"
    )
    f = write(tmp_path / "events.csv", EVENTS)
    res = CliRunner().invoke(app, ["ingest", "events", str(f), "--db", str(project / "cxlab.toml")])
    assert res.exit_code == 0, res.output
    assert len(lake_rows(project / "lake", "events")) == 4
    assert not (project / "cxlab.duckdb").exists() and (project / "lake" / "cxlab.secret").exists()


def test_an_exported_lake_takes_new_rows_only_with_the_stores_secret(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxlab.store.store import init_project

    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = init_project(tmp_path / "shop")  # keyed, with a secret and its fingerprint
    f = write(tmp_path / "events.csv", EVENTS)
    with Store(db) as s:
        s.ingest("events", f)
    res = CliRunner().invoke(app, ["export", "parquet", "--db", str(db), "--out", str(lake)])
    assert res.exit_code == 0, res.output
    ingest = ["ingest", "events", str(write(tmp_path / "more.csv", MORE)), "--db", url(lake), "--skip-bad"]
    refused = CliRunner().invoke(app, ingest)
    assert refused.exit_code == 2 and "cxlab.secret: missing" in refused.output
    assert not (lake / "cxlab.secret").exists() and len(lake_rows(lake, "events")) == 4
    (lake / "cxlab.secret").write_bytes((db.parent / "cxlab.secret").read_bytes())
    res = CliRunner().invoke(app, [*ingest, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["files"][0]["stored"] == 1


def test_customers_erased_in_the_store_stay_out_of_its_lake(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxlab.privacy.erase import erase
    from cxlab.store.store import init_project

    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = init_project(tmp_path / "shop")
    with Store(db) as s:
        s.ingest("events", write(tmp_path / "events.csv", EVENTS))
    erase(db, "c1")
    assert CliRunner().invoke(app, ["export", "parquet", "--db", str(db), "--out", str(lake)]).exit_code == 0
    assert (lake / "_cxlab_tombstones").is_dir()
    (lake / "cxlab.secret").write_bytes((db.parent / "cxlab.secret").read_bytes())
    again = write(tmp_path / "again.csv", EVENTS.replace("e1,", "e9,").replace("e4,", "e8,"))  # new ids
    res = CliRunner().invoke(app, ["ingest", "events", str(again), "--db", url(lake), "--json"])
    assert res.exit_code == 0, res.output
    kept = {r[0] for r in duckdb.sql(f"SELECT customer_id FROM {parquet_glob(lake, 'events')}").fetchall()}
    assert "c1" not in kept and "c2" in kept  # c1's rows refused again, c2's new row stored
    assert json.loads(res.stdout)["files"][0]["stored"] >= 1
