"""Themes: what customers talk about, found by clustering the stored embeddings, across languages.

* Texts are clustered **within each sentiment class**, so "rude service" and "helpful service" stay apart. A
  text's class is the customer's own score where they gave a clear one (1–2 or 4–5 stars or CSAT, NPS 0–6 or
  9–10, CES 1–3 or 5–7), else the sentiment model's label: "the checkout only took a minute" with an easy CES
  answer is praise, whatever the model made of it. So a theme's sentiment is that of most of its texts.
* Multilingual embeddings also encode the language itself, which would make clusters split by language
  rather than by topic. Subtracting each language's mean vector (within the class) removes that direction,
  so "pakket te laat", "pakken kom for sent" and "parcel arrived late" meet in one theme.
* k-means (scikit-learn) with k per class chosen by silhouette on a sample (:mod:`cxlab.stats.silhouette`);
  runs in seconds on 20k texts.
* Names in English, the report's language (:func:`make_namer`): of the short names in ``theme_names.toml``
  (per taxonomy topic and sentiment), the one most of the theme's texts are nearest to (a vote; both measured
  from the corpus mean); the name's topic is the theme's topic, hence its touchpoint. Themes of one sentiment that
  get the same name are one theme. Without a taxonomy a theme is named by its keywords.
* Keywords per language by class-based TF-IDF (a word frequent in this theme and rare in the others), stop
  words (``stop-words`` lists) and filler words (``fillers.toml``: "erg", "echt", "sehr", "really") removed;
  quotes: the texts nearest the centre, in their original language, and one short one for tables.
* Emerging negative themes: the latest week's count against the previous four weeks, relative to all
  feedback texts in each span (Poisson rate-ratio test, statsmodels ``test_poisson_2indep``), Holm-corrected.
"""

from __future__ import annotations

import html
import re
import tomllib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from statsmodels.stats.rates import test_poisson_2indep
from stop_words import StopWordError, get_stop_words

from cxlab.display import count, pct
from cxlab.errors import MissingData
from cxlab.stats.multitest import adjust_pvalues
from cxlab.stats.silhouette import choose_k
from cxlab.store import Store
from cxlab.voice.analysis import ensure_analysed
from cxlab.voice.embeddings import Vectors, get_embedder
from cxlab.voice.sentiment import MIXED
from cxlab.voice.settings import Topic, VoiceSettings, voice_settings
from cxlab.voice.tables import load_embeddings, texts_with_feedback
from cxlab.voice.text import clean_text

CLASSES = ("negative", "positive", "neutral")
_WORD = r"(?u)\b[^\W\d_][^\W\d_'’-]+\b"
#: Longest quote shown in a table cell.
QUOTE_CHARS = 140
#: Scores that say the sentiment outright, per feedback source: (negative up to, positive from).
RATED: dict[str, tuple[float, float]] = {"review": (2, 4), "csat": (2, 4), "nps": (6, 9), "ces": (3, 5)}
METHOD = (
    "Texts are grouped within each sentiment (the customer's own score where it is clearly good or bad, else "
    "the sentiment model) by k-means on multilingual embeddings with each language's average removed, the "
    "number of groups chosen by silhouette. Each group is named by a vote of its texts among cxlab's English theme "
    "names (theme_names.toml), whose topic gives the touchpoint; keywords by class-based TF-IDF without stop and filler words. "
    "Growing: the latest week's count against the four weeks before, per feedback text (Poisson rate-ratio "
    "test, Holm-corrected, 5%)."
)


@dataclass(frozen=True)
class Themes:
    """Themes (``table``, one row per theme) and which theme each text belongs to (``assignments``)."""

    table: pd.DataFrame
    assignments: pd.DataFrame  # feedback_id, theme (-1: in a class too small to cluster), touchpoint
    n_texts: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for r in self.table.to_dict(orient="records"):
            rows.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()})
        return {"method": METHOD, "n_texts": self.n_texts, "themes": rows}

    @property
    def details(self) -> str:
        """How the themes were found (shown folded under the summary)."""
        return f"{METHOD} {count(self.n_texts)} feedback texts, {len(self.table)} themes."

    def summary(self) -> str:
        """What customers talk about most, in plain words."""
        t = self.table
        neg, pos = t[t["sentiment"] == "negative"], t[t["sentiment"] == "positive"]
        parts = [f"{count(self.n_texts)} feedback texts fall into {len(t)} themes."]
        if len(neg):
            top = neg.iloc[0]
            parts.append(
                f"The most common complaint is “{top['label']}” ({count(top['size'])} texts, "
                f"{pct(top['share'], 0)} of all)."
            )
        if len(pos):
            top = pos.iloc[0]
            parts.append(f"The most common praise is “{top['label']}” ({count(top['size'])} texts).")
        growing = t.loc[t["emerging"], "label"].tolist()
        if growing:
            parts.append("Growing fast this week: " + ", ".join(f"“{g}”" for g in growing) + ".")
        else:
            parts.append("No complaint is growing unusually fast this week.")
        return " ".join(parts)

    def figure(self) -> go.Figure:
        t = self.table.sort_values("size")
        colours = {"negative": "#d62728", "neutral": "#7f7f7f", "positive": "#2ca02c"}
        fig = go.Figure(
            go.Bar(
                x=t["size"], y=[html.escape(str(lab)) for lab in t["label"]],
                orientation="h", marker_color=[colours[s] for s in t["sentiment"]],
                customdata=t["sentiment"], hovertemplate="%{y}<br>%{x} texts, %{customdata}<extra></extra>",
            )
        )  # fmt: skip
        fig.update_layout(
            title="What customers talk about (red: complaints, green: praise, grey: mixed)",
            xaxis_title="feedback texts", template="plotly_white", height=260 + 22 * len(t),
        )  # fmt: skip
        return fig


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads(files("cxlab.voice").joinpath(name).read_text(encoding="utf-8"))


@cache
def filler_words() -> dict[str, frozenset[str]]:
    """Language → its filler words (``fillers.toml``): intensifiers, hedges, greetings, thanks."""
    return {lang: frozenset(w.lower() for w in words) for lang, words in _data("fillers.toml").items()}


@cache
def theme_names() -> dict[str, dict[str, tuple[str, ...]]]:
    """Topic → sentiment → English theme names (``theme_names.toml``)."""
    return {t: {c: tuple(v) for c, v in d.items()} for t, d in _data("theme_names.toml").items()}


def _stop_words(language: str) -> list[str]:
    """The ``stop-words`` list of ``language`` and its filler words, as the tokenizer splits words."""
    try:
        words = list(get_stop_words(language))
    except StopWordError:
        words = []
    words += filler_words().get(language, frozenset())
    return sorted({t for w in words for t in re.findall(_WORD, w.lower())})


def language_codes(languages: Sequence[str | float | None]) -> NDArray[np.object_]:
    """Each text's language code, ``""`` where none was detected (None, or NaN from a pandas column: a
    review of just "...." or emoji has no language)."""
    return np.asarray([x if isinstance(x, str) else "" for x in languages], dtype=object)


def centre_by_language(X: Vectors, languages: Sequence[str | float | None]) -> NDArray[np.float64]:
    """Each row minus its language's mean vector, renormalised (removes the language direction)."""
    out = np.asarray(X, dtype=np.float64).copy()
    lang = pd.Series(language_codes(languages))
    for _, idx in lang.groupby(lang).groups.items():
        ix = np.asarray(idx)
        out[ix] -= out[ix].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def text_classes(
    labels: Sequence[str], sources: Sequence[str], scores: Sequence[float]
) -> NDArray[np.object_]:
    """Each text's sentiment class: what the customer's score says where it is clearly good or bad
    (:data:`RATED`), else the model's ``label`` (a mixed text is clustered with the neutral ones: its themes
    read as "mixed" feelings)."""
    out = np.asarray(["neutral" if x == MIXED else x for x in labels], dtype=object)
    for i, (src, s) in enumerate(zip(sources, scores, strict=True)):
        if src in RATED and s is not None and np.isfinite(s):
            bad, good = RATED[src]
            out[i] = "negative" if s <= bad else "positive" if s >= good else out[i]
    return out


def theme_count(X: NDArray[np.float64], k_range: tuple[int, int], seed: int = 0, sample: int = 2000) -> int:
    """The k in ``k_range`` with the best silhouette on a sample of at most ``sample`` rows
    (:func:`cxlab.stats.silhouette.choose_k`; rows are unit vectors, so Euclidean distance orders texts as
    cosine distance does); with too few texts to score any k, as many themes as ``k_range`` allows."""
    lo, hi = k_range
    try:
        return choose_k(X, range(lo, hi + 1), seed=seed, sample=sample, n_init=1).k
    except ValueError:  # too few distinct texts to compare clusterings
        return max(1, min(lo, len(X)))


def keywords(
    texts: Sequence[str], themes: NDArray[np.int64], languages: Sequence[str | float | None], top: int = 5
) -> dict[int, dict[str, list[str]]]:
    """Top ``top`` words per theme and language by class-based TF-IDF (texts without a language: ``""``),
    without the language's stop and filler words."""
    out: dict[int, dict[str, list[str]]] = {int(t): {} for t in np.unique(themes)}
    lang = language_codes(languages)
    for code in sorted(set(lang)):
        sel = lang == code
        docs = pd.Series(np.asarray(texts, dtype=object)[sel]).groupby(themes[sel]).agg(" ".join)
        if docs.empty:
            continue
        vec = CountVectorizer(token_pattern=_WORD, stop_words=_stop_words(code) or None, lowercase=True)
        try:
            tf = vec.fit_transform(docs.to_numpy()).toarray().astype(float)
        except ValueError:  # nothing left after stop words
            continue
        words = vec.get_feature_names_out()
        freq = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1.0)
        idf = np.log1p(tf.sum() / np.maximum(tf.sum(axis=0), 1.0))
        score = freq * idf
        for row, theme in enumerate(docs.index):
            best = np.argsort(-score[row])[:top]
            out[int(theme)][code] = [str(words[i]) for i in best if tf[row, i] > 0]
    return out


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def _topic_vectors(
    topics: Mapping[str, Topic], embed: Any, centre: NDArray[np.float64]
) -> tuple[list[str], NDArray[np.float64]]:
    """Each topic's mean ``about`` embedding minus ``centre`` (the mean of all analysed texts), unit length.

    Embeddings share a large common direction (every text is "customer feedback"); measured from the corpus
    mean, a theme's centroid points at what sets it apart, so "the parcel was damaged" finds packaging rather
    than returns (the hand-written theme set: 6 of 6 issues mapped right, 5 of 6 without centring)."""
    names = list(topics)
    if not names:
        return [], np.empty((0, 0))
    vecs = []
    for name in names:
        v = np.asarray(embed([clean_text(a) for a in topics[name].about]), dtype=float).mean(axis=0) - centre
        vecs.append(v / np.linalg.norm(v))
    return names, np.vstack(vecs)


@dataclass(frozen=True)
class Namer:
    """Candidate English names with their topic and sentiment, embedded once per analysis."""

    names: list[str]
    topics: list[str]
    classes: list[str]
    vectors: NDArray[np.float64]  # one per name, minus the corpus mean, unit length

    def name(self, members: NDArray[np.float64], cls: str) -> tuple[str, str | None, float]:
        """The name most of a theme's texts are nearest to (``members``: their unit vectors, centred like the
        names'), among the names of sentiment ``cls``: first the topic with the most votes, then its name
        with the most; the topic and the share of the texts that voted for it;
        ``("", None, nan)`` without candidates. A vote of the texts rather than the name nearest their mean:
        a mean of texts in one language leans towards whatever that language's texts share, and a short
        English name alone is a weak pull (on the demo the vote names a Dutch checkout cluster "Quick and easy
        checkout" where the mean chose "Delivered on time")."""
        ok = np.flatnonzero(np.asarray(self.classes, dtype=object) == cls)
        if not len(ok) or not len(members):
            return "", None, float("nan")
        votes = np.bincount((members @ self.vectors[ok].T).argmax(axis=1), minlength=len(ok))
        topics = np.asarray([self.topics[i] for i in ok], dtype=object)
        per_topic = {t: int(votes[topics == t].sum()) for t in dict.fromkeys(topics)}
        topic = max(per_topic, key=lambda t: per_topic[t])  # topic first: its names don't split its votes
        j = max(np.flatnonzero(topics == topic), key=lambda j: votes[j])
        return self.names[int(ok[j])], topic, float(per_topic[topic] / len(members))


def _humanise(topic: str) -> str:
    """A topic key as words: ``customer_service`` → ``Customer service``."""
    return topic.replace("_", " ").strip().capitalize()


def make_namer(
    topics: Mapping[str, Topic], embed: Callable[[list[str]], Any], centre: NDArray[np.float64]
) -> Namer:
    """The :class:`Namer` for the shop's taxonomy: ``theme_names.toml``'s names of each topic; a topic the
    file doesn't know is one candidate per sentiment, named after the topic, placed at its ``about`` texts."""
    shipped = theme_names()
    topic_names, topic_vecs = _topic_vectors(
        {t: v for t, v in topics.items() if t not in shipped}, embed, centre
    )
    names: list[str] = []
    of: list[str] = []
    classes: list[str] = []
    for t in (t for t in topics if t in shipped):
        for cls in CLASSES:
            own = shipped[t].get(cls, ())
            names += own
            of += [t] * len(own)
            classes += [cls] * len(own)
    vecs = _unit(np.asarray(embed(names), dtype=float) - centre) if names else np.empty((0, len(centre)))
    for t, v in zip(topic_names, topic_vecs, strict=True):
        names += [_humanise(t)] * len(CLASSES)
        of += [t] * len(CLASSES)
        classes += list(CLASSES)
        vecs = np.vstack([vecs, np.tile(v, (len(CLASSES), 1))])
    return Namer(names, of, classes, vecs)


def short_quote(texts: Sequence[str], limit: int = QUOTE_CHARS) -> str:
    """The first of ``texts`` (nearest the theme's centre first) that fits ``limit`` characters; when none
    does, the first cut at a word boundary with an ellipsis."""
    for t in texts:
        if len(t) <= limit:
            return t
    if not texts:
        return ""
    cut = texts[0][: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def emerging(
    weekly: pd.DataFrame, all_weekly: pd.Series, alpha: float = 0.05, baseline_weeks: int = 4
) -> pd.DataFrame:
    """Per theme: latest-week count vs the ``baseline_weeks`` before, per feedback text (rate ratio test).

    ``weekly``: counts with index week (sorted) and one column per theme; ``all_weekly``: all texts per week.
    """
    cols = ["theme", "last_week", "last_week_n", "baseline", "baseline_n", "growth", "p_value", "p_adjusted"]
    if len(weekly) < 2:
        return pd.DataFrame(columns=[*cols, "emerging"])
    last = weekly.index[-1]
    base = weekly.index[-1 - baseline_weeks : -1]
    n1, n0 = float(all_weekly.loc[last]), float(all_weekly.loc[base].sum())
    rows = []
    for theme in weekly.columns:
        c1, c0 = float(weekly.loc[last, theme]), float(weekly.loc[base, theme].sum())
        if n1 <= 0 or n0 <= 0:
            continue
        with warnings.catch_warnings():  # a theme absent from the baseline has an infinite rate ratio
            warnings.simplefilter("ignore", RuntimeWarning)
            res = test_poisson_2indep(c1, n1, c0, n0, method="score", alternative="larger")
        rate0 = c0 / n0
        growth = (c1 / n1) / rate0 - 1 if rate0 > 0 else np.inf if c1 > 0 else 0.0
        rows.append((theme, c1, n1, c0, n0, growth, float(res.pvalue)))
    out = pd.DataFrame(rows, columns=cols[:-1])
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(float), "holm") if len(out) else []
    out["emerging"] = (out["p_adjusted"] < alpha) & (out["growth"] > 0)
    return out


def _frame(store: Store) -> pd.DataFrame:
    """The labelled texts with their feedback rows, read through the store's engine in ``feedback_id`` order
    (the clustering's input order: the same on every engine)."""
    t = texts_with_feedback(store)
    cols = [
        "feedback_id",
        "text_hash",
        "language",
        "label",
        "p_negative",
        "text",
        "ts",
        "touchpoint",
        "source",
        "score",
    ]
    return t.filter(t.label.notnull()).order_by("feedback_id").select(*cols).execute()


_CACHE: dict[tuple[Any, ...], Themes] = {}


def find_themes(
    store: Store,
    *,
    k_range: tuple[int, int] = (3, 10),
    min_texts: int = 20,
    quotes: int = 3,
    seed: int = 0,
) -> Themes:
    """Themes of the analysed feedback (run :func:`cxlab.voice.analysis.analyze_feedback` first). The result is kept
    for the process while the analysed texts and the settings stay the same (the report asks twice)."""
    settings = voice_settings(store.config)
    ((n, digest),) = store.con.execute(
        "SELECT count(*), sum(hash(feedback_id || coalesce(label, ''))) FROM voice_texts"
    ).fetchall()
    key = (str(store.path.resolve()), n, digest, settings.model_dump_json(), k_range, min_texts, quotes, seed)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _find_themes(store, settings, k_range, min_texts, quotes, seed)
    return _CACHE[key]


@dataclass
class _Cluster:
    cls: str
    members: NDArray[np.int64]  # row positions, nearest the centre first
    name: str
    topic: str | None
    similarity: float
    """The share of the cluster's texts that voted for its name."""


def _clusters(
    df: pd.DataFrame, X: Vectors, classes: NDArray[np.object_], namer: Namer, centre: NDArray[np.float64],
    k_range: tuple[int, int], min_texts: int, seed: int,
) -> list[_Cluster]:  # fmt: skip
    """k-means within each class; each cluster named, its members ordered by distance to its centre."""
    out: list[_Cluster] = []
    for cls in CLASSES:
        sel = np.flatnonzero(classes == cls)
        if len(sel) < min_texts:
            continue
        Z = centre_by_language(X[sel], df["language"].iloc[sel].tolist())
        k = theme_count(Z, k_range, seed)
        km = KMeans(k, n_init=4, random_state=seed).fit(Z)
        for j in range(k):
            inside = km.labels_ == j
            if not inside.any():
                continue
            dist = ((Z[inside] - km.cluster_centers_[j]) ** 2).sum(axis=1)
            members = sel[inside][np.argsort(dist, kind="stable")]
            name, topic, sim = namer.name(_unit(np.asarray(X[members], dtype=float) - centre), cls)
            out.append(_Cluster(cls, members, name, topic, sim))
    return out


def _merge_same_names(clusters: list[_Cluster]) -> list[_Cluster]:
    """Clusters of one sentiment with the same name as one theme (the largest first, its nearest texts first)."""
    groups: dict[tuple[str, str], list[_Cluster]] = {}
    for c in clusters:
        groups.setdefault((c.cls, c.name or str(id(c))), []).append(c)
    out = []
    for group in groups.values():
        group.sort(key=lambda c: -len(c.members))
        head = group[0]
        members = np.concatenate([c.members for c in group])
        out.append(_Cluster(head.cls, members, head.name, head.topic, head.similarity))
    return out


def _find_themes(
    store: Store, settings: VoiceSettings, k_range: tuple[int, int], min_texts: int, quotes: int, seed: int
) -> Themes:
    embedder = get_embedder(settings.embedder)
    df = _frame(store)
    if df.empty:
        raise MissingData("Feedback themes need analysed feedback texts: run `cxlab voice analyze` first")
    X = load_embeddings(store.con, embedder.name, df["text_hash"].tolist(), embedder.dim)
    corpus_mean = np.asarray(X, dtype=float).mean(axis=0)
    namer = make_namer(settings.taxonomy, embedder.embed, corpus_mean)
    classes = text_classes(df["label"].tolist(), df["source"].tolist(), df["score"].astype(float).tolist())
    clusters = _merge_same_names(_clusters(df, X, classes, namer, corpus_mean, k_range, min_texts, seed))
    if not clusters:
        raise MissingData(
            f"Feedback themes need at least {min_texts} analysed texts of one sentiment; the store has fewer"
        )
    theme = np.full(len(df), -1, dtype=np.int64)
    rows: list[dict[str, Any]] = []
    for i, c in enumerate(clusters):
        theme[c.members] = i
        texts = list(dict.fromkeys(str(df["text"].iloc[m]) for m in c.members[: 10 * quotes + 50]))
        tps = df["touchpoint"].iloc[c.members].dropna()
        rows.append(
            {
                "theme": i,
                "sentiment": c.cls,
                "size": len(c.members),
                "share": len(c.members) / len(df),
                "topic": c.topic or "(none)",
                "name_share": c.similarity,
                "touchpoint": settings.taxonomy[c.topic].touchpoint if c.topic in settings.taxonomy else None,
                "data_touchpoint": tps.mode().iloc[0] if len(tps) else None,
                "languages": df["language"].iloc[c.members].value_counts().to_dict(),
                "quotes": texts[:quotes],
                "quote": short_quote(texts),
                "name": c.name,
            }
        )
    table = pd.DataFrame(rows)
    kw = keywords(df["text"].map(clean_text).tolist(), theme, df["language"].tolist())
    table["keywords"] = pd.Series(
        [kw.get(int(t), {}) for t in table["theme"]], index=table.index, dtype=object
    )
    table["label"] = [
        name or _label(k, langs)
        for name, k, langs in zip(table.pop("name"), table["keywords"], table["languages"], strict=True)
    ]
    assigned = pd.DataFrame(
        {"feedback_id": df["feedback_id"], "theme": theme, "touchpoint": df["touchpoint"]}
    )
    table = _with_emerging(table, df, theme)
    table["_order"] = table["sentiment"].map({c: i for i, c in enumerate(CLASSES)})
    table = table.sort_values(["_order", "size"], ascending=[True, False]).drop(columns="_order")
    return Themes(table.reset_index(drop=True), assigned, len(df))


def _label(kw: Mapping[str, list[str]], languages: Mapping[str, int]) -> str:
    """A label without a taxonomy: the top words in the theme's most common language ("late · parcel")."""
    ranked = sorted((lang for lang in kw if kw[lang]), key=lambda lang: -languages.get(lang, 0))
    return " · ".join(kw[ranked[0]][:3]) if ranked else "(no keywords)"


def _with_emerging(table: pd.DataFrame, df: pd.DataFrame, theme: NDArray[np.int64]) -> pd.DataFrame:
    week = pd.to_datetime(df["ts"]).dt.to_period("W").dt.start_time
    neg = table.loc[table["sentiment"] == "negative", "theme"].tolist()
    counts = pd.crosstab(week, theme).reindex(columns=neg, fill_value=0)
    em = emerging(counts, week.value_counts().sort_index())
    table = table.merge(em[["theme", "growth", "p_adjusted", "emerging"]], on="theme", how="left")
    table["emerging"] = table["emerging"].astype("boolean").fillna(False).astype(bool)
    return table.rename(columns={"p_adjusted": "emerging_p"})


def negative_themes(themes: Themes, top: int = 3) -> dict[str, list[str]]:
    """Touchpoint → its largest negative themes there, as ``"label (n texts)"`` (SWOT evidence)."""
    t = themes.table
    neg = set(t.loc[t["sentiment"] == "negative", "theme"])
    labels = dict(zip(t["theme"].astype(int), t["label"].astype(str), strict=True))
    a = themes.assignments
    a = a[a["theme"].isin(neg) & a["touchpoint"].notna()]
    out: dict[str, list[str]] = {}
    for tp, g in a.groupby("touchpoint"):
        counts = g["theme"].value_counts().head(top)
        out[str(tp)] = [f"{labels[int(k)]} ({n} texts)" for k, n in counts.items()]  # type: ignore[call-overload]
    return out


def touchpoint_evidence(store: Store, top: int = 3) -> dict[str, list[str]]:
    """:func:`negative_themes` of the store's analysed feedback (:func:`ensure_analysed`); empty before
    ``cxlab voice analyze``."""
    if not ensure_analysed(store):
        return {}
    try:
        return negative_themes(find_themes(store), top)
    except MissingData:  # too few texts to find themes
        return {}
