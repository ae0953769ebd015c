"""Exporting a customer (subject access request): every table's rows about them, as strict JSON, with a
manifest and an audit entry; nothing about other customers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from test_erase import GUEST_TEXT, SECRET_TEXT, make_store
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.privacy.audit import entries
from cxlab.privacy.keys import keyed, load_secret

runner = CliRunner()

# The rows about C100 (Anna), counted directly: her own rows, the anonymous event of device A1 (linked to her
# alone), guest feedback F2 on her order O1, and the voice results and embeddings of her feedback.
DIRECT = {
    "customers": "SELECT count(*) FROM customers WHERE customer_id = 'C100'",
    "events": "SELECT count(*) FROM events WHERE customer_id = 'C100' OR (customer_id IS NULL AND anonymous_id = 'A1')",
    "orders": "SELECT count(*) FROM orders WHERE customer_id = 'C100'",
    "feedback": "SELECT count(*) FROM feedback WHERE customer_id = 'C100' OR (customer_id IS NULL AND order_id = 'O1')",
    "exposures": "SELECT count(*) FROM exposures WHERE customer_id = 'C100'",
    "consent": "SELECT count(*) FROM consent WHERE customer_id = 'C100'",
    "voice_texts": "SELECT count(*) FROM voice_texts WHERE feedback_id IN ('F1', 'F2', 'F3')",
    "voice_embeddings": "SELECT count(*) FROM voice_embeddings WHERE text_hash IN "
    "(SELECT text_hash FROM voice_texts WHERE feedback_id IN ('F1', 'F2', 'F3'))",
}


def test_export_contains_every_tables_rows(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    con = duckdb.connect(str(db), read_only=True)
    expected = {t: con.execute(sql).fetchall()[0][0] for t, sql in DIRECT.items()}
    con.close()
    assert expected == {
        "customers": 1,
        "events": 3,
        "orders": 1,
        "feedback": 3,
        "exposures": 1,
        "consent": 1,
        "voice_texts": 3,
        "voice_embeddings": 3,
    }
    out = tmp_path / "sar"
    result = runner.invoke(app, ["privacy", "export", "C100", "--out", str(out), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tables"] == expected
    for table, n in expected.items():
        rows = json.loads((out / f"{table}.json").read_text(encoding="utf-8"))
        assert len(rows) == n, table
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"{t}.json" for t in expected), "manifest.json"]
    )

    events = json.loads((out / "events.json").read_text())
    assert sorted(e["event_id"] for e in events) == ["e1", "e2", "e3"]
    assert events[0]["ts"].startswith("2025-01-0")  # timestamps as ISO 8601 text
    feedback = json.loads((out / "feedback.json").read_text())
    assert {f["text"] for f in feedback} >= {SECRET_TEXT, GUEST_TEXT}
    assert all(r["customer_id"] == "C100" for r in json.loads((out / "orders.json").read_text()))

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["customer_id"] == "C100" and manifest["tables"] == expected
    assert manifest["anonymous_ids"] == ["A1"]
    con = duckdb.connect(str(db), read_only=True)
    (entry,) = entries(con)
    con.close()
    assert (entry["action"], entry["subject"], entry["rows"]) == (
        "export",
        keyed(load_secret(db), "C100"),
        sum(expected.values()),
    )


def test_export_of_unknown_customer_writes_only_the_manifest(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    out = tmp_path / "sar"
    result = runner.invoke(app, ["privacy", "export", "nobody", "--out", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "No rows about customer nobody" in result.output
    assert [p.name for p in out.iterdir()] == ["manifest.json"]


def test_export_by_email_includes_the_other_account(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    out = tmp_path / "sar"
    result = runner.invoke(
        app,
        [
            "privacy",
            "export",
            "C100",
            "--email",
            "anna.de.vries@example.nl",
            "--out",
            str(out),
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    customers = json.loads((out / "customers.json").read_text())
    assert sorted(c["customer_id"] for c in customers) == ["C100", "C300"]


def test_a_reused_export_folder_holds_only_the_new_customer_and_is_private(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    out = tmp_path / "sar"
    assert (
        runner.invoke(app, ["privacy", "export", "C100", "--out", str(out), "--db", str(db)]).exit_code == 0
    )
    assert (out / "events.json").exists()
    assert all((p.stat().st_mode & 0o077) == 0 for p in out.iterdir())  # owner-only: personal data
    r = runner.invoke(app, ["privacy", "export", "nobody", "--out", str(out), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert [p.name for p in out.iterdir()] == ["manifest.json"]  # C100's files are gone


def test_export_onto_a_file_and_erase_of_an_empty_id_are_bad_input(tmp_path: Path) -> None:
    db, _ = make_store(tmp_path)
    taken = tmp_path / "notes.txt"
    taken.write_text("mine\n", encoding="utf-8")
    r = runner.invoke(app, ["privacy", "export", "C100", "--out", str(taken), "--db", str(db)])
    assert r.exit_code == 2 and "not a folder" in r.stderr
    r = runner.invoke(app, ["privacy", "erase", " ", "--db", str(db)])
    assert r.exit_code == 2 and "empty" in r.stderr
