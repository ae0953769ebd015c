"""Plotly figures shared by the journey results: the stage × touchpoint grid and Sankey diagrams.

Plotly renders labels and hover texts as HTML, so every name from the data is escaped (:func:`html.escape`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlab.display import count, pct


def grid_heatmap(table: pd.DataFrame, stages: Sequence[str], title: str) -> go.Figure:
    """Stages as columns, touchpoints as rows, colour = share reaching the next stage."""
    tps = list(dict.fromkeys(table.sort_values(["stage_idx", "touchpoint"])["touchpoint"]))
    z = np.full((len(tps), len(stages)), np.nan)
    text = [["" for _ in stages] for _ in tps]
    col = {s: i for i, s in enumerate(stages)}
    row = {t: i for i, t in enumerate(tps)}
    for tp, st, share_next, people in zip(
        table["touchpoint"], table["stage"], table["share_next"], table["people"], strict=True
    ):
        i, j = row[str(tp)], col[str(st)]
        z[i, j] = float(share_next)
        text[i][j] = f"{count(people)} people<br>{pct(share_next, 0)} on"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[html.escape(s) for s in stages],
            y=[html.escape(t) for t in tps],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            colorbar={"title": "reach next stage"},
            hovertemplate="%{y} (%{x})<br>%{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=160 + 26 * len(tps), margin={"l": 190, "r": 30, "t": 50, "b": 40})
    return fig


def sankey(links: pd.DataFrame, title: str, source: str = "source", target: str = "target") -> go.Figure:
    """A Sankey of ``links`` (source label, target label, ``value``)."""
    labels = list(dict.fromkeys([*links[source].astype(str), *links[target].astype(str)]))
    idx = {lab: i for i, lab in enumerate(labels)}
    fig = go.Figure(
        go.Sankey(
            node={"label": [html.escape(lab) for lab in labels], "pad": 12, "thickness": 14},
            link={
                "source": [idx[s] for s in links[source].astype(str)],
                "target": [idx[t] for t in links[target].astype(str)],
                "value": links["value"].astype(float).tolist(),
            },
        )
    )
    fig.update_layout(title=title, height=480, margin={"l": 20, "r": 20, "t": 50, "b": 20})
    return fig
