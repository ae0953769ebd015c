"""Checks that a report section speaks to a shop owner: no statistician's words in its summary, money with
its currency, percentages as percentages, dates without clock times, no sentence with a hole; the method
still there, in ``details``."""

from __future__ import annotations

import re

from cxlab.display import DASH
from cxlab.report.section import Section

JARGON = (
    "silhouette",
    "P(alive)",
    "p_alive",
    "Newcombe",
    "Welch",
    "holm",
    "BG/NBD",
    "Gamma-Gamma",
    "k-means",
    "nDCG",
    "SRM",
    "CUPED",
    "delta method",
    "quintile",
    "standardised",
    "calibration",
    "T = 0",
    "p-value",
    "p =",
    "n =",
    " pp",
    "CI ",
    "@10",
)
"""Words and signs a summary must not use (case-insensitive); they belong in the details."""
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?e[-+]?\d", re.IGNORECASE)
CITATION = re.compile(r"\([A-Z][^()]*\b(?:19|20)\d\d\)")
CLOCK = re.compile(r"\d{2}:\d{2}:\d{2}")
HOLE = re.compile(r"\s[.;,:]|\(\s*\)|;\s*\.|:\s*\.|\s{2,}|\bnan\b|\bNone\b")
UNPRICED = re.compile(r"\b(?:worth|spent|spend|value|revenue|CLV)(?: of| at| is)?\s+[\d.,]+\d", re.IGNORECASE)
"""A money word followed straight by a number: an amount without its currency."""
FRACTION = re.compile(r"^[-+]?0\.\d{3,}$")
"""A rate shown as a fraction (0.7726) instead of a percentage."""
MONEY_HEADERS = re.compile(r"value|revenue|spent|worth|order value|at risk", re.IGNORECASE)


def problems(section: Section, currency: str = "EUR") -> list[str]:
    """Everything in ``section`` that a shop owner should not have to read, as messages (empty: plain)."""
    out: list[str] = []
    summary = section.summary
    lower = summary.lower()
    out += [f"jargon {w!r} in the summary" for w in JARGON if w.lower() in lower]
    for name, pattern in (
        ("scientific notation", SCIENTIFIC),
        ("citation", CITATION),
        ("clock time", CLOCK),
        ("hole", HOLE),
        ("amount without currency", UNPRICED),
    ):
        out += [f"{name} {m.group(0)!r} in the summary" for m in pattern.finditer(summary)]
    if not section.details:
        out.append("no details: the method, intervals and n must stay one click away")
    if SCIENTIFIC.search(section.details):
        out.append("scientific notation in the details")
    t = section.table
    if t is not None:
        for col in t.columns:
            cells = [str(v) for v in t[col]]
            out += [f"jargon header {col!r}" for w in ("P(alive)", "p_alive", "SRM", "nDCG") if w in str(col)]
            out += [f"fraction {v!r} in column {col!r}" for v in cells if FRACTION.match(v)]
            out += [f"{v!r} in column {col!r}" for v in cells if v.lower() in ("nan", "none", "nat")]
            if MONEY_HEADERS.search(str(col)) and not str(col).startswith(("%", "chance")):
                out += [
                    f"amount without currency {v!r} in column {col!r}"
                    for v in cells
                    if not all(part in (DASH, "") or part.startswith(currency) for part in v.split(" vs "))
                ]
    return out
