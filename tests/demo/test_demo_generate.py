"""The demo shop: files and schemas, determinism, integrity, and the planted effects seen in the raw data."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.special import betaln, gammaln, hyp2f1

from cxlab.config import Config
from cxlab.demo import DemoResult, generate
from cxlab.demo import texts as T
from cxlab.schema import TABLES
from cxlab.schema.checks import checked_select, table_checks

N = 10_000
SEED = 11
END = "2026-01-01 00:00:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate(tmp_path_factory.mktemp("demo"), customers=N, seed=SEED)


@pytest.fixture(scope="module")
def con(demo: DemoResult) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for name, files in demo.files.items():
        paths = ", ".join(f"'{p}'" for p in files)
        c.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{paths}])")
    return c


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    row = con.sql(sql).fetchone()
    assert row is not None
    return row


def digest(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- files, schemas, determinism -------------------------------------------------------------------


def test_files_counts_and_truth_file(demo: DemoResult) -> None:
    assert set(demo.files) == set(TABLES)
    for name, files in demo.files.items():
        assert files and all(p.exists() and p.parent == demo.out_dir / "data" / name for p in files)
        assert sum(pq.ParquetFile(p).metadata.num_rows for p in files) == demo.counts[name]
    assert demo.truth_path == demo.out_dir / "truth.json"
    assert json.loads(demo.truth_path.read_text(encoding="utf-8")) == demo.truth
    for name in ("events", "customers", "orders", "feedback", "exposures"):
        assert demo.counts[name] > 0, name
    assert demo.counts["changes"] == 4
    assert 50 <= demo.counts["events"] / N <= 120


def test_schemas_are_exactly_the_canonical_ones(demo: DemoResult) -> None:
    for name, files in demo.files.items():
        for p in files:
            schema = pq.read_schema(p)
            assert schema.equals(TABLES[name].arrow_schema, check_metadata=True), (name, schema)


def test_rows_pass_the_canonical_row_checks(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    """Enums (channels from the config), patterns (hashes, country, language), JSON, ranges, rules."""
    enums = {"channels": Config.default().enum_values("channels")}
    for name, spec in TABLES.items():
        source = f"(SELECT * FROM {name})"
        types = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {name}").fetchall()}
        sql = checked_select(spec, source, types, table_checks(spec, types, enums))
        assert one(con, f"SELECT count(*) FROM ({sql}) WHERE _err <> 0")[0] == 0, name


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", customers=1500, seed=5)
    b = generate(tmp_path / "b", customers=1500, seed=5)
    c = generate(tmp_path / "c", customers=1500, seed=6)
    da, db, dc = digest(a.out_dir), digest(b.out_dir), digest(c.out_dir)
    assert da == db
    assert set(da) == set(dc)
    assert all(da[k] != dc[k] for k in da if "changes" not in k and "consent" not in k)


def test_batches_do_not_depend_on_the_total(demo: DemoResult, tmp_path: Path) -> None:
    """The first 5,000 customers (one batch) come out the same whether 5,000 or 10,000 are simulated."""
    small = generate(tmp_path / "small", customers=5_000, seed=SEED)
    for name in ("events", "orders", "feedback", "customers"):
        part = pq.read_table(small.files[name][0])
        full = pq.read_table(demo.files[name][0])
        key = "anonymous_id" if name == "events" else "customer_id"
        full = full.filter(
            np.array([v < ("A" if name == "events" else "C") + "00005000" for v in full[key].to_pylist()])
        )
        assert part.equals(full), name


def test_tiny_and_invalid_sizes(tmp_path: Path) -> None:
    res = generate(tmp_path / "one", customers=1, seed=1)
    assert res.counts["changes"] == 4
    assert all(pq.read_schema(p).equals(TABLES[n].arrow_schema) for n, fs in res.files.items() for p in fs)
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path / "none", customers=0)


# --- integrity -------------------------------------------------------------------------------------


def test_keys_are_unique(con: duckdb.DuckDBPyConnection) -> None:
    for table, key in (
        ("events", "event_id"),
        ("orders", "order_id"),
        ("customers", "customer_id"),
        ("feedback", "feedback_id"),
        ("changes", "change_id"),
        ("exposures", "experiment_id || '/' || customer_id"),
    ):
        n, distinct = one(con, f"SELECT count(*), count(DISTINCT {key}) FROM {table}")
        assert n == distinct > 0, table


def test_references_resolve(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("orders", "feedback", "exposures", "events"):
        orphans = one(
            con,
            f"SELECT count(*) FROM {table} t WHERE t.customer_id IS NOT NULL "
            "AND t.customer_id NOT IN (SELECT customer_id FROM customers)",
        )[0]
        assert orphans == 0, table
    assert (
        one(con, "SELECT count(*) FROM feedback WHERE order_id NOT IN (SELECT order_id FROM orders)")[0] == 0
    )
    assert one(con, "SELECT count(*) FROM orders WHERE customer_id IS NULL")[0] == 0


def test_money_adds_up(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT min(revenue), min(discount), min(refunded) FROM orders") >= (0, 0, 0)
    assert one(con, "SELECT count(*) FROM orders WHERE refunded > revenue + 1e-9")[0] == 0
    assert one(con, "SELECT count(*) FROM events WHERE revenue < 0")[0] == 0
    # revenue on the purchase event = order revenue; items + shipping - discount = revenue
    bad = one(
        con,
        """
        WITH p AS (SELECT json_extract_string(properties, '$.order_id') AS order_id, revenue,
                          CAST(json_extract(properties, '$.shipping') AS DOUBLE) AS shipping
                   FROM events WHERE event = 'purchase')
        SELECT count(*) FILTER (WHERE abs(p.revenue - o.revenue) > 1e-9),
               count(*) FILTER (WHERE abs(list_sum(list_transform(o.items, x -> x.price * x.quantity))
                                          + p.shipping - o.discount - o.revenue) > 0.011),
               count(*), (SELECT count(*) FROM orders)
        FROM orders o JOIN p USING (order_id)""",
    )
    assert bad[0] == 0 and bad[1] == 0 and bad[2] == bad[3]
    statuses = dict(con.sql("SELECT status, count(*) FROM orders GROUP BY 1").fetchall())
    assert set(statuses) <= {"paid", "refunded", "partially_refunded"}
    assert statuses["paid"] > 5 * (statuses["refunded"] + statuses["partially_refunded"]) > 0
    assert one(con, "SELECT count(*) FROM orders WHERE status = 'paid' AND refunded > 0")[0] == 0


def test_timestamps_inside_the_window(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    start, end = demo.truth["window"]["start"], demo.truth["window"]["end"]
    assert (start, end) == ("2024-01-01T00:00:00", "2025-12-31T23:59:59")
    for table in ("events", "orders", "feedback", "exposures", "changes"):
        lo, hi = one(con, f"SELECT min(ts), max(ts) FROM {table}")
        assert str(lo) >= "2024-01-01 00:00:00" and str(hi) <= "2025-12-31 23:59:59", table
    lo, hi = one(con, "SELECT min(first_seen), max(first_seen) FROM customers")
    assert str(lo) >= "2024-01-01" and str(hi) <= "2025-12-31 23:59:59"


def test_identity_anonymous_until_sign_up_or_purchase(con: duckdb.DuckDBPyConnection) -> None:
    assert one(
        con, "SELECT count(DISTINCT anonymous_id), count(*) FILTER (WHERE anonymous_id IS NULL) FROM events"
    ) == (N, 0)
    # once a person's events carry a customer_id, all their later events do; the first one is a purchase
    # or a sign-up
    rows = con.sql("""
        WITH e AS (SELECT anonymous_id, ts, event, customer_id,
                          min(CASE WHEN customer_id IS NOT NULL THEN ts END) OVER (PARTITION BY anonymous_id) AS ident
                   FROM events)
        SELECT count(*) FILTER (WHERE ts >= ident AND customer_id IS NULL),
               count(*) FILTER (WHERE ts < ident AND customer_id IS NOT NULL),
               count(DISTINCT anonymous_id) FILTER (WHERE ts = ident AND event NOT IN ('purchase', 'sign_up')),
               count(DISTINCT anonymous_id) FILTER (WHERE ident IS NULL)
        FROM e""").fetchone()
    assert rows is not None and rows[:3] == (0, 0, 0) and rows[3] > 0
    # customers = everyone identified; about 25-35% of prospects buy
    buyers = one(con, "SELECT count(DISTINCT customer_id) FROM orders")[0]
    assert 0.25 <= buyers / N <= 0.35
    assert buyers < one(con, "SELECT count(*) FROM customers")[0]


def test_customers_look_right(con: duckdb.DuckDBPyConnection) -> None:
    pairs = dict(con.sql("SELECT country || '/' || language, count(*) FROM customers GROUP BY 1").fetchall())
    assert set(pairs) <= {"NL/nl", "NL/en", "DE/de", "DE/en", "DK/da", "DK/en", "GB/en"}
    total = sum(pairs.values())
    assert pairs["NL/nl"] / total > 0.3 and pairs["DK/da"] / total > 0.1
    assert (pairs.get("NL/en", 0) + pairs.get("DE/en", 0) + pairs.get("DK/en", 0)) / total < 0.08
    share_bday, share_phone = one(
        con, "SELECT avg((birthday IS NOT NULL)::INT), avg((phone_hash IS NOT NULL)::INT) FROM customers"
    )
    assert 0.5 < share_bday < 0.8 and 0.5 < share_phone < 0.9


def test_sessions_are_coherent(con: duckdb.DuckDBPyConnection) -> None:
    row = one(
        con,
        """
        SELECT count(*), count(*) FILTER (WHERE n_channels > 1), max(span_s), count(*) FILTER (WHERE n_people > 1)
        FROM (SELECT session_id, count(DISTINCT channel) AS n_channels, count(DISTINCT anonymous_id) AS n_people,
                     date_diff('second', min(ts), max(ts)) AS span_s
              FROM events WHERE session_id IS NOT NULL GROUP BY 1)""",
    )
    assert row[0] > 3 * N and row[1] == 0 and row[2] < 6 * 3600 and row[3] == 0
    # paid sessions name a campaign, journeys go back and forth (views after cart, checkout twice)
    assert (
        one(
            con,
            "SELECT count(*) FROM events WHERE channel IN ('paid_search', 'social_ads', 'paid_shopping', "
            "'affiliate') AND session_id IS NOT NULL AND campaign IS NULL",
        )[0]
        == 0
    )
    twice = one(
        con,
        "SELECT count(*) FROM (SELECT session_id FROM events WHERE event = 'checkout' "
        "GROUP BY 1 HAVING count(*) > 1)",
    )[0]
    assert twice > 100
    events = {r[0] for r in con.sql("SELECT DISTINCT event FROM events").fetchall()}
    assert {
        "ad_click",
        "page_view",
        "view_item",
        "add_to_cart",
        "checkout",
        "purchase",
        "email_open",
        "email_click",
        "shipment_sent",
        "delivered",
        "unboxing",
        "support_contact",
        "return_requested",
        "review",
        "sms_sent",
        "survey_response",
    } <= events
    tps = {
        r[0]
        for r in con.sql("SELECT DISTINCT touchpoint FROM events WHERE touchpoint IS NOT NULL").fetchall()
    }
    assert tps <= set(Config.default().journey.touchpoints)


# --- planted effects -------------------------------------------------------------------------------


def test_weak_channel_converts_at_about_half_its_paid_peers(
    demo: DemoResult, con: duckdb.DuckDBPyConnection
) -> None:
    rates = dict(
        con.sql("""
        SELECT channel, avg(bought::INT) FROM (
            SELECT session_id, any_value(channel) AS channel, bool_or(event = 'purchase') AS bought
            FROM events WHERE session_id IS NOT NULL GROUP BY 1)
        GROUP BY 1""").fetchall()
    )
    peers = ["paid_search", "display", "paid_shopping", "affiliate"]
    weak = rates[demo.truth["weak_channel"]]
    assert demo.truth["weak_channel"] == "social_ads"
    assert all(weak < 0.7 * rates[p] for p in peers)
    effect = demo.truth["weak_channel_effect"]
    assert weak == pytest.approx(effect["conversion_rate"], abs=1e-5)
    assert 0.35 < effect["conversion_rate"] / effect["peer_conversion_rate"] < 0.6
    assert 0.4 < effect["visitor_conversion_rate"] / effect["peer_visitor_conversion_rate"] < 0.65
    # visitors by first-touch channel, from the raw events
    visitor = dict(
        con.sql("""
        WITH first AS (SELECT anonymous_id, arg_min(channel, ts) AS channel FROM events
                       WHERE session_id IS NOT NULL GROUP BY 1),
             buyers AS (SELECT DISTINCT anonymous_id FROM events WHERE event = 'purchase')
        SELECT channel, avg((b.anonymous_id IS NOT NULL)::INT) FROM first LEFT JOIN buyers b USING (anonymous_id)
        GROUP BY 1""").fetchall()
    )
    assert visitor["social_ads"] == pytest.approx(effect["visitor_conversion_rate"], abs=1e-5)


def test_delivery_is_the_weak_touchpoint(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    scores = dict(
        con.sql(
            "SELECT touchpoint = 'delivery', avg(score) FROM feedback WHERE source = 'review' GROUP BY 1"
        ).fetchall()
    )
    assert scores[True] < scores[False] - 0.7
    low = dict(
        con.sql("""SELECT touchpoint = 'delivery',
                                 avg(CASE WHEN source = 'review' THEN (score <= 2)::INT
                                          WHEN source = 'nps' THEN (score <= 6)::INT END)
                          FROM feedback WHERE source IN ('review', 'nps') GROUP BY 1""").fetchall()
    )
    assert low[True] > 2 * low[False]
    effect = demo.truth["weak_touchpoint_effect"]
    assert effect["negative_share"] > 2 * effect["peer_negative_share"]
    assert effect["review_mean_score"] == pytest.approx(scores[True], abs=1e-4)
    # fewer reviews after a late delivery: the drop to the next stage
    rate = dict(
        con.sql(f"""
        WITH d AS (SELECT json_extract_string(properties, '$.order_id') AS order_id,
                          CAST(json_extract(properties, '$.late') AS BOOLEAN) AS late, ts
                   FROM events WHERE event = 'delivered'
                     AND NOT CAST(json_extract(properties, '$.damaged') AS BOOLEAN)),
             r AS (SELECT DISTINCT json_extract_string(properties, '$.order_id') AS order_id FROM events
                   WHERE event = 'review')
        SELECT late, avg((r.order_id IS NOT NULL)::INT) FROM d LEFT JOIN r USING (order_id)
        WHERE d.ts < TIMESTAMP '{END}' - INTERVAL 30 DAY GROUP BY 1""").fetchall()
    )
    assert rate[True] < 0.6 * rate[False]
    assert rate[True] == pytest.approx(effect["review_rate_after_late"], abs=1e-5)
    # Denmark and Germany deliver late far more often than the Netherlands
    late = dict(
        con.sql("""SELECT o.country, avg(CAST(json_extract(e.properties, '$.late') AS BOOLEAN)::INT)
                           FROM events e JOIN orders o ON o.order_id = json_extract_string(e.properties, '$.order_id')
                           WHERE e.event = 'delivered' GROUP BY 1""").fetchall()
    )
    assert min(late["DK"], late["DE"]) > 2.5 * late["NL"]


def test_feedback_follows_the_experience(con: duckdb.DuckDBPyConnection) -> None:
    about = dict(
        con.sql("""
        WITH d AS (SELECT json_extract_string(properties, '$.order_id') AS order_id,
                          CASE WHEN CAST(json_extract(properties, '$.damaged') AS BOOLEAN) THEN 'damaged'
                               WHEN CAST(json_extract(properties, '$.late') AS BOOLEAN) THEN 'late'
                               ELSE 'fine' END AS story
                   FROM events WHERE event = 'delivered')
        SELECT story, list(touchpoint) FROM feedback JOIN d USING (order_id) WHERE source = 'review' GROUP BY 1
        """).fetchall()
    )
    share: dict[str, Counter[str]] = {k: Counter(v) for k, v in about.items()}
    assert share["late"]["delivery"] / sum(share["late"].values()) > 0.7
    assert share["damaged"]["unboxing"] / sum(share["damaged"].values()) > 0.7
    assert share["fine"]["delivery"] / sum(share["fine"].values()) < 0.1
    assert share["fine"]["product"] / sum(share["fine"].values()) > 0.5
    tickets = dict(
        con.sql("SELECT touchpoint, count(*) FROM feedback WHERE source = 'ticket' GROUP BY 1").fetchall()
    )
    assert tickets["delivery"] > tickets.get("product", 0)
    assert (
        one(
            con,
            "SELECT count(*) FROM feedback WHERE source = 'ticket' AND (text IS NULL OR score IS NOT NULL)",
        )[0]
        == 0
    )
    ranges = dict(con.sql("SELECT source, [min(score), max(score)] FROM feedback GROUP BY 1").fetchall())
    assert ranges["review"] == [1, 5] and ranges["nps"] == [0, 10] and ranges["csat"] == [1, 5]
    assert ranges["ces"][0] >= 1 and ranges["ces"][1] <= 7


def test_festive_email_gets_more_same_day_clicks(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    rows = dict(
        (r[0], r[1:])
        for r in con.sql("""
        WITH c AS (SELECT customer_id, ts FROM events
                   WHERE event = 'email_click' AND touchpoint = 'shipping_confirmation_email')
        SELECT x.variant, count(*), count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM c WHERE c.customer_id = x.customer_id AND c.ts >= x.ts
                     AND CAST(c.ts AS DATE) = CAST(x.ts AS DATE)))
        FROM exposures x WHERE experiment_id = 'shipping_email_festive' GROUP BY 1""").fetchall()
    )
    (n_b, k_b), (n_f, k_f) = rows["basic"], rows["festive"]
    n = n_b + n_f
    assert abs(n_b - n / 2) < 3 * np.sqrt(n / 4)  # no sample-ratio mismatch
    p_b, p_f = k_b / n_b, k_f / n_f
    assert 0.07 < p_b < 0.13 and p_f > p_b
    test = demo.truth["email_test"]
    assert (test["base_rate"], test["true_lift"]) == (0.10, 0.30)
    for variant, (nn, kk) in rows.items():
        obs = test["observed"][variant]
        assert obs["exposed"] == nn and abs(obs["clicked"] - kk) <= 0.02 * nn
    # the exposure is the first shipping e-mail on or after the start; earlier e-mails are all basic
    assert (
        str(one(con, "SELECT min(ts) FROM exposures WHERE experiment_id = 'shipping_email_festive'")[0])
        >= "2024-06-01"
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM events WHERE touchpoint = 'shipping_confirmation_email' "
            "AND ts < TIMESTAMP '2024-06-01' AND properties LIKE '%festive%'",
        )[0]
        == 0
    )
    change = con.sql(
        "SELECT touchpoint, ts FROM changes WHERE experiment_id = 'shipping_email_festive'"
    ).fetchall()
    assert [(t, str(ts)) for t, ts in change] == [("shipping_confirmation_email", "2024-06-01 00:00:00")]


def test_festive_lift_would_be_found_at_scale(demo: DemoResult) -> None:
    """Pooled over the truth's observed counts the lift is positive; the planted numbers are consistent."""
    obs = demo.truth["email_test"]["observed"]
    assert obs["festive"]["rate"] > obs["basic"]["rate"]
    assert demo.truth["email_test"]["treatment_rate"] == pytest.approx(0.13)


def test_co_purchase_pairs_far_above_chance(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    con.sql(
        "CREATE OR REPLACE TEMP TABLE lines AS SELECT DISTINCT order_id, unnest(items).product_id AS p FROM orders"
    )
    n_orders = one(con, "SELECT count(*) FROM orders")[0]
    freq = dict(con.sql("SELECT p, count(*) FROM lines GROUP BY 1").fetchall())
    pairs = demo.truth["co_purchase_pairs"]
    assert len(pairs) >= 3 and all(re.fullmatch(r"P\d{3}", p) for pair in pairs for p in pair)
    for a, b in pairs:
        both = one(
            con,
            f"SELECT count(*) FROM lines x JOIN lines y USING (order_id) WHERE x.p = '{a}' AND y.p = '{b}'",
        )[0]
        expected = freq[a] * freq[b] / n_orders
        assert both > 20 and both > 10 * expected, (a, b, both, expected)
    # an arbitrary popular pair that wasn't planted is near chance
    top = sorted(freq, key=freq.__getitem__, reverse=True)[:2]
    if sorted(top) not in [sorted(p) for p in pairs]:
        both = one(
            con,
            f"SELECT count(*) FROM lines x JOIN lines y USING (order_id) "
            f"WHERE x.p = '{top[0]}' AND y.p = '{top[1]}'",
        )[0]
        assert both < 4 * freq[top[0]] * freq[top[1]] / n_orders + 5


def bgnbd_expected(t: np.ndarray, r: float, alpha: float, a: float, b: float) -> np.ndarray:
    """E[X(t)] of BG/NBD (Fader, Hardie & Lee 2005, eq. 9)."""
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def bgnbd_pmf(x: int, t: np.ndarray, r: float, alpha: float, a: float, b: float) -> np.ndarray:
    """P(X(t) = x) of BG/NBD (Fader, Hardie & Lee 2005, eq. 8)."""
    lb = betaln(a, b)
    first = np.exp(
        betaln(a, b + x)
        - lb
        + gammaln(r + x)
        - gammaln(r)
        - gammaln(x + 1)
        + r * np.log(alpha / (alpha + t))
        + x * np.log(t / (alpha + t))
    )
    if x == 0:
        return first
    tail = sum(
        np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + j * np.log(t / (alpha + t))) for j in range(x)
    )
    return first + np.exp(betaln(a + 1, b + x - 1) - lb) * (1 - (alpha / (alpha + t)) ** r * tail)


def bgnbd_gof(
    x: np.ndarray, t: np.ndarray, params: tuple[float, float, float, float], bins: int = 8
) -> float:
    """Chi-square goodness-of-fit p-value of repeat counts 0..bins-1, >= bins given each customer's T."""
    expected = np.array([bgnbd_pmf(k, t, *params).sum() for k in range(bins)])
    expected = np.r_[expected, x.size - expected.sum()]
    observed = np.array([(x == k).sum() for k in range(bins)] + [(x >= bins).sum()])
    chi2 = ((observed - expected) ** 2 / expected).sum()
    return float(stats.chi2.sf(chi2, bins))


def test_repeat_purchases_follow_the_planted_bgnbd(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    rows = np.array(
        con.sql(f"""
        SELECT count(*) - 1, date_diff('second', min(ts), TIMESTAMP '{END}') / 604800.0
        FROM orders GROUP BY customer_id""").fetchall()
    )
    x, t = rows[:, 0], rows[:, 1]
    g = demo.truth["bgnbd"]
    assert g["time_unit"] == "weeks"
    planted = (g["r"], g["alpha"], g["a"], g["b"])
    assert sum(bgnbd_pmf(k, np.array([3.0, 80.0]), *planted) for k in range(300)) == pytest.approx(1.0)
    assert x.sum() == pytest.approx(bgnbd_expected(t, *planted).sum(), rel=0.1)
    # P(X(T) = 0) = (alpha / (alpha + T))^r: no repeat purchase at all
    assert (x == 0).mean() == pytest.approx(((g["alpha"] / (g["alpha"] + t)) ** g["r"]).mean(), abs=0.03)
    assert bgnbd_gof(x, t, planted) > 0.001
    # the checks have power: other parameters are rejected
    r, alpha, a, b = planted
    for wrong in ((r, 2 * alpha, a, b), (1.5 * r, alpha, a, b), (r, alpha, 2 * a, b), (r, alpha, a, 2 * b)):
        assert bgnbd_gof(x, t, wrong) < 1e-4, wrong
    assert abs(x.sum() / bgnbd_expected(t, r, 2 * alpha, a, b).sum() - 1) > 0.25


def test_order_values_follow_the_planted_gamma_gamma(
    demo: DemoResult, con: duckdb.DuckDBPyConnection
) -> None:
    revenue = np.array([r[0] for r in con.sql("SELECT revenue FROM orders").fetchall()])
    gg = demo.truth["gamma_gamma"]
    assert revenue.mean() == pytest.approx(gg["p"] * gg["v"] / (gg["q"] - 1), rel=0.06)
    # each order value is Gamma(p, nu) with nu ~ Gamma(q, v): marginally v * BetaPrime(p, q)
    d_planted = stats.kstest(revenue, stats.betaprime(gg["p"], gg["q"], scale=gg["v"]).cdf).statistic
    d_wrong = stats.kstest(revenue, stats.betaprime(gg["p"], gg["q"], scale=1.2 * gg["v"]).cdf).statistic
    assert d_planted < 0.03 < d_wrong


STOPWORDS = {
    "nl": {
        "de",
        "het",
        "een",
        "niet",
        "van",
        "mijn",
        "ik",
        "op",
        "te",
        "met",
        "voor",
        "heel",
        "erg",
        "maar",
        "ook",
        "jullie",
        "geen",
        "bij",
        "zoals",
        "wat",
        "dan",
        "nog",
        "alles",
        "kwam",
        "aan",
        "weer",
    },
    "da": {
        "og",
        "ikke",
        "det",
        "jeg",
        "min",
        "på",
        "til",
        "med",
        "af",
        "meget",
        "men",
        "kan",
        "har",
        "at",
        "jer",
        "blev",
        "fra",
        "hvad",
        "godt",
        "helt",
        "efter",
        "kom",
        "dage",
        "var",
        "stadig",
        "igen",
    },
    "de": {
        "und",
        "nicht",
        "ich",
        "die",
        "der",
        "das",
        "ist",
        "mit",
        "sehr",
        "aber",
        "ein",
        "eine",
        "mein",
        "meine",
        "auf",
        "zu",
        "es",
        "wie",
        "von",
        "den",
        "dem",
        "hat",
        "wieder",
        "kam",
        "nie",
        "schon",
    },
    "en": {
        "the",
        "and",
        "not",
        "i",
        "my",
        "it",
        "to",
        "of",
        "with",
        "very",
        "but",
        "at",
        "for",
        "this",
        "on",
        "you",
        "was",
        "is",
        "arrived",
        "again",
        "never",
        "will",
        "all",
        "really",
    },
}


def guess_language(text: str) -> str | None:
    words = re.findall(r"[a-zæøåäöüß']+", text.lower())
    hits = {lang: sum(w in sw for w in words) for lang, sw in STOPWORDS.items()}
    best = max(hits.values())
    winners = [lang for lang, h in hits.items() if h == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def test_texts_are_varied_and_in_the_customers_language(con: duckdb.DuckDBPyConnection) -> None:
    n, distinct = one(con, "SELECT count(*), count(DISTINCT text) FROM feedback WHERE source = 'review'")
    assert n > 1500 and distinct > 0.6 * n
    assert one(con, "SELECT count(DISTINCT text) FROM feedback WHERE text IS NOT NULL")[0] > 2000
    mismatch = one(
        con,
        "SELECT count(*) FROM feedback f JOIN customers c USING (customer_id) WHERE f.language <> c.language",
    )[0]
    assert mismatch == 0
    rows = con.sql("SELECT language, text FROM feedback WHERE text IS NOT NULL").fetchall()
    langs = Counter(lang for lang, _ in rows)
    assert {"nl", "da", "de", "en"} <= set(langs) and langs["da"] > 0.08 * len(rows)
    guesses = [(lang, guess_language(text)) for lang, text in rows]
    decided = [(lang, g) for lang, g in guesses if g is not None]
    assert len(decided) > 0.85 * len(rows)
    assert sum(lang == g for lang, g in decided) > 0.97 * len(decided)
    texts = " ".join(t for _, t in rows)
    for idiom in ("niet slecht", "intet at udsætte", "not bad at all", "nichts zu meckern"):
        assert idiom in texts.lower(), idiom


def aspect_patterns() -> dict[str, list[tuple[re.Pattern[str], bool]]]:
    """Per language, a regex per aspect sentence with its polarity."""
    out: dict[str, list[tuple[re.Pattern[str], bool]]] = {}
    for lang, frags in T.FRAGMENTS.items():
        out[lang] = []
        for aspect in T.ASPECTS:
            for polarity in ("pos", "neg"):
                for template in frags[f"{aspect}_{polarity}"]:
                    body = (
                        re.escape(template.rstrip(".!"))
                        .replace(r"\{item\}", ".+?")
                        .replace(r"\{days\}", r"\d+")
                    )
                    out[lang].append((re.compile(body, re.IGNORECASE), polarity == "pos"))
    return out


def test_text_sentiment_agrees_with_scores(con: duckdb.DuckDBPyConnection) -> None:
    patterns = aspect_patterns()
    rows = con.sql("SELECT score, language, text FROM feedback WHERE source = 'review'").fetchall()
    found = [(score, {pos for rx, pos in patterns[lang] if rx.search(text)}) for score, lang, text in rows]
    assert all(polarities for _, polarities in found)  # every review says something about an aspect
    assert all(False in pol for score, pol in found if score <= 2)
    assert all(pol == {True} for score, pol in found if score == 5)
    mixed = [score for score, pol in found if pol == {True, False}]
    assert len(mixed) > 100 and set(mixed) <= {2, 3, 4}


def test_change_log_and_checkout_redesign(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    changes = con.sql("SELECT change_id, touchpoint, ts FROM changes ORDER BY ts").fetchall()
    assert len(changes) == 4 and {c[1] for c in changes} >= {"checkout", "shipping_confirmation_email"}
    abandon = dict(
        con.sql("""
        SELECT after, avg((NOT bought)::INT) FROM (
            SELECT session_id, min(ts) >= TIMESTAMP '2025-03-03' AS after, bool_or(event = 'purchase') AS bought
            FROM events WHERE session_id IN (SELECT session_id FROM events WHERE event = 'checkout') GROUP BY 1)
        GROUP BY 1""").fetchall()
    )
    assert abandon[True] < 0.8 * abandon[False]
    ces = dict(
        con.sql(
            "SELECT ts >= TIMESTAMP '2025-03-03', avg(score) FROM feedback WHERE source = 'ces' GROUP BY 1"
        ).fetchall()
    )
    assert ces[True] > ces[False] + 0.3


def test_truth_has_the_contract_keys(demo: DemoResult) -> None:
    t = demo.truth
    assert (t["seed"], t["customers"]) == (SEED, N)
    for key in (
        "window",
        "weak_channel",
        "weak_channel_effect",
        "weak_touchpoint",
        "weak_touchpoint_effect",
        "email_test",
        "bgnbd",
        "gamma_gamma",
        "co_purchase_pairs",
    ):
        assert key in t, key
    assert t["weak_touchpoint"] == "delivery"
    assert {"r", "alpha", "a", "b"} <= set(t["bgnbd"]) and {"p", "q", "v"} <= set(t["gamma_gamma"])
    assert {"conversion_rate", "peer_conversion_rate", "definition"} <= set(t["weak_channel_effect"])
    assert t["email_test"]["experiment_id"] == "shipping_email_festive"
    assert (t["email_test"]["control"], t["email_test"]["treatment"]) == ("basic", "festive")
    assert t["counts"] == demo.counts


def test_spend_prices_the_paid_clicks(demo: DemoResult, con: duckdb.DuckDBPyConnection) -> None:
    """Cost per channel ≈ its paid clicks (counted from the events) × the planted cost per click."""
    cpc = demo.truth["spend"]["cpc"]
    rows = con.sql(
        "WITH clicks AS (SELECT channel, count(DISTINCT session_id) AS n FROM events "
        "WHERE event IN ('ad_click', 'affiliate_click') GROUP BY channel), "
        "cost AS (SELECT channel, sum(cost) AS c, count(*) AS days FROM spend GROUP BY channel) "
        "SELECT channel, n, c FROM clicks JOIN cost USING (channel)"
    ).fetchall()
    assert {r[0] for r in rows} == set(cpc)
    for channel, clicks, cost in rows:
        assert cost == pytest.approx(clicks * cpc[channel], rel=0.02), channel
    assert one(con, "SELECT count(*) - count(DISTINCT (date, channel, campaign)) FROM spend") == (0,)
    assert one(
        con, "SELECT min(cost) >= 0, min(date) >= DATE '2024-01-01', max(date) < DATE '2026-01-01' FROM spend"
    ) == (True, True, True)
