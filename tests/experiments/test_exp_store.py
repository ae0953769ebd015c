"""From the store: metric definitions, the one-query sufficient statistics (checked by hand on a tiny shop),
and recovery of the demo's planted e-mail lift (checked against ``truth.json``)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cxlab.config import Config, ConfigError, default_toml
from cxlab.demo import generate
from cxlab.experiments.definitions import (
    DEFAULT_METRICS_TOML,
    default_metrics,
    metrics_from_config,
    parse_metrics,
)
from cxlab.experiments.experiment import analyze_experiment, list_experiments
from cxlab.experiments.metrics import experiment_stats
from cxlab.experiments.report import changes_section, experiments_section
from cxlab.store import Store, init_project
from tests.plainwords.words import problems

METRICS = """
[metrics.click_rate]
type = "proportion"
source = "events"
event = "email_click"
touchpoint = "shipping_confirmation_email"
window = "same_day"
match_property = "order_id"

[metrics.clicks_same_day]
type = "mean"
source = "events"
event = "email_click"
touchpoint = "shipping_confirmation_email"
window = "same_day"

[metrics.orders]
type = "mean"
source = "orders"
value = "count"
window = "30d"
cuped = true
pre_window = "30d"

[metrics.revenue]
type = "mean"
source = "orders"
value = "revenue"
window = "30d"

[metrics.aov]
type = "ratio"
numerator = "revenue"
denominator = "orders"

[metrics.site_visits]
type = "mean"
source = "events"
event = "page_view"
window = "all"
cuped = true
pre_window = "2d"
"""


def _events(rows: list[tuple[str, str, str | None, str | None, str, str | None, str | None]]) -> pa.Table:
    ids, ts, cust, anon, ev, tp, props = zip(*rows, strict=True)
    return pa.table(
        {
            "event_id": ids,
            "ts": ts,
            "customer_id": cust,
            "anonymous_id": anon,
            "event": ev,
            "touchpoint": tp,
            "properties": props,
        }
    )


def _order(o: str) -> str:
    return '{"order_id":"' + o + '"}'


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Store]:
    """Two arms, four customers; every event placed to test one rule of the metric definitions."""
    s = Store(tmp_path / "cxlab.duckdb")
    s.ingest(
        "exposures",
        pa.table(
            {
                "experiment_id": ["exp"] * 4,
                "variant": ["treatment", "control", "control", "treatment"],
                "customer_id": ["c1", "c2", "c3", "c4"],
                "ts": ["2024-05-01 10:00", "2024-05-01 23:00", "2024-05-02 08:00", "2024-05-03 09:00"],
            }
        ),
    )
    sce = "shipping_confirmation_email"
    s.ingest(
        "events",
        _events(
            [
                # c1 (treatment): exposure e-mail for O1; clicks it the same day; a second e-mail (O9) the same day
                # is clicked too: counts for clicks_same_day, not for click_rate (other order)
                ("e1", "2024-05-01 10:00", "c1", "a1", "email_sent", sce, _order("O1")),
                ("e2", "2024-05-01 11:00", "c1", "a1", "email_click", sce, _order("O1")),
                ("e3", "2024-05-01 15:00", "c1", "a1", "email_sent", sce, _order("O9")),
                ("e4", "2024-05-01 16:00", "c1", "a1", "email_click", sce, _order("O9")),
                # c2 (control): exposed 23:00, clicks after midnight: not the same day
                ("e5", "2024-05-01 23:00", "c2", None, "email_sent", sce, _order("O2")),
                ("e6", "2024-05-02 00:30", "c2", None, "email_click", sce, _order("O2")),
                # c3 (control): clicked an earlier e-mail before exposure (not after), then clicks the exposure's
                ("e7", "2024-05-02 07:00", "c3", None, "email_click", sce, _order("O0")),
                ("e8", "2024-05-02 08:00", "c3", None, "email_sent", sce, _order("O3")),
                ("e9", "2024-05-02 20:00", "c3", None, "email_click", sce, _order("O3")),
                # c4 (treatment): page views as an anonymous visitor a day before exposure (pre-period via the
                # identity link a4 -> c4), one more 5 days before (outside the 2-day pre-window), two after
                ("p1", "2024-05-02 09:00", None, "a4", "page_view", "site", None),
                ("p2", "2024-04-28 09:00", None, "a4", "page_view", "site", None),
                ("p3", "2024-05-03 09:00", "c4", "a4", "page_view", "site", None),
                ("p4", "2024-05-20 09:00", "c4", "a4", "page_view", "site", None),
                # c4 (treatment): doesn't click its exposure e-mail (O4), only a later one (O8) the same day
                ("e10", "2024-05-03 09:00", "c4", "a4", "email_sent", sce, _order("O4")),
                ("e11", "2024-05-03 12:00", "c4", "a4", "email_sent", sce, _order("O8")),
                ("e12", "2024-05-03 13:00", "c4", "a4", "email_click", sce, _order("O8")),
            ]
        ),
    )
    s.ingest(
        "orders",
        pa.table(
            {
                "order_id": ["O0", "O1", "O2", "O3", "O4", "O5", "O6", "O7"],
                "customer_id": ["c3", "c1", "c2", "c3", "c4", "c1", "c1", "c4"],
                "ts": [
                    "2024-04-20 10:00",
                    "2024-04-30 10:00",
                    "2024-05-01 20:00",
                    "2024-05-01 12:00",
                    "2024-05-02 09:00",
                    "2024-05-10 10:00",
                    "2024-06-15 10:00",
                    "2024-05-04 10:00",
                ],
                "revenue": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0],
                "currency": ["EUR"] * 8,
            }
        ),
    )
    yield s
    s.close()


def test_sufficient_statistics_by_hand(shop: Store) -> None:
    metrics = parse_metrics(tomllib.loads(METRICS)["metrics"])
    data = experiment_stats(shop.ibis(), "exp", metrics)
    s = data.stats
    assert s.arms == ("control", "treatment") and data.control_note.startswith(
        "control: control (by its name)"
    )
    assert data.units.tolist() == [2, 2]
    row = {m: i for i, m in enumerate(s.metrics)}
    # click_rate: c1 yes (its own e-mail), c2 no (after midnight), c3 yes, c4 no (another e-mail's click)
    assert s.sum[row["click_rate"]].tolist() == [1, 1]
    # clicks_same_day, any e-mail: c1 twice, c3 once (its earlier click is before exposure), c4 once
    assert s.sum[row["clicks_same_day"]].tolist() == [1, 3]
    assert s.sum_squares[row["clicks_same_day"]].tolist() == [1, 4 + 1]
    # orders within 30 days after exposure: c1 O5 (O6 is 45 days later), c2 none, c3 none, c4 O7
    assert s.sum[row["orders"]].tolist() == [0, 2]
    # CUPED covariate: orders in the 30 days before: c1 O1, c2 O2, c3 O0 and O3, c4 O4
    assert s.covariate_sum[row["orders"]].tolist() == [3, 2]
    assert s.covariate_sum_squares[row["orders"]].tolist() == [1 + 4, 1 + 1]
    assert s.covariate_cross_sum[row["orders"]].tolist() == [0, 1 * 1 + 1 * 1]
    # aov: revenue / orders of the same units
    i = row["aov"]
    assert s.sum[i].tolist() == [0, 60 + 80] and s.denominator_sum[i].tolist() == [0, 2]
    assert s.cross_sum[i].tolist() == [0, 60 + 80] and s.sum_squares[i].tolist() == [0, 60**2 + 80**2]
    # site visits: all after exposure (p3 at the exposure instant, p4); pre-window 2 days: p1 only
    assert s.sum[row["site_visits"]].tolist() == [0, 2]
    assert s.covariate_sum[row["site_visits"]].tolist() == [0, 1]
    assert np.isnan(s.covariate_sum[row["revenue"]]).all()  # no cuped asked for


def test_experiment_choices_and_errors(shop: Store) -> None:
    metrics = parse_metrics(tomllib.loads(METRICS)["metrics"])
    con = shop.ibis()
    assert experiment_stats(con, "exp", metrics, ["orders"], control="treatment").stats.arms == (
        "treatment",
        "control",
    )
    with pytest.raises(ValueError, match="not an arm"):
        experiment_stats(con, "exp", metrics, control="nope")
    with pytest.raises(KeyError, match="no exposures"):
        experiment_stats(con, "other", metrics)
    with pytest.raises(KeyError, match="unknown metric"):
        experiment_stats(con, "exp", metrics, ["nope"])
    listed = list_experiments(con)
    assert listed[["variant", "units"]].values.tolist() == [["control", 2], ["treatment", 2]]


def test_metric_definitions_from_config_and_their_errors() -> None:
    default = Config.default()
    assert set(metrics_from_config(default)) == set(default_metrics())  # no [metrics]: the defaults
    without_metrics = default_toml().split("# Experiment metrics")[0]  # the shipped file has the defaults
    cfg = Config.parse_toml(without_metrics + "\n" + METRICS)
    assert list(metrics_from_config(cfg)) == [
        "click_rate",
        "clicks_same_day",
        "orders",
        "revenue",
        "aov",
        "site_visits",
    ]
    assert set(parse_metrics(tomllib.loads(DEFAULT_METRICS_TOML)["metrics"])) >= {
        "conversion",
        "revenue_per_user",
        "orders_per_user",
        "revenue_per_order",
        "review_rate",
        "email_click_rate",
        "clicks_per_open",
    }
    bad = {
        'type = "ratio"\nnumerator = "x"\ndenominator = "y"': "metrics.m: unknown metric 'x' in the ratio",
        'type = "mean"\nsource = "events"\nwindow = "3 weeks"': "metrics.m.window: window '3 weeks'",
        'type = "mean"': "metrics.m: source is required",
        'type = "proportion"\nsource = "orders"\nvalue = "revenue"': "metrics.m: a proportion counts",
        'type = "mean"\nsource = "orders"\ncolour = "red"': "metrics.m.colour: Extra inputs",
    }
    for body, message in bad.items():
        with pytest.raises(ConfigError) as e:
            parse_metrics(tomllib.loads("[m]\n" + body), source="shop/cxlab.toml")
        assert str(e.value).startswith("shop/cxlab.toml: " + message), str(e.value)


# --- the demo shop -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    out = tmp_path_factory.mktemp("demo")
    result = generate(out, customers=20_000, seed=7)
    db = init_project(out)
    with Store(db) as s:
        for table, files in result.files.items():
            for f in files:
                s.ingest(table, f)
    store = Store(db, read_only=True)
    yield store, result.truth
    store.close()


@pytest.mark.parametrize("engine", ["frequentist", "bayesian", "sequential"])
def test_demo_email_lift_recovered_within_its_interval(demo: tuple[Store, dict], engine: str) -> None:
    store, truth = demo
    t = truth["email_test"]
    result = analyze_experiment(
        store.ibis(),
        t["experiment_id"],
        metrics_from_config(store.config),
        engine=engine,  # type: ignore[arg-type]
    )
    assert result.control == t["control"] and not result.srm.mismatch
    rows = result.to_frame().set_index(["metric", "arm"])
    for arm in (t["control"], t["treatment"]):  # the store metric is exactly the simulated outcome
        observed = t["observed"][arm]
        assert rows.loc[("email_click_rate", arm), "n"] == observed["exposed"]
        assert rows.loc[("email_click_rate", arm), "mean"] == pytest.approx(
            observed["clicked"] / observed["exposed"]
        )
    r = rows.loc[("email_click_rate", t["treatment"])]
    assert r["ci_relative_low"] < t["true_lift"] < r["ci_relative_high"]
    assert r["ci_relative_low"] > 0  # and the planted lift is big enough to be found
    assert r["role"] == "goal"  # the change log ties the experiment to the e-mail's touchpoint
    assert rows.loc[("support_contact_rate", t["treatment"]), "role"] == "guardrail"


def test_demo_report_sections_experiments_and_change_log(demo: tuple[Store, dict]) -> None:
    t = demo[1]["email_test"]
    exp = experiments_section(demo[0])
    assert exp.id == "experiments" and exp.table is not None and len(exp.figures) == 1
    assert "SRM check passed" in exp.details and "MISMATCH" not in exp.details
    # the planted winner is named with its change, in words
    assert f"Decision: {t['treatment'].capitalize()} wins: +" in exp.summary
    assert (
        set(exp.table["variant"]) == {t["treatment"]} and "test" not in exp.table
    )  # one test: no test column
    assert problems(exp) == []
    sec = changes_section(demo[0])
    assert sec.id == "changes" and sec.table is not None
    assert "not proof" in sec.summary and "not causal" in sec.details
    how = {
        "CH001": "measured by an A/B test",
        "CH002": "not measured",
        "CH003": "compared before and after",
        "CH004": "compared before and after",
    }
    for change, words in how.items():  # each change once in the summary, with how it was measured
        assert sec.summary.count(f"{change} on ") == 1 and re.search(
            f"{change} on [^—]+— {words}", sec.summary
        )
    assert problems(sec) == []
    checkout = sec.table[(sec.table["change"] == "CH003") & (sec.table["measure"] == "purchase per checkout")]
    assert checkout["verdict"].iloc[0] == "better after"  # the planted redesign: fewer abandoned checkouts
    assert len(sec.figures) == 1
