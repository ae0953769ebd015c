"""Plotly figures shared by the journey results: the stage × touchpoint grid and Sankey diagrams."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go


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
        share = "–" if pd.isna(share_next) else f"{float(share_next):.0%}"
        text[i][j] = f"{int(people):,} people<br>{share} on"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(stages),
            y=tps,
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
            node={"label": labels, "pad": 12, "thickness": 14},
            link={
                "source": [idx[s] for s in links[source].astype(str)],
                "target": [idx[t] for t in links[target].astype(str)],
                "value": links["value"].astype(float).tolist(),
            },
        )
    )
    fig.update_layout(title=title, height=480, margin={"l": 20, "r": 20, "t": 50, "b": 20})
    return fig
