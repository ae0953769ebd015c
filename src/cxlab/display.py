"""How numbers read in every shell (CLI tables, report, summaries): one format per kind of number.

A missing value (None, NaN) reads as an en dash everywhere, so a table never shows ``nan`` or ``EUR 0`` for
"not measured".
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable
from typing import Any

DASH = "–"


def missing(x: Any) -> bool:
    """True for None and for a float that is NaN or infinite (nothing meaningful to show)."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def pct(x: Any, digits: int = 1, signed: bool = False) -> str:
    """A share as a percentage: ``0.1234`` → ``12.3%`` (``+12.3%`` when ``signed``)."""
    if missing(x):
        return DASH
    return f"{100 * float(x):{'+' if signed else ''}.{digits}f}%"


def points(x: Any, digits: int = 1) -> str:
    """A difference of two shares in percentage points: ``0.012`` → ``+1.2 points``."""
    return DASH if missing(x) else f"{100 * float(x):+.{digits}f} points"


def money(x: Any, currency: str, digits: int = 0, signed: bool = False) -> str:
    """An amount with its currency: ``money(1234.5, "EUR")`` → ``EUR 1,235``."""
    if missing(x):
        return DASH
    return f"{currency} {float(x):{'+' if signed else ''},.{digits}f}"


def count(x: Any) -> str:
    """A whole number with thousands separators."""
    return DASH if missing(x) else f"{int(x):,}"


def number(x: Any, digits: int = 4) -> str:
    """A measurement to ``digits`` significant digits, whole numbers from 1,000 on (thousands separated)."""
    if missing(x):
        return DASH
    v = float(x)
    shown = f"{v:,.{digits}g}"
    return f"{v:,.0f}" if abs(v) >= 1000 or ("e+" in shown) else shown


def interval(lo: Any, hi: Any, show: Callable[[Any], str] = pct) -> str:
    """A confidence interval ``lo – hi`` with each bound formatted by ``show``; a dash when it is missing."""
    return DASH if missing(lo) else f"{show(lo)} – {show(hi)}"


def p_value(x: Any) -> str:
    """A p-value as people read it: ``0.032``, ``< 0.001`` (never ``1.02e-32``)."""
    if missing(x):
        return DASH
    v = float(x)
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def day(x: Any) -> str:
    """A date or timestamp as a date: ``2024-01-01 00:00:00`` → ``2024-01-01``; a dash when missing."""
    if x is None or (isinstance(x, float) and missing(x)):
        return DASH
    try:
        import pandas as pd

        t = pd.Timestamp(x)
    except (TypeError, ValueError):
        return str(x)
    return DASH if pd.isna(t) else f"{t:%Y-%m-%d}"


def month(x: Any) -> str:
    """A month as people write it: ``2024-01-01`` → ``2024-01``; a dash when missing."""
    d = day(x)
    return d if d == DASH or len(d) != 10 else d[:7]


def certainty(p_value: float | None = None, chance: float | None = None) -> str:
    """How sure we are, in words, from a (multiple-testing adjusted) p-value or from a probability.

    The same scale everywhere, so "likely" means one thing in every action:

    ===============  ============  ========================================================
    words            p-value       probability (chance to beat the control, to have lapsed)
    ===============  ============  ========================================================
    very likely      < 0.001       ≥ 0.99
    likely           < 0.01        ≥ 0.95
    probable         < 0.05        ≥ 0.80
    possible         (none)        ≥ 0.50
    unclear          ≥ 0.05        < 0.50, or nothing measured
    ===============  ============  ========================================================

    A p-value below 0.05 is what the analyses call significant, so every finding they report reads at
    least "probable"; "possible" is for probabilities only (e.g. a customer more likely gone than not).
    With both given, the p-value decides."""
    if p_value is not None and math.isfinite(p_value):
        return "very likely" if p_value < 0.001 else "likely" if p_value < 0.01 else (
            "probable" if p_value < 0.05 else "unclear"
        )  # fmt: skip
    if chance is not None and math.isfinite(chance):
        for words, floor in (("very likely", 0.99), ("likely", 0.95), ("probable", 0.80), ("possible", 0.5)):
            if chance >= floor:
                return words
    return "unclear"


def duration(hours: Any) -> str:
    """A time span in hours as people say it: "under a minute", "25 min", "20.6 hours", "12.1 days"."""
    if missing(hours):
        return DASH
    h = float(hours)
    if h < 1 / 60:
        return "under a minute"
    if h < 1:
        return f"{round(h * 60)} min"
    return f"{number(h, 3)} hours" if h < 48 else f"{number(h / 24, 3)} days"


def whole(x: Any) -> str:
    """A score on its 0–100 (NPS −100–100) scale as a whole number, the way scores are quoted: ``-87``."""
    return number(round(float(x)), 4)


def cell(v: Any) -> str:
    """One value as table text in every shell (CLI tables, the report, the dashboard): numbers to 4
    significant digits (thousands separated), whole numbers as counts, dates as dates (with the time only
    when there is one), yes/no for flags, a missing value (None, NaN, NaT, pandas' NA) as a dash."""
    if blank(v):
        return DASH
    kind = getattr(getattr(v, "dtype", None), "kind", "")
    if isinstance(v, bool) or kind == "b":
        return "yes" if v else "no"
    if kind == "M":  # numpy's datetime64
        v = sys.modules["pandas"].Timestamp(v) if "pandas" in sys.modules else str(v)[:10]
    if isinstance(v, dt.datetime):  # also pandas' Timestamp
        return day(v) if v.time() == dt.time() else f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, dt.date):
        return day(v)
    if isinstance(v, int) or kind in ("i", "u"):
        return count(v)
    if isinstance(v, float) or kind == "f":
        return number(v)
    return str(v)


def blank(v: Any) -> bool:
    """A missing value (None, NaN, NaT, pandas' NA): shown as a dash whatever the column's format."""
    if v is None:
        return True
    if isinstance(v, float):
        return v != v  # NaN
    pd = sys.modules.get("pandas")  # a pandas missing value can only come with pandas loaded
    if pd is None or isinstance(v, str | list | tuple | dict):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
