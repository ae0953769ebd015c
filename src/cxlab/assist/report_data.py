"""How the assistant does as a touchpoint, from the events it records (:mod:`cxlab.assist.record`).

* **Answered**: per intent (the closest intent, ``guess``, where it handed over unsure what was asked) and
  language, the questions asked, answered and handed over (by reason); the answered share with a Wilson 95%
  interval.
* **Thumbs**: up and down on answers (a customer's last vote per answer counts), the helpful share per intent.
* **Came back within 48 h**: an answered question is *unsolved* when the same person (``customer_id``, else
  ``anonymous_id``) asks the assistant again in another conversation, or has a ``support_contact`` event,
  within 48 hours after the answer (a follow-up in the same conversation is the conversation going on). Only
  answers whose 48 hours lie inside the data count: a later one could still come back.
* **Gaps**: the questions handed over because it was unsure what they asked (``low_confidence``), grouped into
  topics the FAQ lacks with the voice themes' clustering (:mod:`cxlab.voice.themes`: multilingual embeddings
  with each language's mean removed, k-means, k by silhouette); with fewer than :data:`MIN_CLUSTER` different
  questions they are listed as they are.

Counts, joins and the 48-hour rule run in the engine (Ibis over ``events``; JSON properties read there); only
small aggregates and the gap questions' texts come back to Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend
from sklearn.cluster import KMeans

from cxlab.assist.record import EVENTS, TOUCHPOINT
from cxlab.display import count, pct
from cxlab.errors import MissingData
from cxlab.jsonable import jsonable
from cxlab.stats.proportions import wilson_interval
from cxlab.voice.embeddings import DEFAULT_EMBEDDER, Embedder, embed_all, get_embedder
from cxlab.voice.text import clean_text
from cxlab.voice.themes import centre_by_language, keywords, short_quote, theme_count

REPEAT_HOURS = 48
"""An answer followed by another contact within this many hours did not solve the question."""
SUPPORT_EVENT = "support_contact"
UNSURE = "low_confidence"
"""The hand-over reason of a question the assistant could not place: the gaps in its FAQ."""
UNCLEAR = "(unclear)"
"""The intent of an exchange that names neither an intent nor a closest one."""
MIN_CLUSTER = 5
"""Fewer different gap questions than this are listed rather than clustered."""
MAX_GAP_TEXTS = 2000
"""Different gap questions embedded at most (the most recent; each is embedded on the fly)."""
EXAMPLES = 3
QUOTE_LANGUAGE = "en"
"""The report's language: a gap topic is quoted with its nearest question in it, when it has one."""
GAP_COLUMNS = ["topic", "size", "examples", "quote", "languages"]
MAX_TOPICS = 10
REASON_WORDS = {
    "low_confidence": "unsure what was asked",
    "angry": "upset customer",
    "unknown_customer": "customer not identified",
    "no_orders": "no orders found",
    "late": "late order",
    "empty": "empty message",
}
"""Each hand-over reason as a shop owner would say it."""


def method(repeat_hours: int = REPEAT_HOURS) -> str:
    """How the report is measured, in a few sentences."""
    return (
        "Assistant events (touchpoint 'assistant'): each question with its answer or hand-over. Intent: the "
        "one answered, or the closest one where it handed over unsure. Shares with Wilson 95% intervals. "
        "Thumbs: a customer's last vote per answer. Unsolved: the same person (customer id, else anonymous id) "
        "asked the assistant again in another conversation or contacted support (event 'support_contact') "
        f"within {repeat_hours} h after an answer; answers less than {repeat_hours} h before the data ends are "
        "left out. Gaps: questions handed over as unsure, grouped like the feedback themes (multilingual "
        "embeddings with each language's mean removed, k-means, k by silhouette), labelled by their most "
        f"telling words (class-based TF-IDF); fewer than {MIN_CLUSTER} different ones are listed as they are."
    )


def intent_words(intent: str) -> str:
    """An intent id as words: ``order_status`` → ``order status``."""
    return intent.replace("_", " ")


def reason_words(reason: str) -> str:
    return REASON_WORDS.get(reason, reason.replace("_", " "))


@dataclass(frozen=True)
class AssistReport:
    """The assistant measured as a touchpoint; tables as described in :func:`assist_report`."""

    n_questions: int
    n_answered: int
    n_handed_over: int
    answered_low: float
    answered_high: float
    intents: pd.DataFrame
    """Per intent: asked, answered, handed_over, answered_share, ci_low, ci_high, one column per hand-over
    reason (``handed_<reason>``); most asked first."""
    languages: pd.DataFrame
    """The same per intent and language (without the reasons)."""
    handoffs: pd.DataFrame
    """Per intent and reason: handed_over."""
    thumbs: pd.DataFrame
    """Per intent: up, down, rated, helpful_share, ci_low, ci_high."""
    repeats: pd.DataFrame
    """Per intent: followed (answers whose window is in the data), unsolved, asked_again, support,
    unsolved_share, ci_low, ci_high."""
    gaps: pd.DataFrame
    """Per topic the FAQ lacks: topic, size (questions), examples (up to 3, nearest the topic's centre first),
    quote (the nearest in English, else the nearest, short), languages ({code: n})."""
    gaps_clustered: bool
    n_gap_questions: int
    horizon: dt.datetime
    """The newest event in the store: answers later than this minus ``repeat_hours`` are not followed."""
    since: dt.datetime | None = None
    embedder: str | None = None
    repeat_hours: int = REPEAT_HOURS

    TABLES: ClassVar[tuple[str, ...]] = ("intents", "languages", "handoffs", "thumbs", "repeats", "gaps")

    @property
    def method(self) -> str:
        return method(self.repeat_hours)

    @property
    def answered_share(self) -> float:
        return self.n_answered / self.n_questions if self.n_questions else float("nan")

    def total(self, table: str) -> dict[str, Any]:
        """The overall row of ``thumbs`` or ``repeats`` (counts summed, share and interval recomputed)."""
        t = getattr(self, table)
        hits, n = ("up", "rated") if table == "thumbs" else ("unsolved", "followed")
        k, m = int(t[hits].sum()) if len(t) else 0, int(t[n].sum()) if len(t) else 0
        lo, hi = wilson_interval([k], [m])
        return {hits: k, n: m, "share": k / m if m else float("nan"), "ci_low": lo[0], "ci_high": hi[0]}

    def to_frame(self, table: str = "intents") -> pd.DataFrame:
        """One of :attr:`TABLES` as a data frame (a copy)."""
        if table not in self.TABLES:
            raise ValueError(f"unknown table {table!r} (expected one of {', '.join(self.TABLES)})")
        return pd.DataFrame(getattr(self, table)).copy()

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name."""
        return {name: self.to_frame(name) for name in self.TABLES}

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "method": self.method,
            "since": self.since,
            "horizon": self.horizon,
            "questions": self.n_questions,
            "answered": self.n_answered,
            "handed_over": self.n_handed_over,
            "answered_share": self.answered_share,
            "answered_ci": [self.answered_low, self.answered_high],
            "thumbs": self.total("thumbs"),
            "unsolved": self.total("repeats"),
            "repeat_hours": self.repeat_hours,
            "gap_questions": self.n_gap_questions,
            "gaps_clustered": self.gaps_clustered,
            "embedder": self.embedder,
            "tables": {name: t.to_dict(orient="records") for name, t in self.frames().items()},
        }
        return dict(jsonable(doc))

    def summary(self) -> str:
        """What was found in plain words, with the method and n."""
        parts = [
            f"The assistant answered {pct(self.answered_share, 0)} of {count(self.n_questions)} questions "
            f"(95% interval {pct(self.answered_low, 0)} to {pct(self.answered_high, 0)}) and handed "
            f"{count(self.n_handed_over)} over."
        ]
        most = most_handed_over(self)
        if most:
            parts.append(f"Handed over most: {most}.")
        unsure = self.handoffs.loc[self.handoffs["reason"] == UNSURE, "handed_over"].sum()
        if unsure:
            parts.append(f"{count(unsure)} it could not place.")
        rep = self.total("repeats")
        if rep["followed"]:
            parts.append(
                f"{pct(rep['share'], 0)} of {count(rep['followed'])} answered questions came back within "
                f"{self.repeat_hours} h (asked again or contacted support)."
            )
        th = self.total("thumbs")
        if th["rated"]:
            parts.append(f"{pct(th['share'], 0)} of {count(th['rated'])} thumbs were up.")
        if len(self.gaps):
            parts.append(f"Questions it could not place: {gap_words(self)}.")
        return " ".join(parts) + f" Method: {self.method}"


def most_handed_over(r: AssistReport, top: int = 3) -> str:
    """The intents handed over most for a reason other than being unsure what was asked (those are the
    gaps), each with its reasons: ``order status (late order 12, customer not identified 3)``."""
    h = r.handoffs[r.handoffs["reason"] != UNSURE]
    per = h.groupby("intent")["handed_over"].sum().reset_index()
    per = per.sort_values(["handed_over", "intent"], ascending=[False, True])
    out = []
    for intent in per["intent"].head(top):
        mine = h[h["intent"] == intent].sort_values(["handed_over", "reason"], ascending=[False, True])
        why = ", ".join(f"{reason_words(str(x.reason))} {count(x.handed_over)}" for x in mine.itertuples())
        out.append(f"{intent_words(str(intent))} ({why})")
    return out[0] if len(out) == 1 else ", ".join(out[:-1]) + f" and {out[-1]}" if out else ""


def gap_words(r: AssistReport, top: int = 3) -> str:
    """The largest gap topics: ``“gift · wrapping” (34×, e.g. “Do you gift wrap?”)``; listed questions as
    they are: ``“Do you gift wrap?” (2×)``."""
    out = []
    for g in r.gaps.head(top).itertuples():
        eg = f", e.g. “{short_quote([str(g.quote)], 80)}”" if r.gaps_clustered and g.quote else ""
        out.append(f"“{g.topic}” ({count(g.size)}×{eg})")
    return "; ".join(out)


# ------------------------------------------------------------------ engine side


def _assistant_events(con: BaseBackend) -> ir.Table:
    """The assistant's events with their JSON properties as columns and ``person``."""
    e = con.table("events")
    e = e.filter(e.touchpoint == TOUCHPOINT, e.event.isin(list(EVENTS)))
    p = e.properties.cast("json")
    return e.select(
        "event_id",
        "ts",
        "event",
        person=e.customer_id.coalesce(e.anonymous_id),
        conversation=p["conversation"].str,
        text=p["text"].str,
        language=p["language"].str,
        question=p["question"].str,
        intent=p["intent"].str,
        guess=p["guess"].str,
        reason=p["reason"].str,
        answer=p["answer"].str,
        helpful=p["helpful"].bool,
    )


def _outcomes(ev: ir.Table, since: dt.datetime | None) -> ir.Table:
    """Answers and hand-overs (in the period), each with ``topic`` (intent, else the closest one)."""
    o = ev.filter(ev.event.isin(["assist_answer", "assist_handoff"]))
    if since is not None:
        o = o.filter(o.ts >= since)
    return o.mutate(
        topic=o.intent.coalesce(o.guess, ibis.literal(UNCLEAR)),
        language=o.language.fill_null("(unknown)"),
        answered=(o.event == "assist_answer").cast("int64"),
        handed=(o.event == "assist_handoff").cast("int64"),
    )


def _with_interval(df: pd.DataFrame, hits: str, n: str, share: str) -> pd.DataFrame:
    lo, hi = wilson_interval(df[hits].to_numpy(float), df[n].to_numpy(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        df[share] = np.where(df[n] > 0, df[hits] / df[n].where(df[n] > 0, 1), np.nan)
    df["ci_low"], df["ci_high"] = lo, hi
    return df


def _counts(o: ir.Table) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per intent and language, per intent (with reasons), and per intent and reason."""
    by = (
        o.group_by(["topic", "language"])
        .aggregate(asked=o.count(), answered=o.answered.sum(), handed_over=o.handed.sum())
        .to_pandas()
        .rename(columns={"topic": "intent"})
    )
    for c in ("asked", "answered", "handed_over"):
        by[c] = by[c].astype("int64")
    h = o.filter(o.handed == 1)
    reasons = (
        h.group_by(["topic", h.reason.fill_null("unknown").name("reason")])
        .aggregate(handed_over=h.count())
        .to_pandas()
        .rename(columns={"topic": "intent"})
    )
    reasons["handed_over"] = reasons["handed_over"].astype("int64")
    reasons = reasons.sort_values(["intent", "handed_over", "reason"], ascending=[True, False, True])
    intents = by.groupby("intent", as_index=False)[["asked", "answered", "handed_over"]].sum()
    intents = _with_interval(intents, "answered", "asked", "answered_share")
    wide = reasons.pivot_table(index="intent", columns="reason", values="handed_over", aggfunc="sum")
    for reason in wide.columns:
        col = wide[reason].reindex(intents["intent"]).fillna(0).astype("int64").to_numpy()
        intents[f"handed_{reason}"] = col
    intents = intents.sort_values(["asked", "intent"], ascending=[False, True]).reset_index(drop=True)
    by = _with_interval(by, "answered", "asked", "answered_share")
    by = by.sort_values(["intent", "asked", "language"], ascending=[True, False, True]).reset_index(drop=True)
    return intents, by, reasons.reset_index(drop=True)


def _thumbs(ev: ir.Table, o: ir.Table) -> pd.DataFrame:
    """Per intent: the last vote of each answer voted on, up and down."""
    f = ev.filter((ev.event == "assist_feedback") & ev.helpful.notnull() & ev.answer.notnull())
    w = ibis.window(group_by=f.answer, order_by=[ibis.desc(f.ts), ibis.desc(f.event_id)])
    f = f.mutate(_rank=ibis.row_number().over(w))
    last = f.filter(f._rank == 0).select(voted=f.answer, helpful=f.helpful)
    j = o.select("event_id", "topic").join(last, o.event_id == last.voted)
    df = (
        j.group_by("topic")
        .aggregate(up=j.helpful.cast("int64").sum(), rated=j.count())
        .to_pandas()
        .rename(columns={"topic": "intent"})
    )
    df["up"], df["rated"] = df["up"].astype("int64"), df["rated"].astype("int64")
    df.insert(2, "down", df["rated"] - df["up"])
    df = _with_interval(df, "up", "rated", "helpful_share")
    return df.sort_values(["rated", "intent"], ascending=[False, True]).reset_index(drop=True)


def _repeats(
    con: BaseBackend, ev: ir.Table, o: ir.Table, horizon: dt.datetime, repeat_hours: int
) -> pd.DataFrame:
    """Per intent: answers followed for ``repeat_hours`` and those followed by another contact then (the
    end of the window included)."""
    window = ibis.interval(hours=repeat_hours)
    a = o.filter((o.event == "assist_answer") & o.person.notnull())
    a = a.filter(a.ts + window <= ibis.literal(horizon))
    a = a.select(aid=a.event_id, a_ts=a.ts, a_person=a.person, a_conv=a.conversation, topic=a.topic)
    q = ev.filter(ev.event == "assist_question")
    later = q.select(c_person=q.person, c_ts=q.ts, c_conv=q.conversation, support=ibis.literal(0, "int64"))
    e = con.table("events")
    s = e.filter(e.event == SUPPORT_EVENT)
    later = later.union(
        s.select(
            c_person=s.customer_id.coalesce(s.anonymous_id),
            c_ts=s.ts,
            c_conv=ibis.null("string"),
            support=ibis.literal(1, "int64"),
        )
    )
    hit = a.join(
        later,
        [
            a.a_person == later.c_person,
            later.c_ts > a.a_ts,
            later.c_ts <= a.a_ts + window,
            (later.support == 1) | (later.c_conv != a.a_conv),
        ],
    )
    per_answer = hit.group_by(h_aid=hit.aid).aggregate(
        h_support=hit.support.max(), h_again=(1 - hit.support).max()
    )
    j = a.left_join(per_answer, a.aid == per_answer.h_aid)
    j = j.mutate(
        _unsolved=j.h_aid.notnull().cast("int64"),
        _again=j.h_again.fill_null(0),
        _support=j.h_support.fill_null(0),
    )
    df = (
        j.group_by("topic")
        .aggregate(
            followed=j.count(),
            unsolved=j._unsolved.sum(),
            asked_again=j._again.sum(),
            support=j._support.sum(),
        )
        .to_pandas()
        .rename(columns={"topic": "intent"})
    )
    for c in ("followed", "unsolved", "asked_again", "support"):
        df[c] = df[c].astype("int64")
    df = _with_interval(df, "unsolved", "followed", "unsolved_share")
    return df.sort_values(["followed", "intent"], ascending=[False, True]).reset_index(drop=True)


def _gap_texts(ev: ir.Table, o: ir.Table) -> tuple[pd.DataFrame, int]:
    """The different questions handed over as unsure (most recent first, at most :data:`MAX_GAP_TEXTS`),
    with how often each was asked and its language; and how many such questions there were."""
    h = o.filter((o.event == "assist_handoff") & (o.reason == UNSURE)).select(
        q_id=o.question, q_lang=o.language
    )
    q = ev.filter(ev.event == "assist_question")
    j = h.join(q, h.q_id == q.event_id)
    j = j.filter(j.text.notnull())
    n = int(j.count().to_pandas())
    g = j.group_by(["text", j.q_lang.name("language")]).aggregate(n=j.count(), last=j.ts.max())
    df = g.order_by([ibis.desc("last"), "text"]).limit(MAX_GAP_TEXTS).to_pandas()
    df["n"] = df["n"].astype("int64")
    return df.drop(columns="last"), n


def _listed(texts: pd.DataFrame) -> pd.DataFrame:
    """Each different gap question as its own row (too few to cluster)."""
    t = texts.sort_values(["n", "text"], ascending=[False, True])
    return pd.DataFrame(
        {
            "topic": [short_quote([str(x)]) for x in t["text"]],
            "size": t["n"].astype("int64").to_numpy(),
            "examples": [[str(x)] for x in t["text"]],
            "quote": [short_quote([str(x)]) for x in t["text"]],
            "languages": [{str(lang): int(n)} for lang, n in zip(t["language"], t["n"], strict=True)],
        }
    )


def _label(texts: Sequence[str], theme: np.ndarray, languages: Sequence[str], sizes: dict[str, int]) -> str:
    """The top words of one cluster in its most common language (``gift · wrapping``), as the themes label
    a theme without a taxonomy."""
    kw = keywords(texts, theme, languages).get(1, {})
    ranked = sorted((lang for lang in kw if kw[lang]), key=lambda lang: -sizes.get(lang, 0))
    return " · ".join(kw[ranked[0]][:3]) if ranked else ""


def _clustered(texts: pd.DataFrame, embedder: Embedder, seed: int) -> pd.DataFrame:
    """The gap questions clustered as the feedback themes are, weighted by how often each was asked."""
    words = [clean_text(str(x)) for x in texts["text"]]
    langs = [str(x) for x in texts["language"]]
    X = np.asarray(embed_all(embedder, words), dtype=float)
    Z = centre_by_language(X, langs)
    hi = max(2, min(MAX_TOPICS, len(texts) // 3))
    k = theme_count(Z, (2, hi), seed)
    weights = texts["n"].to_numpy(float)
    km = KMeans(k, n_init=4, random_state=seed).fit(Z, sample_weight=weights)
    rows = []
    for j in range(k):
        inside = np.flatnonzero(km.labels_ == j)
        if not len(inside):
            continue
        dist = ((Z[inside] - km.cluster_centers_[j]) ** 2).sum(axis=1)
        members = inside[np.argsort(dist, kind="stable")]
        examples = [str(texts["text"].iloc[m]) for m in members[:EXAMPLES]]
        english = [str(texts["text"].iloc[m]) for m in members if texts["language"].iloc[m] == QUOTE_LANGUAGE]
        sizes = {str(k): int(v) for k, v in texts.iloc[members].groupby("language")["n"].sum().items()}
        mine = (km.labels_ == j).astype(np.int64)
        rows.append(
            {
                "topic": _label(words, mine, langs, sizes) or short_quote(examples),
                "size": int(weights[members].sum()),
                "examples": examples,
                "quote": short_quote(english or examples),
                "languages": {str(lang): int(v) for lang, v in sorted(sizes.items(), key=lambda x: -x[1])},
            }
        )
    out = pd.DataFrame(rows, columns=GAP_COLUMNS)
    return out.sort_values(["size", "topic"], ascending=[False, True]).reset_index(drop=True)


def _horizon(con: BaseBackend) -> dt.datetime:
    """The newest event's time (the store's events reach this far)."""
    e = con.table("events")
    v = e.ts.max().to_pandas()
    return dt.datetime.min if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()


def _naive_utc(at: dt.datetime | dt.date | None) -> dt.datetime | None:
    if at is None:
        return None
    if not isinstance(at, dt.datetime):
        return dt.datetime(at.year, at.month, at.day)
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def assist_report(
    con: BaseBackend,
    *,
    since: dt.datetime | dt.date | None = None,
    embedder: Embedder | str | None = None,
    repeat_hours: int = REPEAT_HOURS,
    seed: int = 0,
) -> AssistReport:
    """The assistant as a touchpoint: answered, thumbs, came back within ``repeat_hours`` and the gaps
    in its FAQ, for exchanges from ``since`` on (all by default; timestamps in UTC). ``embedder`` (or its
    name, as ``[voice] embedder`` gives it; default cxlab's default) clusters the gap questions; one given by
    name is loaded only when there are enough of them to cluster.
    Raises :class:`MissingData` when the store holds no assistant exchanges."""
    start = _naive_utc(since)
    if "events" not in con.list_tables():
        raise MissingData("The assistant report needs events: this store has no events table")
    ev = _assistant_events(con)
    o = _outcomes(ev, start)
    n = int(o.count().to_pandas())
    if n == 0:
        when = f" since {start:%Y-%m-%d %H:%M}" if start else ""
        raise MissingData(
            f"The assistant report needs the assistant's conversations: the store holds none{when}; run "
            "`cxlab assist ask` or serve the widget first"
        )
    intents, languages, reasons = _counts(o)
    answered, handed = int(intents["answered"].sum()), int(intents["handed_over"].sum())
    lo, hi = wilson_interval([answered], [n])
    horizon = _horizon(con)
    texts, n_gap = _gap_texts(ev, o)
    clustered = len(texts) >= MIN_CLUSTER
    model = None
    if clustered:
        emb = (
            get_embedder(embedder or DEFAULT_EMBEDDER)
            if embedder is None or isinstance(embedder, str)
            else embedder
        )
        model = emb.name
        gaps = _clustered(texts, emb, seed)
    else:
        gaps = _listed(texts)
    return AssistReport(
        n_questions=n,
        n_answered=answered,
        n_handed_over=handed,
        answered_low=float(lo[0]),
        answered_high=float(hi[0]),
        intents=intents,
        languages=languages,
        handoffs=reasons,
        thumbs=_thumbs(ev, o),
        repeats=_repeats(con, ev, o, horizon, repeat_hours),
        gaps=gaps,
        gaps_clustered=clustered,
        n_gap_questions=n_gap,
        horizon=horizon,
        since=start,
        embedder=model,
        repeat_hours=repeat_hours,
    )
