"""``cxlab recommend``: the JSON contracts, fit → table → lookup, and messy transaction files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from rec_helpers import orders_store
from test_rec_models import CATALOG, shop
from typer.testing import CliRunner

from cxlab.personalize.cli import app as recommend_app
from cxlab.personalize.store import TABLE, recommend_for

root = typer.Typer()
root.add_typer(recommend_app, name="recommend")  # as the main cxlab app mounts it
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(root, ["recommend", *args])


def one_line_error(r: Any) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert r.stdout == ""
    return lines[0]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = orders_store(tmp_path / "shop", shop(), '[personalize]\nexclude = ["E"]')
    (tmp_path / "shop" / "products.csv").write_text(CATALOG, encoding="utf-8")
    return db


def test_fit_then_for_reads_the_table(store: Path) -> None:
    before = run("for", "x", "--db", str(store), "--k", "3", "--json")
    assert before.exit_code == 0, before.stderr
    doc = json.loads(before.stdout)
    assert doc["source"] == "fitted in memory" and "recommend fit" in doc["note"]
    r = run("fit", "--db", str(store), "--model", "co_purchase", "--json")
    assert r.exit_code == 0, r.stderr
    fit = json.loads(r.stdout)
    assert fit["model"] == "co_purchase" and fit["customers"] == 41 and fit["table"] == TABLE
    r = run("for", "x", "--db", str(store), "--k", "3", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= {"customer_id", "items"} and doc["customer_id"] == "x"
    assert [set(i) for i in doc["items"]] == [{"product_id", "name", "score", "reason"}] * 3
    assert doc["items"][0] == {
        "product_id": "B",
        "name": "Wool Scarf",
        "score": doc["items"][0]["score"],
        "reason": "bought together with Cloud Coat by 7 customers",
    }
    assert doc["source"] == "table"
    unknown = json.loads(run("for", "stranger", "--db", str(store), "--json").stdout)
    assert unknown["source"] == "popularity"
    assert unknown["items"][0]["product_id"] == "D"
    assert unknown["items"][0]["reason"].startswith("no purchases known for this customer, so popular")
    human = run("for", "x", "--db", str(store), "--k", "2")
    assert (human.exit_code == 0 and "Wool Scarf" in human.stdout) or "B" in human.stdout


def test_fit_swaps_the_table_whole(store: Path) -> None:
    assert run("fit", "--db", str(store), "--model", "popularity", "--k", "2").exit_code == 0
    assert run("fit", "--db", str(store), "--model", "co_purchase", "--k", "3").exit_code == 0
    con = duckdb.connect(str(store), read_only=True)
    try:
        models = con.execute(f"SELECT DISTINCT model FROM {TABLE}").fetchall()
        per = con.execute(f"SELECT max(rank) FROM {TABLE}").fetchone()
        leftovers = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%__new'"
        ).fetchone()
        res = recommend_for(con, "pair0", 3)
    finally:
        con.close()
    assert models == [("co_purchase",)] and per == (3,) and leftovers == (0,)
    assert {"A", "B"}.isdisjoint(i.product_id for i in res.items)


def test_similar(store: Path) -> None:
    r = run("similar", "A", "--db", str(store), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["items"][0]["product_id"] == "B" and doc["items"][0]["customers"] == 7
    assert doc["items"][0]["reason"] == "bought together with Cloud Coat by 7 customers"
    assert "E" not in [i["product_id"] for i in doc["items"]]
    bad = run("similar", "nope", "--db", str(store))
    assert bad.exit_code == 2 and "nobody bought it" in one_line_error(bad)


def test_evaluate_on_store(store: Path) -> None:
    r = run("evaluate", "--db", str(store), "--split-date", "2024-01-05", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["default"] in doc["models"] and doc["customers"] >= 1


def write_log(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def transactions(n_customers: int = 60) -> str:
    """Each customer buys P_i, then its partner Q_i: half of them before the split (2024-03-12), half after."""
    rows = ["kunde;artikel;datum"]
    for c in range(n_customers):
        rows.append(f"K{c};P{c % 5};2024-03-{1 + c % 10:02d}")
        rows.append(f"K{c};Q{c % 5};2024-03-{(2 if c % 2 else 15) + c % 10:02d}")
        rows.append(f"K{c};Zé{c % 3};2024-03-{1 + c % 10:02d}")
    return "\n".join(rows) + "\n"


def evaluate_file(path: Path, *extra: str) -> Any:
    return run(
        "evaluate",
        "--transactions",
        str(path),
        "--customer-col",
        "kunde",
        "--product-col",
        "artikel",
        "--date-col",
        "datum",
        "--split-date",
        "2024-03-12",
        "--k",
        "10",
        "--json",
        *extra,
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "latin-1"])
def test_evaluate_contract_on_a_messy_file(tmp_path: Path, encoding: str) -> None:
    f = write_log(tmp_path / "t.csv", transactions(), encoding)
    r = evaluate_file(f)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= {"models", "default", "customers"}
    assert doc["customers"] == 30  # the half that bought Q after the split
    for m in doc["models"].values():
        assert set(m) >= {"precision", "recall", "ndcg", "coverage", "hit_rate"}
    assert doc["default"] == max(doc["models"], key=lambda k: doc["models"][k]["ndcg"])
    # P_i is always followed by Q_i: the item-based models find it, popularity can't
    assert doc["models"]["co_purchase"]["hit_rate"] == 1.0
    assert doc["models"]["co_purchase"]["ndcg"] > doc["models"]["popularity"]["ndcg"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        ("kunde;artikel;datum\n", "no rows"),
        ("kunde;ware;datum\nK1;P1;2024-03-01\n", "missing column(s) artikel"),
        ("kunde;artikel;datum\nK1;P1;2024-03-01\nK2;P1;gestern\n", "t.csv:3: datum: not a date"),
        ("kunde;artikel;datum\nK1;P1;2024-03-01\nK2;P2;2024-03-02\n", "no purchases on or after"),
        ("kunde;artikel;datum\nK1;P1;2024-03-20\n", "no purchases before"),
        ("kunde;artikel;datum\nK1;P1;2024-03-01\nK1;P1;2024-03-20\n", "had not bought before"),
    ],
)
def test_evaluate_messy_files_fail_clearly(tmp_path: Path, text: str, message: str) -> None:
    r = evaluate_file(write_log(tmp_path / "t.csv", text))
    assert r.exit_code == 2
    assert message in one_line_error(r)


def test_single_product_and_last_day_buyers(tmp_path: Path) -> None:
    text = "kunde;artikel;datum\nK1;P1;2024-03-01\nK2;P1;2024-03-02\nK3;P1;2024-03-20\nK4;P2;2024-03-31\n"
    r = evaluate_file(write_log(tmp_path / "t.csv", text))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["customers"] == 2  # K3 (P1, new to them) and K4 (bought only on the last day)
    assert doc["models"]["popularity"]["hit_rate"] == 0.5  # P1 for everyone: K3 hits, K4's P2 is unknown


def test_bad_split_date_and_model(tmp_path: Path) -> None:
    f = write_log(tmp_path / "t.csv", transactions())
    r = run("evaluate", "--transactions", str(f), "--split-date", "soon", "--json")
    assert r.exit_code == 2 and "--split-date" in one_line_error(r)
    r = evaluate_file(f, "--model", "magic")
    assert r.exit_code == 2 and "unknown model" in one_line_error(r)


def test_evaluate_a_cp1252_semicolon_export_with_day_first_dates(tmp_path: Path) -> None:
    """A European shop's export: Windows-1252, semicolons, CRLF, dates as 01.02.2025 (given --date-format)."""
    rows = [("K1", "Käse", "01.02.2025"), ("K1", "Brot", "03.05.2025"), ("K2", "Käse", "02.02.2025")]
    rows += [("K2", "Brot", "10.02.2025"), ("K3", "Brot", "04.02.2025"), ("K3", "Käse", "05.06.2025")]
    f = tmp_path / "export.csv"
    f.write_bytes(
        ("Kunde;Artikel;Datum\r\n" + "".join(f"{a};{b};{c}\r\n" for a, b, c in rows)).encode("cp1252")
    )
    args = ["evaluate", "--transactions", str(f), "--customer-col", "Kunde", "--product-col", "Artikel"]
    args += ["--date-col", "Datum", "--split-date", "2025-03-01", "--k", "10", "--json"]
    assert "--date-format" in one_line_error(run(*args))  # the message names the way out
    r = run(*args, "--date-format", "%d.%m.%Y")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    # K1 and K3 bought a product after the split they had not bought before (Brot, Käse): two test customers;
    # with two products and one bought, the other is the only candidate, so every model finds it
    assert doc["customers"] == 2
    assert all(m["recall"] == 1.0 for m in doc["models"].values())
