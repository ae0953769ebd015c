"""The demo shop's flows: holdouts recorded as exposures, consent and holdouts obeyed, the flows declared in
files that load, and each planted effect recovered by the experiments engine within its interval."""

from __future__ import annotations

import csv
import hashlib
import tomllib
from pathlib import Path

import duckdb
import ibis
import pytest
from ibis.backends import BaseBackend
from scipy import stats

from cxlab.automate.contacts import ContactBook
from cxlab.automate.flows import automate_settings, load_flows
from cxlab.automate.holdout import assign
from cxlab.config import Config
from cxlab.demo import params as P
from cxlab.demo.flows import write_flow_files
from cxlab.experiments.definitions import default_metrics
from cxlab.experiments.experiment import analyze_experiment
from cxlab.store import init_project
from tests.journey.conftest import build_demo_store

N = 6_000
SEED = 7
FLOWS = {"abandoned_cart": "abandoned_cart_email", "review_request": "review_request", "birthday": "loyalty"}
"""Flow -> the touchpoint of its e-mails."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo_flows")
    db, truth = build_demo_store(out, N, SEED)
    return db, truth


@pytest.fixture(scope="module")
def backend(demo: tuple[Path, dict]) -> BaseBackend:
    return ibis.duckdb.connect(str(demo[0]), read_only=True)


@pytest.fixture(scope="module")
def con(backend: BaseBackend) -> duckdb.DuckDBPyConnection:
    return backend.con


def test_exposures_one_per_customer_with_a_ten_percent_holdout(
    con: duckdb.DuckDBPyConnection, demo: tuple[Path, dict]
) -> None:
    truth = demo[1]
    for flow in FLOWS:
        rows = dict(
            con.execute(
                "SELECT variant, count(*) FROM exposures WHERE experiment_id = ? GROUP BY 1", [f"flow:{flow}"]
            ).fetchall()
        )
        assert set(rows) == {"holdout", "send"}, flow
        n = rows["holdout"] + rows["send"]
        assert n > 300, flow
        assert stats.binomtest(rows["holdout"], n, 0.1).pvalue > 0.001, (flow, rows)
        assert truth["flows"][flow]["exposed_by_arm"] == rows
        # the arm is the one cxlab's own flows would draw for that customer
        got = con.execute(
            "SELECT customer_id, variant FROM exposures WHERE experiment_id = ? ORDER BY 1 LIMIT 500",
            [f"flow:{flow}"],
        ).fetchall()
        arms = assign(flow, [c for c, _ in got], 0.1, {"send": 1.0})
        assert list(arms) == [v for _, v in got], flow
    dup = con.execute(
        "SELECT count(*) - count(DISTINCT experiment_id || customer_id) FROM exposures"
    ).fetchone()
    assert dup == (0,)


def test_exposed_at_the_first_trigger_and_consent_obeyed(con: duckdb.DuckDBPyConnection) -> None:
    for flow, tp in FLOWS.items():
        x = f"(SELECT * FROM exposures WHERE experiment_id = 'flow:{flow}')"
        no_consent = con.execute(
            f"SELECT count(*) FROM {x} JOIN customers USING (customer_id) WHERE NOT consent_email"
        ).fetchone()
        assert no_consent == (0,), flow
        sent = f"(SELECT customer_id, ts FROM events WHERE event = 'email_sent' AND touchpoint = '{tp}')"
        # no message from the flow to its holdout, nor to anyone without e-mail consent
        held, unconsented = con.execute(
            f"""SELECT count(*) FILTER (WHERE customer_id IN (SELECT customer_id FROM {x} WHERE variant = 'holdout')),
                       count(*) FILTER (WHERE NOT c.consent_email)
                FROM {sent} s JOIN customers c USING (customer_id)"""
        ).fetchone() or (None, None)
        assert (held, unconsented) == (0, 0), flow
        # every sent customer is exposed, at their first message
        first = con.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE x.ts IS NULL OR x.ts <> s.first OR x.variant <> 'send')
                FROM (SELECT customer_id, min(ts) AS first FROM {sent} GROUP BY 1) s
                LEFT JOIN {x} x USING (customer_id)"""
        ).fetchone()
        assert first is not None and first[0] > 200 and first[1] == 0, (flow, first)
    # birthday e-mails go out at 09:00 local time on the birthday (29 February: 1 March in other years)
    bad = con.execute(
        """WITH b AS (SELECT c.birthday, timezone(CASE c.country WHEN 'NL' THEN 'Europe/Amsterdam'
                         WHEN 'DE' THEN 'Europe/Berlin' WHEN 'DK' THEN 'Europe/Copenhagen' ELSE 'Europe/London' END,
                         e.ts::TIMESTAMPTZ) AS local
                      FROM events e JOIN customers c USING (customer_id)
                      WHERE e.event = 'email_sent' AND e.touchpoint = 'loyalty')
           SELECT count(*), count(*) FILTER (WHERE strftime(local, '%H:%M') <> '09:00'
               OR (strftime(local, '%m-%d') <> strftime(birthday, '%m-%d')
                   AND NOT (strftime(birthday, '%m-%d') = '02-29' AND strftime(local, '%m-%d') = '03-01')))
           FROM b"""
    ).fetchone()
    assert bad is not None and bad[0] > 300 and bad[1] == 0


def test_flow_files_load_and_match_the_simulation(demo: tuple[Path, dict], tmp_path: Path) -> None:
    init_project(tmp_path)
    files = sorted((demo[0].parent / "data" / "customers").glob("*.parquet"))
    write_flow_files(tmp_path, files, SEED)
    write_flow_files(tmp_path, files, SEED)  # idempotent: one [automate] section
    config = Config.load(tmp_path / "cxlab.toml")
    assert (tmp_path / "cxlab.toml").read_text(encoding="utf-8").count("[automate]") == 1
    flows = {f.name: f for f in load_flows(config, tmp_path)}
    truth = demo[1]["flows"]
    assert set(flows) == set(FLOWS) == set(truth)
    assert [f.name for f in sorted(flows.values(), key=lambda f: -f.priority)] == list(FLOWS)
    for name, f in flows.items():
        assert (f.channel, f.holdout, f.metric, f.window) == (
            "email",
            truth[name]["holdout"],
            truth[name]["metric"],
            truth[name]["window"],
        )
        assert f.message_touchpoint == FLOWS[name] and set(f.languages) == {"nl", "da", "en", "de"}
    assert flows["abandoned_cart"].trigger.kind == "event" and flows["birthday"].trigger.kind == "date"
    auto = automate_settings(config)
    assert auto.contacts == "contacts.csv" and auto.delivery["email"].adapter == "file"
    with (tmp_path / "contacts.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["email"] == "" or r["email"].endswith("@example.invalid") for r in rows)
    con = duckdb.connect()
    consent = dict(
        con.execute(
            f"SELECT customer_id, consent_email FROM read_parquet({[str(f) for f in files]})"
        ).fetchall()
    )
    assert all((r["email"] != "") == consent[r["customer_id"]] for r in rows)
    # the addresses are the ones whose hashes the customers table stores (unkeyed demo: plain SHA-256)
    some = rows[0]
    stored = con.execute(
        f"SELECT email_hash FROM read_parquet({[str(f) for f in files]}) WHERE customer_id = ?",
        [some["customer_id"]],
    ).fetchone()
    assert some["email"] and stored is not None
    assert stored[0] == hashlib.sha256(some["email"].encode()).hexdigest()
    assert tomllib.loads((tmp_path / "flows" / "demo.toml").read_text(encoding="utf-8"))
    book = ContactBook.for_settings(auto.contacts, tmp_path)
    assert len(book) == len(rows)
    got = book.get(some["customer_id"])
    assert got is not None and got.email == some["email"] and got.first_name


@pytest.mark.parametrize("flow", list(FLOWS))
def test_the_planted_effect_is_recovered(demo: tuple[Path, dict], backend: BaseBackend, flow: str) -> None:
    truth = demo[1]["flows"][flow]
    assert truth["true_lift"] > 0.2 and 0 < truth["baseline_rate"] < 0.5
    metric = truth["metric"]
    metrics = default_metrics()
    metrics[metric] = metrics[metric].model_copy(update={"window": truth["window"]})
    res = analyze_experiment(
        backend,
        f"flow:{flow}",
        metrics,
        names=[metric],
        goals=[metric],
        control="holdout",
        weights=[P.FLOW_HOLDOUT, 1 - P.FLOW_HOLDOUT],
    )
    row, control = res.row(metric, "send"), res.row(metric, "holdout")
    # the engine counts exactly what the simulation recorded as observed, arm by arm ...
    for arm, r in (("holdout", control), ("send", row)):
        assert r["n"] == truth["observed"][arm]["n"]
        assert r["mean"] == pytest.approx(truth["observed"][arm]["converted"] / truth["observed"][arm]["n"])
    # ... and its 95% interval of the relative lift holds the planted one (wide on a demo this small)
    assert row["ci_relative_low"] <= truth["true_lift"] <= row["ci_relative_high"]
    assert row["ci_relative_high"] - row["ci_relative_low"] < 8
