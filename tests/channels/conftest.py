"""Fixtures for channel tests: random ChannelAttribution-style path tables, and ChannelAttribution itself
(GPL-3: used by tests and benchmarks only, never by ``src/``)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

RandomPaths = Callable[..., pd.DataFrame]
Quiet = Callable[..., Any]


def _random_paths(
    seed: int, n: int = 300, channels: int = 6, max_len: int = 8, names: str = "ch{}"
) -> pd.DataFrame:
    """``n`` paths (repeats and loops included) with whole conversion and null counts and values."""
    rng = np.random.default_rng(seed)
    chans = [names.format(i) for i in range(channels)]
    rows = []
    for _ in range(n):
        k = int(rng.integers(1, max_len + 1))
        steps = rng.choice(chans, size=k)
        conv = int(rng.poisson(1.5))
        rows.append(
            {
                "path": " > ".join(steps) if rng.random() < 0.7 else ">".join(steps),
                "total_conversions": conv,
                "total_conversion_value": round(float(conv * rng.gamma(2.0, 40.0)), 2),
                "total_null": int(rng.poisson(2.0)),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def random_paths() -> RandomPaths:
    return _random_paths


@pytest.fixture(scope="session")
def ca() -> Any:
    """The ChannelAttribution module, imported without its banner."""
    with contextlib.redirect_stdout(io.StringIO()):
        import ChannelAttribution
    return ChannelAttribution


@pytest.fixture(scope="session")
def quiet() -> Quiet:
    """Call a ChannelAttribution function with its stdout chatter swallowed."""

    def call(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return f(*args, **kwargs)

    return call


# --- a shop small enough to count by hand ---------------------------------------------------------------

EVENT_COLUMNS = ("event_id", "ts", "customer_id", "anonymous_id", "session_id", "event", "channel", "campaign",
                 "revenue")  # fmt: skip
SHOP_EVENTS = [
    # c1 arrives anonymously (a1) by a social ad, signs up later: one person
    ("1", "2024-05-01 10:00", None, "a1", "s1", "ad_click", "social_ads", "social_lookalike", None),
    ("2", "2024-05-01 10:01", None, "a1", "s1", "page_view", "social_ads", "social_lookalike", None),
    ("3", "2024-05-09 08:00", "c1", "a1", None, "email_sent", "email", "newsletter", None),
    ("4", "2024-05-10 10:00", "c1", None, "s2", "email_click", "email", "newsletter", None),
    ("5", "2024-05-12 10:00", "c1", None, "s3", "page_view", "direct", None, None),
    ("6", "2024-05-12 10:05", "c1", None, "s3", "purchase", "direct", None, 50.0),
    ("7", "2024-06-01 09:00", "c1", None, "s4", "ad_click", "paid_search", "ps_brand", None),
    ("8", "2024-06-05 09:00", "c1", None, None, "email_click", "email", "shipping_confirmation", None),
    ("9", "2024-06-20 12:00", "c1", None, "s5", "page_view", "direct", None, None),
    ("10", "2024-06-20 12:30", "c1", None, "s5", "purchase", "direct", None, 30.0),
    # c2: a display click 50 days before a paid-search purchase
    ("11", "2024-03-01 10:00", "c2", None, "s6", "ad_click", "display", "display_prospecting", None),
    ("12", "2024-04-20 10:00", "c2", None, "s7", "ad_click", "paid_search", "ps_generic", None),
    ("13", "2024-04-20 10:10", "c2", None, "s7", "purchase", "paid_search", "ps_generic", 20.0),
    # a3 and a4 never buy
    ("14", "2024-05-01 10:00", None, "a3", "s8", "ad_click", "social_ads", "social_lookalike", None),
    ("15", "2024-05-03 10:00", None, "a3", "s9", "ad_click", "social_ads", "social_lookalike", None),
    ("16", "2024-07-01 10:00", None, "a3", "s10", "organic_click", "organic_search", None, None),
    ("17", "2024-05-02 10:00", None, "a4", "s11", "ad_click", "social_ads", "social_video", None),
    ("18", "2024-05-02 18:00", None, "a4", "s12", "page_view", "social_ads", "social_video", None),
    # c9 buys with no touch at all (no channel, no session)
    ("19", "2024-05-05 10:00", "c9", None, None, "purchase", None, None, 15.0),
]


@pytest.fixture
def shop(tmp_path: Any) -> Any:
    import pyarrow as pa

    from cxlab.store import Store

    s = Store(tmp_path / "cxlab.duckdb")
    cols = list(zip(*SHOP_EVENTS, strict=True))
    data = {name: list(col) for name, col in zip(EVENT_COLUMNS, cols, strict=True)}
    data["revenue"] = pa.array(data["revenue"], pa.float64())
    s.ingest("events", pa.table(data))
    yield s
    s.close()
