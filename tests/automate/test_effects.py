"""Flow effects: counts from the outbox, and the lift over the holdout recovered from a store with a planted
effect, checked against a plain two-proportion computation (statsmodels, scipy) on the same counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from cxlab.automate.effects import MIN_PER_ARM, SENT, flow_effects
from cxlab.automate.flows import HOLDOUT, load_flows
from cxlab.automate.tables import OUTBOX
from cxlab.config import default_toml
from cxlab.store import Store
from tests.plainwords.words import problems

T0 = dt.datetime(2026, 3, 1, 9, 0)
FLOWS_TOML = """
[flows.abandoned_cart]
channel = "email"
trigger = { event = "add_to_cart", delay = "4h", cancel = ["purchase"] }
holdout = 0.2
metric = "conversion"
window = "7d"
[flows.abandoned_cart.messages.en]
subject = "Your cart"
body = "Hi {{ first_name or 'there' }}, your cart is waiting."

[flows.review_request]
channel = "sms"
trigger = { event = "delivered", delay = "7d" }
holdout = 0.1
metric = "conversion"
[flows.review_request.messages.en]
body = "How was it?"

[flows.win_back]
channel = "email"
trigger = { score = "churn_risk", above = 0.7 }
holdout = 0.2
metric = "conversion"
window = "14d"
[flows.win_back.variants.calm]
weight = 1
[flows.win_back.variants.calm.messages.en]
body = "We miss you."
[flows.win_back.variants.offer]
weight = 1
[flows.win_back.variants.offer.messages.en]
body = "10% off for you."
"""


def project(tmp_path: Path, flows: str = FLOWS_TOML) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cxlab.toml").write_text(default_toml() + flows, encoding="utf-8")
    db = tmp_path / "cxlab.duckdb"
    Store(db).close()
    return db


def plant(
    con: object, flow: str, arms: dict[str, tuple[int, float]], seed: int, window_days: float
) -> pd.DataFrame:
    """Exposures of ``flow`` per arm (n, conversion rate within the window), an order for each converter
    inside the window and, for everyone with probability 0.3, a distractor order after it."""
    rng = np.random.default_rng(seed)
    rows = []
    for arm, (n, p) in arms.items():
        for i in range(n):
            cid = f"{flow}-{arm}-{i}"
            ts = T0 + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 20)))
            conv = bool(rng.random() < p)
            late = bool(rng.random() < 0.3)
            rows.append((cid, arm, ts, conv, float(rng.gamma(2, 30)), late))
    df = pd.DataFrame(rows, columns=["customer_id", "variant", "ts", "converted", "revenue", "late"])
    x = df.assign(experiment_id=f"flow:{flow}")[["experiment_id", "variant", "customer_id", "ts"]]
    conv = df[df["converted"]]
    hours = rng.uniform(0.5, 24 * window_days - 1, len(conv))
    orders = pd.DataFrame(
        {
            "order_id": [f"o-{c}" for c in conv["customer_id"]],
            "customer_id": conv["customer_id"].to_numpy(),
            "ts": conv["ts"].to_numpy() + pd.to_timedelta(hours, unit="h"),
            "revenue": conv["revenue"].to_numpy(),
            "currency": "EUR",
        }
    )
    late = df[df["late"]]
    later = pd.DataFrame(
        {
            "order_id": [f"late-{c}" for c in late["customer_id"]],
            "customer_id": late["customer_id"].to_numpy(),
            "ts": late["ts"].to_numpy() + pd.Timedelta(days=window_days + 2),
            "revenue": 500.0,
            "currency": "EUR",
        }
    )
    con.register("_x", x)  # type: ignore[attr-defined]
    con.register("_o", pd.concat([orders, later], ignore_index=True))  # type: ignore[attr-defined]
    con.execute("INSERT INTO exposures BY NAME SELECT * FROM _x")  # type: ignore[attr-defined]
    con.execute("INSERT INTO orders BY NAME SELECT * FROM _o")  # type: ignore[attr-defined]
    con.unregister("_x")  # type: ignore[attr-defined]
    con.unregister("_o")  # type: ignore[attr-defined]
    return df


def outbox_row(
    flow: str,
    cid: str,
    status: str,
    *,
    reason: str | None = None,
    sent_at: dt.datetime | None = None,
    channel: str = "email",
) -> tuple[object, ...]:
    return (
        flow,
        cid,
        f"k-{cid}",
        T0,
        channel,
        "send",
        "en",
        T0,
        T0,
        status,
        reason,
        1,
        None,
        None,
        sent_at,
        None,
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    db = project(tmp_path_factory.mktemp("effects"))
    with Store(db) as store:
        cart = plant(store.con, "abandoned_cart", {HOLDOUT: (1500, 0.10), "send": (6000, 0.13)}, 1, 7)
        win = plant(
            store.con, "win_back", {HOLDOUT: (1200, 0.05), "calm": (2400, 0.05), "offer": (2400, 0.08)}, 2, 14
        )
        plant(store.con, "review_request", {HOLDOUT: (3, 0.1), "send": (30, 0.1)}, 3, 30)
        sent_at = T0 + dt.timedelta(hours=5)
        rows = [outbox_row("abandoned_cart", f"c{i}", "sent", sent_at=sent_at) for i in range(40)]
        rows += [outbox_row("abandoned_cart", f"h{i}", "held_out") for i in range(7)]
        rows += [outbox_row("abandoned_cart", f"n{i}", "suppressed", reason="no_consent") for i in range(5)]
        rows += [outbox_row("abandoned_cart", f"p{i}", "suppressed", reason="capped") for i in range(3)]
        rows += [
            outbox_row("abandoned_cart", "g0", "gave_up"),
            outbox_row("abandoned_cart", "d0", "in_doubt"),
        ]
        cols = (
            "flow, customer_id, trigger_key, trigger_ts, channel, variant, language, due, decided, status, "
        )
        cols += "reason, tries, next_try, last_error, sent_at, provider_id"
        store.con.executemany(f"INSERT INTO {OUTBOX} ({cols}) VALUES ({', '.join('?' * 16)})", rows)
        # unsubscribes: c0, c1 within 7 days of their send (c1 twice); c2 after the window; c3 the other
        # channel; c4 a grant, not a withdrawal; h0 never sent a message
        ledger = [
            ("c0", "email", False, sent_at + dt.timedelta(days=1)),
            ("c1", "email", False, sent_at + dt.timedelta(hours=3)),
            ("c1", "email", False, sent_at + dt.timedelta(days=2)),
            ("c2", "email", False, sent_at + dt.timedelta(days=8)),
            ("c3", "sms", False, sent_at + dt.timedelta(days=1)),
            ("c4", "email", True, sent_at + dt.timedelta(days=1)),
            ("h0", "email", False, sent_at + dt.timedelta(days=1)),
        ]
        # win_back has no outbox rows (a simulated history): its messages are its email_sent events
        store.con.executemany(
            "INSERT INTO events (event_id, ts, customer_id, event, touchpoint) VALUES (?, ?, ?, ?, ?)",
            [
                ("w1", sent_at, "w1", "email_sent", "win_back_email"),
                ("w2", sent_at, "w2", "email_sent", "win_back_email"),
                ("w3", sent_at, "w2", "email_sent", "win_back_email"),
                ("w4", sent_at, "w4", "email_sent", "newsletter"),
                ("w5", sent_at, "w5", "email_open", "win_back_email"),
            ],
        )
        ledger += [
            ("w1", "email", False, sent_at + dt.timedelta(days=3)),
            ("w4", "email", False, sent_at + dt.timedelta(days=1)),
        ]
        store.con.executemany(
            "INSERT INTO consent (customer_id, channel, granted, ts) VALUES (?, ?, ?, ?)", ledger
        )
    return db, cart, win


def test_planted_lift_recovered_and_matches_two_proportion_reference(
    planted: tuple[Path, pd.DataFrame, pd.DataFrame],
) -> None:
    db, cart, _ = planted
    with Store(db, read_only=True) as store:
        res = flow_effects(store, cuped=False)
    eff = {f.flow: f for f in res.flows}["abandoned_cart"]
    hold, send = cart[cart["variant"] == HOLDOUT], cart[cart["variant"] == "send"]
    c0, n0, c1, n1 = int(hold["converted"].sum()), len(hold), int(send["converted"].sum()), len(send)
    p0, p1 = c0 / n0, c1 / n1
    assert eff.n == {HOLDOUT: n0, "send": n1}
    assert eff.lift_relative == pytest.approx(p1 / p0 - 1, rel=1e-9)
    # the delta method on the same counts (Welch with this many units is the normal to 4 decimals)
    se = np.sqrt(p1 * (1 - p1) / (n1 - 0) / p0**2 + p1**2 * p0 * (1 - p0) / n0 / p0**4)
    z = stats.norm.ppf(0.975)
    lo, hi = eff.ci_relative
    assert lo is not None and hi is not None
    assert lo == pytest.approx(p1 / p0 - 1 - z * se, abs=3e-3)
    assert hi == pytest.approx(p1 / p0 - 1 + z * se, abs=3e-3)
    # and statsmodels' risk-ratio interval (log method): the same to within the methods' difference
    r_lo, r_hi = confint_proportions_2indep(c1, n1, c0, n0, compare="ratio", method="log")
    assert lo == pytest.approx(r_lo - 1, abs=0.03) and hi == pytest.approx(r_hi - 1, abs=0.03)
    assert lo <= 0.3 <= hi  # the planted lift: 0.13 / 0.10 - 1
    # revenue per recipient: orders within the 7-day window (the late distractors are left out)
    assert eff.revenue_per_recipient[SENT] == pytest.approx(send.loc[send["converted"], "revenue"].sum() / n1)
    assert eff.revenue_per_recipient[HOLDOUT] == pytest.approx(
        hold.loc[hold["converted"], "revenue"].sum() / n0
    )


def test_outbox_counts_and_unsubscribes(planted: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    db, _, _ = planted
    with Store(db, read_only=True) as store:
        eff = {f.flow: f for f in flow_effects(store).flows}["abandoned_cart"]
    assert (eff.triggered, eff.sent, eff.held_out, eff.gave_up, eff.in_doubt) == (57, 40, 7, 1, 1)
    assert eff.suppressed == {"capped": 3, "no_consent": 5}
    assert eff.unsubscribes == 2  # c0 and c1 (once), not c2 (late), c3 (sms), c4 (grant), h0 (never sent)
    assert eff.unsubscribe_rate == pytest.approx(2 / 40)


def test_variants_pooled_and_each_against_holdout(planted: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    db, _, win = planted
    with Store(db, read_only=True) as store:
        eff = {f.flow: f for f in flow_effects(store, cuped=False).flows}["win_back"]
    rate = win.groupby("variant")["converted"].agg(["sum", "count"])
    p0 = rate.loc[HOLDOUT, "sum"] / rate.loc[HOLDOUT, "count"]
    sent = rate.drop(HOLDOUT)
    assert eff.lift_relative == pytest.approx(sent["sum"].sum() / sent["count"].sum() / p0 - 1, rel=1e-9)
    by = {v["variant"]: v for v in eff.variants}
    assert set(by) == {"calm", "offer"}
    for name in ("calm", "offer"):
        p = rate.loc[name, "sum"] / rate.loc[name, "count"]
        assert by[name]["lift_relative"] == pytest.approx(p / p0 - 1, rel=1e-9)
        assert by[name]["n"] == rate.loc[name, "count"]
    assert eff.srm_p_value is not None and eff.srm_p_value > 0.001  # planned split 20/40/40 was followed
    assert (eff.sent_by_origin, eff.sent, eff.unsubscribes, eff.triggered) == ({"events": 3}, 3, 1, 0)


def test_too_few_exposures_say_so(planted: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    db, _, _ = planted
    with Store(db, read_only=True) as store:
        res = flow_effects(store)
    eff = {f.flow: f for f in res.flows}["review_request"]
    assert eff.lift_relative is None and eff.ci_relative == (None, None)
    assert eff.note is not None and "too few exposures" in eff.note and str(MIN_PER_ARM) in eff.note
    assert "too few exposures" in res.summary()
    d = res.to_dict()
    assert [f["flow"] for f in d["flows"]] == ["abandoned_cart", "review_request", "win_back"]
    assert d["flows"][1]["lift_relative"] is None and d["flows"][1]["holdout"] == 3


def test_summary_reads_as_words(planted: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    db, _, _ = planted
    with Store(db, read_only=True) as store:
        res = flow_effects(store, alpha=0.1)
    text = res.summary()
    assert "The abandoned-cart e-mail raised 7d conversion by" in text
    assert "90% CI" in text and "n = 7,500" in text
    frame = res.to_frame()
    assert list(frame["flow"]) == ["abandoned_cart", "review_request", "win_back"]
    assert frame.loc[0, "ci_low"] < frame.loc[0, "lift_relative"] < frame.loc[0, "ci_high"]
    fig = res.figure()
    assert len(fig.data[0].x) == 2  # review_request has no estimate


def test_unknown_metric_names_the_flow(tmp_path: Path) -> None:
    db = project(tmp_path, FLOWS_TOML.replace('metric = "conversion"\nwindow = "7d"', 'metric = "nope"', 1))
    with Store(db, read_only=True) as store:
        flows = load_flows(store.config, store.path.parent)
        with pytest.raises(KeyError, match=r"flows\.abandoned_cart\.metric: unknown metric 'nope'"):
            flow_effects(store, flows)


def test_report_section(planted: tuple[Path, pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    from cxlab.automate.report import SECTIONS, flows_section
    from cxlab.errors import MissingData

    assert (flows_section,) == SECTIONS
    db, _, _ = planted
    with Store(db, read_only=True) as store:
        sec = flows_section(store)
    assert sec.id == "flows" and "abandoned-cart e-mail raised 7-day conversion by" in sec.summary
    assert sec.table is not None and list(sec.table["flow"]) == [
        "abandoned_cart",
        "review_request",
        "win_back",
    ]
    assert sec.table.loc[1, "effect"].startswith("too few exposures")
    assert "review-request SMS: not measured yet (too few exposures" in sec.summary
    assert "95% interval" in sec.details and "p " in sec.details
    assert problems(sec) == []
    assert len(sec.figures) == 1 and len(sec.figures[0].data[0].x) == 2
    with (
        Store(project(tmp_path / "empty"), read_only=True) as store,
        pytest.raises(MissingData, match="no exposures"),
    ):
        flows_section(store)
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "cxlab.toml").write_text(default_toml(), encoding="utf-8")
    with Store(tmp_path / "none" / "cxlab.duckdb") as store, pytest.raises(MissingData, match=r"add \[flows"):
        flows_section(store)
