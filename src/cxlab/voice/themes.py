"""Themes: what customers talk about, found by clustering the stored embeddings, across languages.

* Texts are clustered **within each sentiment class**, so "rude service" and "helpful service" stay apart.
* Multilingual embeddings also encode the language itself, which would make clusters split by language
  rather than by topic. Subtracting each language's mean vector (within the class) removes that direction,
  so "pakket te laat", "pakken kom for sent" and "parcel arrived late" meet in one theme.
* k-means (scikit-learn) with k per class chosen by silhouette on a sample (:mod:`cxlab.stats.silhouette`);
  runs in seconds on 20k texts.
* Labels: top keywords per language by class-based TF-IDF (a word frequent in this theme and rare in the
  others), stop words removed (``stop-words`` lists); three representative quotes, the texts nearest the
  centre, in their original language.
* Each theme maps to the nearest topic of the seed taxonomy (``[voice.taxonomy]``), hence a touchpoint.
* Emerging negative themes: the latest week's count against the previous four weeks, relative to all
  feedback texts in each span (Poisson rate-ratio test, statsmodels ``test_poisson_2indep``), Holm-corrected.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from statsmodels.stats.rates import test_poisson_2indep
from stop_words import StopWordError, get_stop_words

from cxlab.errors import MissingData
from cxlab.stats.multitest import adjust_pvalues
from cxlab.stats.silhouette import choose_k
from cxlab.store import Store
from cxlab.voice.embeddings import Vectors, get_embedder
from cxlab.voice.settings import Topic, VoiceSettings, voice_settings
from cxlab.voice.tables import has_table, load_embeddings
from cxlab.voice.text import clean_text

CLASSES = ("negative", "positive", "neutral")
_WORD = r"(?u)\b[^\W\d_][^\W\d_'’-]+\b"


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
        return {
            "method": "k-means within each sentiment class on language-centred multilingual embeddings; "
            "keywords by class-based TF-IDF; emerging = Poisson rate-ratio test of the latest week vs the "
            "four before, Holm-corrected",
            "n_texts": self.n_texts,
            "themes": rows,
        }

    def summary(self) -> str:
        neg = self.table[self.table["sentiment"] == "negative"]
        emerging = int(self.table["emerging"].sum()) if len(self.table) else 0
        head = f"{len(self.table)} themes in {self.n_texts:,} feedback texts ({len(neg)} negative)"
        if len(neg):
            top = neg.iloc[0]
            head += (
                f"; the largest complaint: {top['label']} ({int(top['size']):,} texts, topic {top['topic']})"
            )
        return head + f"; {emerging} emerging negative theme{'s' if emerging != 1 else ''}."

    def figure(self) -> go.Figure:
        t = self.table.sort_values("size")
        colours = {"negative": "#d62728", "neutral": "#7f7f7f", "positive": "#2ca02c"}
        fig = go.Figure(
            go.Bar(
                x=t["size"], y=[html.escape(f"{lab} ({s})") for lab, s in zip(t["label"], t["sentiment"], strict=True)],
                orientation="h", marker_color=[colours[s] for s in t["sentiment"]],
                customdata=t["topic"], hovertemplate="%{y}<br>%{x} texts<br>topic %{customdata}<extra></extra>",
            )
        )  # fmt: skip
        fig.update_layout(
            title="Feedback themes", xaxis_title="texts", template="plotly_white", height=260 + 22 * len(t)
        )
        return fig


def _stop_words(language: str) -> list[str]:
    """The ``stop-words`` list of ``language`` (empty when it has none), as the tokenizer splits words."""
    try:
        words = get_stop_words(language)
    except StopWordError:
        return []
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
    """Top ``top`` words per theme and language by class-based TF-IDF (texts without a language: ``""``)."""
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
    return store.con.execute(
        """
        SELECT v.feedback_id, v.text_hash, v.language, v.label, v.p_negative, f.text, f.ts, f.touchpoint, f.source
        FROM voice_texts v JOIN feedback f USING (feedback_id)
        WHERE v.label IS NOT NULL ORDER BY v.feedback_id
        """
    ).df()


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


def _find_themes(
    store: Store, settings: VoiceSettings, k_range: tuple[int, int], min_texts: int, quotes: int, seed: int
) -> Themes:
    embedder = get_embedder(settings.embedder)
    df = _frame(store)
    if df.empty:
        raise MissingData("Feedback themes need analysed feedback texts: run `cxlab voice analyze` first")
    X = load_embeddings(store.con, embedder.name, df["text_hash"].tolist(), embedder.dim)
    corpus_mean = X.mean(axis=0)
    names, topic_vecs = _topic_vectors(settings.taxonomy, embedder.embed, corpus_mean)
    theme = np.full(len(df), -1, dtype=np.int64)
    rows: list[dict[str, Any]] = []
    next_id = 0
    for cls in CLASSES:
        sel = np.flatnonzero(df["label"].to_numpy() == cls)
        if len(sel) < min_texts:
            continue
        Z = centre_by_language(X[sel], df["language"].iloc[sel].tolist())
        k = theme_count(Z, k_range, seed)
        km = KMeans(k, n_init=4, random_state=seed).fit(Z)
        theme[sel] = km.labels_ + next_id
        for j in range(k):
            members = sel[km.labels_ == j]
            if len(members) == 0:
                continue
            dist = ((Z[km.labels_ == j] - km.cluster_centers_[j]) ** 2).sum(axis=1)
            order = members[np.argsort(dist)]
            picked: list[str] = []
            for i in order:
                t = str(df["text"].iloc[i])
                if t not in picked:
                    picked.append(t)
                if len(picked) == quotes:
                    break
            centroid = X[members].mean(axis=0) - corpus_mean
            centroid = centroid / np.linalg.norm(centroid)
            topic, sim = ("(none)", np.nan)
            if len(names):
                sims = topic_vecs @ centroid
                topic, sim = names[int(np.argmax(sims))], float(sims.max())
            tps = df["touchpoint"].iloc[members].dropna()
            rows.append(
                {
                    "theme": next_id + j,
                    "sentiment": cls,
                    "size": len(members),
                    "share": len(members) / len(df),
                    "topic": topic,
                    "topic_similarity": sim,
                    "touchpoint": settings.taxonomy[topic].touchpoint if topic in settings.taxonomy else None,
                    "data_touchpoint": tps.mode().iloc[0] if len(tps) else None,
                    "languages": df["language"].iloc[members].value_counts().to_dict(),
                    "quotes": picked,
                }
            )
        next_id += k
    table = pd.DataFrame(rows)
    if table.empty:
        raise MissingData(
            f"Feedback themes need at least {min_texts} analysed texts of one sentiment; the store has fewer"
        )
    kw = keywords(df["text"].map(clean_text).tolist(), theme, df["language"].tolist())
    table["keywords"] = pd.Series(
        [kw.get(int(t), {}) for t in table["theme"]], index=table.index, dtype=object
    )
    table["label"] = [
        _label(k, langs) for k, langs in zip(table["keywords"], table["languages"], strict=True)
    ]
    assigned = pd.DataFrame(
        {"feedback_id": df["feedback_id"], "theme": theme, "touchpoint": df["touchpoint"]}
    )
    table = _with_emerging(table, df, theme)
    table["_order"] = table["sentiment"].map({c: i for i, c in enumerate(CLASSES)})
    table = table.sort_values(["_order", "size"], ascending=[True, False]).drop(columns="_order")
    return Themes(table.reset_index(drop=True), assigned, len(df))


def _label(kw: Mapping[str, list[str]], languages: Mapping[str, int]) -> str:
    """A short label: the top words in the theme's most common language, e.g. "late · parcel · waiting"."""
    ranked = sorted((lang for lang in kw if kw[lang]), key=lambda lang: -languages.get(lang, 0))
    return " · ".join(kw[ranked[0]][:3]) if ranked else "(no keywords)"


def _with_emerging(table: pd.DataFrame, df: pd.DataFrame, theme: NDArray[np.int64]) -> pd.DataFrame:
    week = pd.to_datetime(df["ts"]).dt.to_period("W").dt.start_time
    neg = table.loc[table["sentiment"] == "negative", "theme"].tolist()
    counts = pd.crosstab(week, theme).reindex(columns=neg, fill_value=0)
    em = emerging(counts, week.value_counts().sort_index())
    table = table.merge(em[["theme", "growth", "p_adjusted", "emerging"]], on="theme", how="left")
    table["emerging"] = table["emerging"].fillna(False).astype(bool)
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
    """:func:`negative_themes` of the store's analysed feedback; empty before ``cxlab voice analyze``."""
    if not has_table(store.con, "voice_texts"):
        return {}
    try:
        return negative_themes(find_themes(store), top)
    except MissingData:  # too few texts to find themes
        return {}
