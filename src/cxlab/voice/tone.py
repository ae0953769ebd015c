"""Tone of the shop's own messages: is the copy calm or pushy, and does every channel tell the same story?

For each message (e-mail, ad, SMS, site text …):

* **pressure** (0–1): probability of "pressure/urgency" from a logistic regression on the shipped anchor
  messages (``tone_anchors.toml``: calm service copy versus "LAST CHANCE! only today!"), multilingual like
  the sentiment head;
* **brand distance** (0–2): cosine distance between the message and the nearest statement of the brand
  proposition (``[voice] brand``, one statement per language: multilingual embeddings still sit closer to
  their own language, so a Danish e-mail is measured against the Danish statement). It measures what a message
  is about, not its stance: "no returns accepted" is about returns, so it sits close to "easy returns".

Outlying messages are flagged with the modified z-score (Iglewicz & Hoaglin: ``0.6745·(x − median)/MAD``
above 3.5) on either measure; channels whose mean differs from the other channels' are flagged by a Welch
t-test, Holm-corrected.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray
from scipy import stats
from sklearn.linear_model import LogisticRegression

from cxlab.config import Config
from cxlab.stats.multitest import adjust_pvalues
from cxlab.stats.peers import compare_with_peers
from cxlab.store.sources import SourceError, open_source
from cxlab.voice.embeddings import Embedder, get_embedder
from cxlab.voice.settings import voice_settings
from cxlab.voice.text import clean_text

OUTLIER_Z = 3.5


@dataclass(frozen=True)
class Tone:
    """Per message (``messages``) and per channel (``channels``) pressure and brand distance."""

    messages: pd.DataFrame
    channels: pd.DataFrame
    brand: list[str]
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            out = df.replace({np.nan: None}).to_dict(orient="records")
            return [
                {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in out
            ]

        return {
            "method": "pressure = P(urgent) from a logistic regression on anchor messages; brand distance = "
            "1 − cosine(message, brand proposition); outliers: modified z > 3.5; channels: Welch t-test vs the "
            "other channels, Holm",
            "brand": self.brand,
            "messages": rows(self.messages),
            "channels": rows(self.channels),
        }

    def summary(self) -> str:
        m = self.messages
        out = int(m["outlier"].sum())
        flagged = self.channels[self.channels["flag"] != ""]
        text = (
            f"{len(m):,} messages in {m['channel'].nunique()} channels; median pressure {m['pressure'].median():.2f}, "
            f"median brand distance {m['brand_distance'].median():.2f}; {out} outlying message{'s' if out != 1 else ''}"
        )
        if len(flagged):
            text += "; " + "; ".join(f"{r.channel}: {r.flag}" for r in flagged.itertuples())
        return text + "."

    def figure(self) -> go.Figure:
        m = self.messages
        fig = go.Figure()
        for ch, g in m.groupby("channel", sort=True):
            fig.add_scatter(
                x=g["brand_distance"], y=g["pressure"], mode="markers", name=str(ch),
                text=g["text"].str.slice(0, 80), hovertemplate="%{text}<extra>" + str(ch) + "</extra>",
                marker=dict(size=np.where(g["outlier"], 13, 8), line=dict(width=np.where(g["outlier"], 2, 0))),
            )  # fmt: skip
        fig.update_layout(
            title="Tone of the shop's messages", xaxis_title="distance from the brand proposition",
            yaxis_title="pressure / urgency", template="plotly_white",
        )  # fmt: skip
        return fig


def tone_anchors() -> tuple[list[str], NDArray[np.int64]]:
    """Anchor messages and labels (0 calm, 1 pressure) from the shipped ``tone_anchors.toml``."""
    data = tomllib.loads(resources.files("cxlab.voice").joinpath("tone_anchors.toml").read_text("utf-8"))
    texts: list[str] = []
    labels: list[int] = []
    for by in data.values():
        texts += by["calm"] + by["pressure"]
        labels += [0] * len(by["calm"]) + [1] * len(by["pressure"])
    return texts, np.asarray(labels, np.int64)


def modified_z(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Iglewicz–Hoaglin modified z-score; 0 everywhere when the MAD is 0."""
    mad = stats.median_abs_deviation(x)
    return np.zeros_like(x) if mad == 0 else 0.6745 * (x - np.median(x)) / mad


def read_messages(
    path: Path, text: str = "text", channel: str | None = "channel", allow_empty: bool = False
) -> pd.DataFrame:
    """Texts from a CSV, JSON Lines or Parquet file (optionally gzipped) with a text column (and a channel
    column, unless None); read by the ingest's reader, so bad rows are named by file, row and field. An empty
    text is an error unless ``allow_empty`` (then it is ``""``: customers leave comment boxes empty)."""
    with duckdb.connect() as con, open_source(con, path) as src:
        df = con.execute(f"SELECT * FROM {src.sql}").df()
        src.scanned()
        if src.dropped:
            d = src.dropped[0]
            raise SourceError(f"{src.name}:{d.row}: {d.field}: {d.message}")
        for col in (text, channel) if channel is not None else (text,):
            if col not in df.columns:
                raise SourceError(
                    f"{src.name}: no column {col!r} (columns: {', '.join(map(str, df.columns))})"
                )
        blank = df[text].isna() | (df[text].astype(str).str.strip() == "")
        empty = np.flatnonzero(blank.to_numpy())
        if allow_empty:
            df[text] = df[text].where(~blank, "")
        elif len(empty):
            raise SourceError(f"{src.name}:{src.row_number(int(empty[0]))}: {text}: missing required value")
    if channel is None:
        return df.rename(columns={text: "text"})
    out = df.rename(columns={text: "text", channel: "channel"})
    out["channel"] = out["channel"].fillna("(none)").astype(str)
    return out


def tone(
    messages: pd.DataFrame, config: Config, *, embedder: Embedder | None = None, alpha: float = 0.05
) -> Tone:
    """Pressure and brand distance of each message (columns ``channel``, ``text``) and per channel."""
    settings = voice_settings(config)
    brands = [clean_text(b) for b in settings.brand if clean_text(b)]
    if not brands:
        raise ValueError("cxlab.toml: voice.brand: set the brand proposition the tone check compares with")
    if messages.empty:
        raise ValueError("no messages to score")
    emb = embedder or get_embedder(settings.embedder)
    anchors, y = tone_anchors()
    model = LogisticRegression(C=4.0, max_iter=2000).fit(emb.embed([clean_text(a) for a in anchors]), y)
    X = emb.embed([clean_text(str(t)) for t in messages["text"]])
    brand = emb.embed(brands).astype(float)
    m = messages.copy()
    m["pressure"] = model.predict_proba(X)[:, 1]
    m["brand_distance"] = 1.0 - (X.astype(float) @ brand.T).max(axis=1)
    m["pressure_z"] = modified_z(m["pressure"].to_numpy(float))
    m["distance_z"] = modified_z(m["brand_distance"].to_numpy(float))
    m["outlier"] = (m["pressure_z"] > OUTLIER_Z) | (m["distance_z"] > OUTLIER_Z)
    return Tone(m, _channels(m, alpha), brands, alpha)


def _channels(m: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per channel: mean pressure and brand distance against the other channels pooled (Welch's t-test,
    :func:`cxlab.stats.peers.compare_with_peers`), Holm-corrected over both measures and all channels."""
    by = m["channel"]
    out = by.value_counts(sort=False).sort_index().rename_axis("channel").reset_index(name="n")
    for col in ("pressure", "brand_distance"):
        units = out.assign(
            group="all",
            total=m[col].groupby(by).sum().sort_index().to_numpy(),
            total_sq=(m[col] ** 2).groupby(by).sum().sort_index().to_numpy(),
        )
        cmp = compare_with_peers(units, kind="mean", name="channel", total_sq="total_sq")
        out[col], out[f"{col}_others"], out[f"{col}_p"] = cmp["value"], cmp["peer_value"], cmp["p_value"]
    adj = adjust_pvalues(out[["pressure_p", "brand_distance_p"]].to_numpy(float), "holm")
    out["pressure_p_adj"], out["brand_distance_p_adj"] = adj[:, 0], adj[:, 1]
    flags = []
    for r in out.to_dict(orient="records"):
        f = []
        if r["pressure_p_adj"] < alpha and r["pressure"] > r["pressure_others"]:
            f.append("more pressure than the other channels")
        if r["brand_distance_p_adj"] < alpha and r["brand_distance"] > r["brand_distance_others"]:
            f.append("further from the brand than the other channels")
        flags.append(", ".join(f))
    out["flag"] = flags
    return out
