"""The engine's per-customer summary against the published CDNOW summary, lifetimes, and hand-worked cases."""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from cxlab.customers import purchase_summary

COLS = ["frequency", "recency", "T", "monetary_value"]


def _by_id(frame: pd.DataFrame, id_col: str = "customer_id") -> pd.DataFrame:
    return frame.assign(_id=frame[id_col].astype(int)).sort_values("_id").reset_index(drop=True)


def test_cdnow_transactions_give_the_published_summary(
    cdnow: pd.DataFrame, cdnow_transactions: pd.DataFrame
) -> None:
    s = purchase_summary(
        ibis.memtable(cdnow_transactions),
        "1997-09-30",
        customer_col="customer",
        ts_col="date",
        value_col="dollars",
        period="day",
        time_unit="week",
    )
    f = _by_id(s.frame)
    ref = cdnow.sort_values("ID").reset_index(drop=True)
    assert len(f) == len(ref) == 2357
    np.testing.assert_array_equal(f["frequency"], ref["frequency"])
    for c in ("recency", "T", "monetary_value"):  # the published file has two decimals
        np.testing.assert_allclose(f[c], ref[c], atol=0.005 + 1e-9)


@pytest.mark.parametrize(("period", "freq"), [("week", "W"), ("day", "D")])
def test_matches_lifetimes_calibration_and_holdout(
    lf: Any, cdnow_transactions: pd.DataFrame, period: str, freq: str
) -> None:
    ref: Any = lf.utils.calibration_and_holdout_data(
        cdnow_transactions,
        "customer",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq=freq,
        monetary_value_col="dollars",
    )
    ref = _by_id(ref.reset_index(), "customer")
    s = purchase_summary(
        ibis.memtable(cdnow_transactions),
        "1997-09-30",
        observation_end="1998-06-30",
        customer_col="customer",
        ts_col="date",
        value_col="dollars",
        period=period,
    )
    f = _by_id(s.frame)
    for c in COLS:
        np.testing.assert_allclose(f[c], ref[f"{c}_cal"], rtol=1e-12, err_msg=c)
    for c in ("frequency_holdout", "monetary_value_holdout", "duration_holdout"):
        np.testing.assert_allclose(f[c], ref[c], rtol=1e-12, err_msg=c)


def _orders() -> ibis.Table:
    rows = [
        ("a", "2024-01-01 00:00:00", 10.0),
        ("a", "2024-01-08 12:00:00", 20.0),
        ("a", "2024-01-15 00:00:00", 40.0),
        ("a", "2024-02-01 00:00:00", 5.0),
        ("b", "2024-01-10 09:00:00", 7.0),
        ("b", "2024-01-10 09:00:00", 8.0),
        ("b", "2024-01-29 15:00:00", 9.0),
        ("c", "2024-02-05 10:00:00", 50.0),
        (None, "2024-01-05 10:00:00", 99.0),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "ts", "revenue"]).assign(
        ts=lambda d: pd.to_datetime(d["ts"])
    )
    return ibis.memtable(df)


def test_exact_clock_by_hand() -> None:
    s = purchase_summary(
        _orders(), "2024-01-29 00:00:00", observation_end="2024-02-12", exact=True, period="week"
    )
    f = s.frame.set_index("customer_id")
    assert sorted(f.index) == ["a", "b"]  # c buys after calibration; the guest order has no customer
    a, b = f.loc["a"], f.loc["b"]
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (2, 2.0, 4.0, 30.0)
    # two orders at the same instant count once (values summed); the one at 15:00 on the 29th is after the cutoff
    assert (b["frequency"], b["T"], b["monetary_value"]) == (0, pytest.approx((19 * 24 - 9) / 168), 0.0)
    assert a["frequency_holdout"] == 1 and b["frequency_holdout"] == 1
    assert a["duration_holdout"] == pytest.approx((14 * 24 + 24) / 168)  # to the end of 2024-02-12


def test_a_bare_date_includes_the_whole_day() -> None:
    f = purchase_summary(_orders(), "2024-01-29", exact=True).frame.set_index("customer_id")
    assert f.loc["b", "frequency"] == 1 and f.loc["b", "monetary_value"] == 9.0
    assert f.loc["a", "T"] == pytest.approx(29 / 7)


def test_weekly_periods_merge_purchases_in_one_week() -> None:
    f = purchase_summary(_orders(), "2024-01-31", period="week").frame.set_index("customer_id")
    # a: weeks of Jan 1, Jan 8, Jan 15 (Mondays) -> 2 repeats, recency 2 weeks, T to the week of Jan 29: 4
    assert (f.loc["a", "frequency"], f.loc["a", "recency"], f.loc["a", "T"]) == (2, 2.0, 4.0)
    # b: week of Jan 8 (15.0 summed) and week of Jan 29 (9.0): one repeat worth 9
    assert (f.loc["b", "frequency"], f.loc["b", "recency"], f.loc["b", "monetary_value"]) == (1, 3.0, 9.0)


def test_an_offset_is_converted_to_utc() -> None:
    utc = purchase_summary(_orders(), "2024-01-29 00:00:00", exact=True).frame.set_index("customer_id")
    cet = purchase_summary(_orders(), "2024-01-29T01:00:00+01:00", exact=True).frame.set_index("customer_id")
    assert utc.equals(cet)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        purchase_summary(_orders(), "2024-01-31", period="fortnight")
    with pytest.raises(ValueError, match="not a date"):
        purchase_summary(_orders(), "last tuesday")
    with pytest.raises(ValueError, match="not after"):
        purchase_summary(_orders(), "2024-01-31", observation_end="2024-01-01")
    with pytest.raises(KeyError, match="amount"):
        purchase_summary(_orders(), "2024-01-31", value_col="amount")
