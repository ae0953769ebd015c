"""Survey scores: NPS, CSAT and CES with 95% intervals, overall, over time and per breakdown.

Counts are aggregated in the engine (one query per call); the statistics run on those counts.

* **NPS** (0–10): promoters 9–10, passives 7–8, detractors 0–6; NPS = 100·(promoters − detractors)/n. It is
  the mean of a variable that is +1, 0 or −1, so its standard error follows from the multinomial variance:
  ``sqrt((p + d − (p − d)²) / n)`` (``se``, used by :func:`compare_periods`). The interval is the adjusted
  Wald interval (Rocks 2016, *The American Statistician* 70(4), the best-covering of the six methods compared
  there; as given by Sauro & Lewis): ¾ added to promoters and to detractors and 3 to n, the Wald interval of
  those adjusted shares, clipped to −100…100. Unlike the plain Wald interval it does not collapse to a point
  when every answer is the same (51 detractors: −100, range −100 to −87).
* Below :data:`MIN_ANSWERS` answers no range is given (``ci_low``/``ci_high`` NaN); :func:`score_range` says so
  in words.
* **CSAT** (1–5): share satisfied (4–5, "top-2 box") with a Wilson interval, and the mean score.
* **CES** (1–7, higher = easier): share reporting low effort (5–7) with a Wilson interval, and the mean.

``merge="latest"`` counts one answer per customer (their latest in the period), so a customer who answers
several NPS surveys counts once; ``merge="all"`` counts every answer. :func:`compare_periods` tests whether a
score changed between two periods (two-sample z-test on the coded answers, unequal variances).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend
from numpy.typing import NDArray
from scipy import stats

from cxlab.config import Config
from cxlab.display import DASH, count, day, missing, month, pct, whole
from cxlab.journey.data import journey_events, person_attribute
from cxlab.stats.proportions import wilson_interval
from cxlab.voice.sentiment import MIXED

Kind = Literal["nps", "csat", "ces"]
Merge = Literal["all", "latest"]
KINDS: tuple[Kind, ...] = ("nps", "csat", "ces")
PERIODS = ("day", "week", "month", "quarter", "year")
BREAKDOWNS = ("touchpoint", "language", "country", "channel", "segment")
SCALE = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_GOOD = {"nps": 9, "csat": 4, "ces": 5}  # promoter / satisfied / low effort from this score up
_BAD = {"nps": 6}  # detractor up to this score
#: Fewer answers than this get a score but no range: too few to say how far off the score may be.
MIN_ANSWERS = 10


@dataclass(frozen=True)
class ScoreResult:
    """One score per group (``table``), with method, interval and n stated in :meth:`summary`."""

    kind: Kind
    table: pd.DataFrame
    by: str | None
    period: str | None
    level: float
    merge: Merge

    @property
    def method(self) -> str:
        if self.kind == "nps":
            return (
                "NPS = % promoters (9–10) − % detractors (0–6); adjusted Wald interval (Rocks 2016: ¾ added to "
                "promoters and detractors, 3 to n)"
            )
        good = "4–5 of 5" if self.kind == "csat" else "5–7 of 7 (low effort)"
        return f"share answering {good} with a Wilson interval; mean score with a t interval"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {
            "kind": self.kind,
            "method": self.method,
            "level": self.level,
            "merge": self.merge,
            "by": self.by,
            "period": self.period,
            "rows": [{k: _plain(v) for k, v in r.items()} for r in rows],
        }

    @property
    def details(self) -> str:
        """How the score was measured: method, interval, n (shown folded under the summary)."""
        n = int(self.table["n"].sum()) if len(self.table) else 0
        head = f"{self.kind.upper()}: {self.method}; {int(self.level * 100)}% ranges; n = {count(n)} answers"
        if self.merge == "latest":
            head += " (one per customer: the latest)"
        return head + f"; no range below {MIN_ANSWERS} answers." + self._comments()

    def _comments(self) -> str:
        """How many answers came with a comment, and how many of those were mixed (counted apart)."""
        comments = int(self.table["comments"].sum()) if "comments" in self.table else 0
        if not comments:
            return ""
        mixed = int(self.table["mixed_comments"].sum())
        return (
            f" {count(comments)} answers have a comment read by `cxlab voice analyze`; {count(mixed)} of them "
            "are mixed (clear praise and a clear complaint, neither outweighing the other): counted per group "
            "as mixed comments, not as positive or negative ones in the sentiment views."
        )

    def summary(self) -> str:
        """The score in plain words: the overall one with its range, or how many groups or periods."""
        if self.table.empty:
            return f"No {self.kind.upper()} answers."
        if len(self.table) == 1:
            return score_sentence(self.kind, self.table.iloc[0].to_dict()) + "."
        t = self.table.reset_index(drop=True)
        key = "period" if self.period and not self.by else "group"
        show = month if self.period == "month" else day if key == "period" else str
        names = [show(v) for v in t[key]] if key in t else [str(i) for i in range(len(t))]
        lo, hi = int(t["score"].to_numpy().argmin()), int(t["score"].to_numpy().argmax())
        return (
            f"{self.kind.upper()} over {len(t)} {'periods' if key == 'period' else 'groups'} "
            f"({count(t['n'].sum())} answers): lowest {whole(t['score'].iloc[lo])} ({names[lo]}), "
            f"highest {whole(t['score'].iloc[hi])} ({names[hi]})."
        )

    def figure(self) -> go.Figure:
        t = self.table
        label = self.kind.upper() if self.kind == "nps" else f"{self.kind.upper()} (% good)"
        if self.period is not None:
            fig = go.Figure()
            groups = t.groupby("group", sort=False) if self.by else [(label, t)]
            for name, g in groups:
                fig.add_scatter(
                    x=g["period"], y=g["score"], mode="lines+markers", name=html.escape(str(name)),
                    error_y=dict(type="data", symmetric=False, array=g["ci_high"] - g["score"],
                                 arrayminus=g["score"] - g["ci_low"]),
                )  # fmt: skip
        else:
            x = [html.escape(str(g)) for g in t["group"]] if self.by else [label]  # shown as HTML
            bars = dict(
                type="data",
                symmetric=False,
                array=t["ci_high"] - t["score"],
                arrayminus=t["score"] - t["ci_low"],
            )
            fig = go.Figure(go.Bar(x=x, y=t["score"], error_y=bars, marker_color="#4c78a8"))
        over = f" by {self.period}" if self.period else f" by {self.by}" if self.by else ""
        fig.update_layout(
            title=f"{label}{over} (bars: 95% range)", yaxis_title=label, template="plotly_white"
        )
        return fig


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp | datetime):
        return v.isoformat()
    return v


def coded(kind: Kind, score: ir.NumericValue) -> ir.NumericValue:
    """The per-answer value whose mean is the score: +1/0/−1 for NPS, 1/0 for the CSAT/CES good share."""
    good = (score >= _GOOD[kind]).cast("int64")
    if kind == "nps":
        return good - (score <= _BAD["nps"]).cast("int64")
    return good


def answers(
    con: BaseBackend,
    kind: Kind,
    merge: Merge = "all",
    since: Any = None,
    until: Any = None,
    feedback: ir.Table | None = None,
) -> ir.Table:
    """Survey answers of ``kind`` (``customer_id, ts, touchpoint, language, score, x``) in [since, until), from
    ``feedback`` (default: ``con``'s feedback table)."""
    fb = con.table("feedback") if feedback is None else feedback
    fb = fb.filter((fb.source == kind) & fb.score.notnull())
    if since is not None:
        fb = fb.filter(fb.ts >= pd.Timestamp(since))
    if until is not None:
        fb = fb.filter(fb.ts < pd.Timestamp(until))
    if merge == "latest":
        w = ibis.window(group_by=fb.customer_id, order_by=[ibis.desc(fb.ts), ibis.desc(fb.feedback_id)])
        fb = fb.mutate(_rank=ibis.row_number().over(w))
        fb = fb.filter(fb.customer_id.isnull() | (fb._rank == 0)).drop("_rank")
    fb = fb.select("feedback_id", "customer_id", "ts", "touchpoint", "language", "score")
    return fb.mutate(x=coded(kind, fb.score))


def _with_group(con: BaseBackend, t: ir.Table, by: str, config: Config) -> ir.Table:
    """``t`` plus ``group``: its own column, or the customer's attribute (country, acquisition channel, …)."""
    if by in ("touchpoint", "language"):
        return t.mutate(group=t[by].cast("string").fill_null("(none)"))
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    attr = person_attribute(con, journey_events(con, config), by)
    j = t.left_join(attr, t.customer_id == attr.person_id)
    return j.mutate(group=j.value.cast("string").fill_null("(none)")).drop("person_id", "value")


def score(
    con: BaseBackend,
    kind: Kind,
    *,
    by: str | None = None,
    period: str | None = None,
    merge: Merge = "all",
    since: Any = None,
    until: Any = None,
    level: float = 0.95,
    config: Config | None = None,
    feedback: ir.Table | None = None,
) -> ScoreResult:
    """NPS, CSAT or CES overall, per ``by`` value and/or per ``period`` (day, week, month, quarter, year), of
    ``feedback`` (a selection of ``con``'s feedback rows; default all of them)."""
    if kind not in KINDS:
        raise ValueError(f"unknown score {kind!r}: expected one of {', '.join(KINDS)}")
    if period is not None and period not in PERIODS:
        raise ValueError(f"unknown period {period!r}: expected one of {', '.join(PERIODS)}")
    t = answers(con, kind, merge, since, until, feedback)
    keys: list[str] = []
    if by is not None:
        t = _with_group(con, t, by, config or Config.default())
        keys.append("group")
    if period is not None:
        t = t.mutate(
            period=t.ts.truncate({"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}[period])
        )
        keys.append("period")
    if "voice_texts" in con.list_tables():  # comments read by `cxlab voice analyze`: mixed ones counted apart
        v = con.table("voice_texts").select("feedback_id", comment="label")
        t = t.left_join(v, "feedback_id").drop("feedback_id_right")
    else:
        t = t.mutate(comment=ibis.null("string"))
    agg = dict(
        n=t.count(),
        good=(t.score >= _GOOD[kind]).cast("int64").sum(),
        bad=(t.score <= _BAD.get(kind, -1)).cast("int64").sum(),
        total=t.score.sum(),
        total_sq=(t.score * t.score).sum(),
        comments=t.comment.notnull().cast("int64").sum(),
        mixed_comments=(t.comment == MIXED).fill_null(False).cast("int64").sum(),
    )
    q = t.group_by(keys).aggregate(**agg) if keys else t.aggregate(**agg)
    counts = q.execute()
    if keys:
        counts = counts.sort_values(keys).reset_index(drop=True)
    return ScoreResult(kind, score_table(kind, counts, level), by, period, level, merge)


def score_table(kind: Kind, counts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Scores and intervals from counts (``n, good, bad, total, total_sq`` per row)."""
    c = counts[counts["n"] > 0].copy()
    n = c["n"].to_numpy(float)
    good, bad = c["good"].to_numpy(float), c["bad"].to_numpy(float)
    mean = c["total"].to_numpy(float) / n
    var = np.maximum(c["total_sq"].to_numpy(float) / n - mean**2, 0.0) * n / np.maximum(n - 1, 1)
    half_t = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * np.sqrt(var / n)
    if kind == "nps":
        p, d = good / n, bad / n
        nps = p - d
        se = np.sqrt(np.maximum(p + d - nps**2, 0.0) / n)
        lo, hi = nps_interval(good, bad, n, level)
        c["promoters"], c["passives"], c["detractors"] = (
            good.astype(int),
            (n - good - bad).astype(int),
            bad.astype(int),
        )
        c["score"], c["ci_low"], c["ci_high"] = 100 * nps, 100 * lo, 100 * hi
        c["se"] = 100 * se
    else:
        lo, hi = wilson_interval(good, n, level)
        c["score"], c["ci_low"], c["ci_high"] = 100 * good / n, 100 * lo, 100 * hi
        c["se"] = 100 * np.sqrt(good / n * (1 - good / n) / n)
    c["mean_score"], c["mean_ci_low"], c["mean_ci_high"] = mean, mean - half_t, mean + half_t
    c.loc[c["n"] < MIN_ANSWERS, ["ci_low", "ci_high", "mean_ci_low", "mean_ci_high"]] = np.nan
    c["n"] = c["n"].astype(int)
    for col in ("comments", "mixed_comments"):
        c[col] = c[col].fillna(0).astype(int) if col in c else 0
    return c.drop(columns=["good", "bad", "total", "total_sq"]).reset_index(drop=True)


def nps_interval(
    promoters: NDArray[np.float64],
    detractors: NDArray[np.float64],
    n: NDArray[np.float64],
    level: float = 0.95,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Adjusted Wald interval of the NPS as a share (−1…1): ¾ added to promoters and to detractors, 3 to n
    (Rocks 2016), clipped to −1…1."""
    z = stats.norm.ppf(0.5 + level / 2)
    n_adj = n + 3
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    centre = p - d
    half = z * np.sqrt((p + d - centre**2) / n_adj)
    return np.maximum(centre - half, -1.0), np.minimum(centre + half, 1.0)


def score_format(kind: Kind) -> Callable[[Any], str]:
    """How a score of ``kind`` reads: NPS as a whole number (``26``), CSAT and CES as a percentage (``75%``)."""
    return whole if kind == "nps" else lambda x: pct(float(x) / 100, 0)


def score_sentence(kind: Kind, row: Mapping[Any, Any]) -> str:
    """One score in plain words, e.g. "NPS is 12: 38% promoters, 26% detractors (1,204 answers; range 8 to
    16)"; no trailing full stop."""
    show = score_format(kind)
    rng = score_range(row, show)
    tail = f"{count(row['n'])} answers; " + (rng if missing(row["ci_low"]) else f"range {rng}")
    if kind == "nps":
        n = float(row["n"])
        return (
            f"NPS is {whole(row['score'])}: {pct(row['promoters'] / n, 0)} promoters, "
            f"{pct(row['detractors'] / n, 0)} detractors ({tail})"
        )
    what = "are satisfied, 4–5 of 5" if kind == "csat" else "found it easy, 5–7 of 7"
    return f"{show(row['score'])} of {kind.upper()} answers {what} ({tail})"


def score_range(row: Mapping[Any, Any], show: Callable[[Any], str]) -> str:
    """A score's 95% range in words (``"24.2 to 28.7"``), or why there is none (``"too few answers (3) for a
    range"``). ``row``: one row of a score table; ``show`` formats one bound."""
    if missing(row["ci_low"]):
        return f"too few answers ({count(row['n'])}) for a range" if row["n"] < MIN_ANSWERS else DASH
    return f"{show(row['ci_low'])} to {show(row['ci_high'])}"


@dataclass(frozen=True)
class PeriodChange:
    """Did a score change between two periods? Two-sample z-test on the coded answers."""

    kind: Kind
    before: Mapping[str, float]
    after: Mapping[str, float]
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    level: float

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 1 - self.level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": "two-sample z-test on the coded answers (unequal variances)",
            "before": dict(self.before),
            "after": dict(self.after),
            "diff": self.diff,
            "ci": [self.ci_low, self.ci_high],
            "p_value": self.p_value,
            "significant": self.significant,
        }

    def summary(self) -> str:
        word = "changed" if self.significant else "did not change significantly"
        return (
            f"{self.kind.upper()} {word}: {self.before['score']:.1f} (n={int(self.before['n']):,}) → "
            f"{self.after['score']:.1f} (n={int(self.after['n']):,}), difference {self.diff:+.1f} "
            f"({int(self.level * 100)}% CI {self.ci_low:+.1f} to {self.ci_high:+.1f}), p = {self.p_value:.3g}; "
            "two-sample z-test."
        )


def compare_periods(
    con: BaseBackend,
    kind: Kind,
    before: tuple[Any, Any],
    after: tuple[Any, Any],
    *,
    merge: Merge = "all",
    level: float = 0.95,
) -> PeriodChange:
    """Score in ``after`` minus score in ``before`` (each ``(since, until)``), with a z-test and interval."""
    rows = []
    for since, until in (before, after):
        res = score(con, kind, merge=merge, since=since, until=until, level=level).table
        if res.empty:
            raise ValueError(f"no {kind} answers between {since} and {until}")
        rows.append(res.iloc[0])
    b, a = rows
    diff = float(a["score"] - b["score"])
    se = float(np.hypot(a["se"], b["se"]))
    z = stats.norm.ppf(0.5 + level / 2)
    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else float("nan")
    keep = ("score", "ci_low", "ci_high", "n")
    return PeriodChange(
        kind,
        {k: float(b[k]) for k in keep},
        {k: float(a[k]) for k in keep},
        diff,
        diff - z * se,
        diff + z * se,
        p,
        level,
    )
