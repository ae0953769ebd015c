"""``cxlab customers``: the contract of ``clv fit`` (against lifetimes), input errors, and the store commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cxlab.customers.cli import app as customers_app
from cxlab.demo import generate
from cxlab.store import Store, init_project
from tests.plainwords.words import problems

root = typer.Typer()
root.add_typer(customers_app, name="customers")  # as the main cxlab app mounts it
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(root, ["customers", *args])


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_fit_summary_csv_matches_lifetimes(lf: Any, cdnow_dir: Path) -> None:
    summary = cdnow_dir / "cdnow_customers_summary_with_transactions.csv"
    d = pd.read_csv(summary).rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    r = run(
        "clv",
        "fit",
        "--summary",
        str(cdnow_dir / "cdnow_customers_summary.csv"),
        "--model",
        "bgnbd",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["bgnbd"]) == {
        "r",
        "alpha",
        "a",
        "b",
        "loglik",
        "n",
        "n_new",
        "degenerate",
        "degenerate_reason",
    }
    assert doc["gamma_gamma"] is None and doc["bgnbd"]["degenerate"] is False and doc["bgnbd"]["n_new"] == 0
    peer = lf.BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
    for k in ("r", "alpha", "a", "b"):
        assert doc["bgnbd"][k] == pytest.approx(peer.params_[k], rel=1e-4)
    assert doc["bgnbd"]["n"] == 2357 and doc["bgnbd"]["loglik"] == pytest.approx(-9582.43, abs=0.01)


def test_fit_summary_with_monetary_value(lf: Any, cdnow_dir: Path, tmp_path: Path) -> None:
    d = pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv")
    f = tmp_path / "s.csv"
    d.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"}).to_csv(f, index=False)
    doc = json.loads(run("clv", "fit", "--summary", str(f), "--model", "bgnbd", "--json").stdout)
    rep = d[d["x"] > 0]
    peer = lf.GammaGammaFitter().fit(rep["x"], rep["zbar"])
    assert set(doc["gamma_gamma"]) >= {"p", "q", "v", "n"} and doc["gamma_gamma"]["n"] == 946
    for k in ("p", "q", "v"):
        assert doc["gamma_gamma"][k] == pytest.approx(peer.params_[k], rel=1e-4)


def test_fit_transactions_csv_matches_lifetimes_weekly(
    lf: Any, tmp_path: Path, cdnow_transactions: pd.DataFrame
) -> None:
    f = tmp_path / "tx.csv"
    cdnow_transactions.assign(date=cdnow_transactions["date"].dt.strftime("%Y-%m-%d"))[
        ["customer", "date", "dollars"]
    ].to_csv(f, index=False)
    args = ["--transactions", str(f), "--customer-col", "customer", "--date-col", "date"]
    r = run(
        "clv",
        "fit",
        *args,
        "--value-col",
        "dollars",
        "--calibration-end",
        "1997-09-30",
        "--period",
        "week",
        "--model",
        "bgnbd",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    tx = pd.read_csv(f, dtype={"customer": str})
    ref = lf.utils.summary_data_from_transaction_data(
        tx[tx["date"] <= "1997-09-30"],
        "customer",
        "date",
        "dollars",
        observation_period_end="1997-09-30",
        freq="W",
    )
    bg = lf.BetaGeoFitter().fit(ref["frequency"], ref["recency"], ref["T"])
    for k in ("r", "alpha", "a", "b"):
        assert doc["bgnbd"][k] == pytest.approx(bg.params_[k], rel=1e-4), k
    rep = ref[ref["frequency"] > 0]
    gg = lf.GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    for k in ("p", "q", "v"):
        assert doc["gamma_gamma"][k] == pytest.approx(gg.params_[k], rel=1e-4), k
    assert doc["bgnbd"]["n"] == len(ref) and doc["gamma_gamma"]["n"] == len(rep)


def test_fit_transactions_with_holdout_writes_figure(
    tmp_path: Path, cdnow_transactions: pd.DataFrame
) -> None:
    f = tmp_path / "tx.csv"
    cdnow_transactions.assign(date=cdnow_transactions["date"].dt.strftime("%Y%m%d"))[
        ["customer", "date"]
    ].to_csv(f, index=False)
    fig = tmp_path / "holdout.html"
    r = run(
        "clv", "fit", "--transactions", str(f), "--customer-col", "customer", "--date-col", "date",
        "--date-format", "%Y%m%d", "--calibration-end", "1997-09-30", "--observation-end", "1998-06-30",
        "--period", "day", "--time-unit", "week", "--figure", str(fig), "--model", "bgnbd", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert round(doc["bgnbd"]["r"], 3) == 0.243 and round(doc["bgnbd"]["b"], 3) == 2.426  # the published fit
    assert doc["holdout"]["duration"] == 39 and doc["holdout"]["customers"] == 2357
    assert fig.read_text().count("plotly") > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("frequency,recency,T\n1,2,3\nx,1,2\n", "s.csv:3: frequency: not a number ('x')"),
        ("frequency,recency,T\n1,2,3\n1,5,2\n", "s.csv:3: recency: is greater than T"),
        ("frequency,recency,T\n1.5,2,3\n", "s.csv:2: frequency: must be a whole number >= 0"),
        ("frequency,recency\n1,2\n", "s.csv: missing column(s) T"),
        ("frequency,recency,T\n1,,3\n", "s.csv:2: recency: missing value"),
    ],
)
def test_bad_summary_exits_2_with_file_row_and_field(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "s.csv"
    f.write_text(content)
    r = run("clv", "fit", "--summary", str(f), "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert message in one_line_error(r.stderr)


def test_bad_transactions_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("cid,day\na,2024-01-01\nb,someday\n")
    base = ["clv", "fit", "--transactions", str(f), "--customer-col", "cid", "--date-col", "day"]
    r = run(*base, "--calibration-end", "2024-02-01")
    assert r.exit_code == 2 and "t.csv:3: day: not a date" in one_line_error(r.stderr)
    r = run(*base)
    assert r.exit_code == 2 and "--calibration-end" in one_line_error(r.stderr)
    r = run(*base, "--calibration-end", "2024-02-01", "--model", "nope")
    assert r.exit_code == 2 and "unknown purchase model" in one_line_error(r.stderr)
    r = run("clv", "fit", "--summary", str(tmp_path / "none.csv"))
    assert r.exit_code == 2 and "no such file" in one_line_error(r.stderr)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("shop")
    demo = generate(out, 6_000, seed=9)
    path = init_project(out)
    with Store(path) as s:
        for table in ("orders", "events", "feedback", "customers"):
            for f in demo.files[table]:
                s.ingest(table, f)
    return str(path)


def test_store_commands_print_json(db: str, tmp_path: Path) -> None:
    r = run("rfm", "--db", db, "--compare", "2025-06-30", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sum(s["customers"] for s in doc["segments"]) == doc["customers"]
    assert sum(m["customers"] for m in doc["movement"]["moves"]) == doc["customers"]

    out = tmp_path / "clv.csv"
    r = run("clv", "--db", db, "--holdout", "26", "--top", "5", "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["purchases"]) >= {"r", "alpha", "a", "b", "loglik", "n", "se"}
    assert len(doc["top"]) == 5 and doc["holdout"]["duration"] == pytest.approx(26)
    assert doc["degenerate"] is False and doc["degenerate_reason"] is None and doc["currency"] == "EUR"
    table = pd.read_csv(out)
    assert len(table) == doc["customers"] and table["clv"].is_monotonic_decreasing

    r = run("churn", "--db", db, "--top", "3", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [row["rank"] for row in doc["top"]] == [1, 2, 3] and doc["degenerate"] is False
    assert doc["top"][0]["value_at_risk"] >= doc["top"][1]["value_at_risk"] >= doc["top"][2]["value_at_risk"]

    r = run("personas", "--db", db, "--k", "4", "--json")
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(r.stdout)["personas"]) == 4


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["rfm"], ["RFM segments on", "Champions", "spent EUR", "Lost"]),
        (
            ["clv", "--holdout", "0", "--top", "7"],
            ["MBG/NBD", "top 7 customers by CLV", "worth EUR", "alpha"],
        ),
        (["churn", "--top", "4"], ["top 4 customers by value at risk", "EUR", "is at risk"]),
        (["personas", "--k", "3"], ["fall into 3 groups", "1. ", "2. ", "3. ", "channels:"]),
    ],
)
def test_store_commands_print_tables(db: str, args: list[str], shown: list[str]) -> None:
    r = run(*args, "--db", db)
    assert r.exit_code == 0, (args, r.stderr)
    text = " ".join(r.stdout.split())  # rich wraps long lines
    for s in shown:
        assert s in text, (s, r.stdout)
    assert "nan" not in r.stdout.lower().split()


def test_missing_store_exits_2(tmp_path: Path) -> None:
    r = run("rfm", "--db", str(tmp_path / "nope.duckdb"))
    assert r.exit_code == 2 and "no such store" in one_line_error(r.stderr)


def test_report_sections_stand_alone(db: str, tmp_path: Path) -> None:
    from cxlab.customers.report import SECTIONS
    from cxlab.report.html import render_report

    with Store(db, read_only=True) as store:
        made = [make(store) for make in SECTIONS]
    assert [m.id for m in made] == ["customers-rfm", "customers-clv", "customers-personas", "customers-churn"]
    rfm, clv, personas, churn = made
    assert "Champions" in rfm.summary and "spent EUR " in rfm.summary and "revenue (EUR)" in rfm.details
    assert "MBG/NBD" in clv.details and "worth EUR " in clv.summary
    assert clv.table is not None and clv.table["expected value"].str.startswith("EUR ").all()
    assert personas.table is not None and len(personas.table) >= 3  # one row per persona
    assert churn.table is not None and churn.table["value at risk"].str.startswith("EUR ").all()
    assert all(len(m.figures) == 1 for m in made)
    for m in made:  # plain words for a shop owner, money with its currency, the method in the details
        assert problems(m) == [], (m.id, problems(m))
    assert "silhouette" in personas.details and "P(alive)" in churn.details and "95% CI" in clv.details
    assert churn.table is not None and "chance still active" in churn.table
    html = render_report(made, tmp_path / "r.html").read_text()
    assert "Churn risk" in html and "Personas" in html


def test_report_sections_need_orders(tmp_path: Path) -> None:
    from cxlab.customers.report import SECTIONS
    from cxlab.errors import MissingData

    with Store(init_project(tmp_path)) as store:
        for make in SECTIONS:
            with pytest.raises(MissingData, match="needs orders"):
                make(store)


def test_fit_reads_files_as_ingest_does(tmp_path: Path) -> None:
    rows = [("Søren", "2024-01-01"), ("Søren", "2024-02-05"), ("Zoë", "2024-01-10"), ("Zoë", "2024-03-01")]
    rows += [(f"c{i}", f"2024-0{1 + i % 3}-1{i % 10}") for i in range(30)]
    rows += [(f"c{i}", "2024-03-20") for i in range(0, 30, 3)]
    f = tmp_path / "t.csv"
    f.write_text("cid;day\n" + "".join(f"{c};{d}\n" for c, d in rows), encoding="cp1252")  # Excel on Windows
    base = ["clv", "fit", "--transactions", str(f), "--customer-col", "cid", "--date-col", "day"]
    r = run(*base, "--calibration-end", "2024-03-31", "--model", "bgnbd", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["data"]["customers"] == 32
    j = tmp_path / "t.jsonl"
    j.write_text("".join(json.dumps({"cid": c, "day": d}) + "\n" for c, d in rows), encoding="utf-8")
    r = run(*[str(j) if a == str(f) else a for a in base], "--calibration-end", "2024-03-31", "--json")
    assert r.exit_code == 0, r.stderr
    bad = tmp_path / "q.csv"
    bad.write_text('frequency,recency,T\n1,2,3\n"1,2,3\n2,2,3\n')
    r = run("clv", "fit", "--summary", str(bad))
    assert r.exit_code == 2 and "q.csv:3: " in one_line_error(r.stderr) and "quote" in r.stderr
