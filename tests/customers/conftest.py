"""Reference data for the customers tests: the CDNOW files bundled with the peer library ``lifetimes``.

Read from the package's data folder directly (its loaders are not needed, and the files are the same ones
Fader, Hardie & Lee used: the 2,357-customer cohort, 39-week calibration). Tests that use them are skipped
when lifetimes is not installed.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from cust_helpers import DATA


def _data() -> Path:
    if DATA is None:
        pytest.skip("the peer library lifetimes (and its CDNOW files) is not installed")
    return DATA


@pytest.fixture(scope="session")
def cdnow() -> pd.DataFrame:
    """Per customer: ID, frequency (x), recency (t_x), T in weeks, monetary_value (zbar), as published."""
    d = pd.read_csv(_data() / "cdnow_customers_summary_with_transactions.csv")
    return d.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """The cohort's transactions: customer id (sample id, 1..2357), date, CDs, dollars."""
    t = pd.read_csv(
        _data() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "dollars"],
        dtype={"master_id": str, "customer": str, "date": str},
    )
    t["date"] = pd.to_datetime(t["date"], format="%Y%m%d")
    return t


@pytest.fixture(scope="session")
def lf() -> ModuleType:
    """The peer library ``lifetimes``: only the tests that compare with it are skipped without it."""
    return pytest.importorskip("lifetimes")


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    """The folder of the CDNOW files (tests that read them are skipped without lifetimes)."""
    return _data()
