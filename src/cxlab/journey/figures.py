"""Plotly figures shared by the journey results: the stage × touchpoint grid, the stage-to-stage moves, and
step-by-step paths.

Plotly renders labels and hover texts as HTML, so every name from the data is escaped (:func:`html.escape`).
No figure sets a width or a fixed left margin: axis labels take the room they need (``automargin``).
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
        on = "last stage" if np.isnan(z[i, j]) else f"{pct(share_next, 0)} on"
        text[i][j] = f"{count(people)} people<br>{on}"
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
            colorbar={"title": "go on", "tickformat": ".0%"},
            hovertemplate="%{y} (%{x})<br>%{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(title=title, height=160 + 26 * len(tps))
    return fig


def flow_matrix(flows: pd.DataFrame, stages: Sequence[str], title: str) -> go.Figure:
    """People moving from one stage (rows) to another (columns), the number in each cell: a grid reads at
    any width where a Sankey of every move, backward ones included, is a tangle."""
    n = len(stages)
    z = np.full((n, n), np.nan)
    idx = {s: i for i, s in enumerate(stages)}
    for a, b, people in zip(flows["from_stage"], flows["to_stage"], flows["people"], strict=True):
        z[idx[str(a)], idx[str(b)]] = float(people)
    text = [["" if np.isnan(v) else count(v) for v in r] for r in z]
    names = [html.escape(s) for s in stages]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="from %{y} to %{x}: %{text} people<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True, title="from")
    fig.update_xaxes(side="top", title="to")
    fig.update_layout(title=title, height=160 + 40 * n)
    return fig


def step_sankey(links: pd.DataFrame, depth: int, title: str, per_step: int = 8) -> go.Figure:
    """A Sankey of paths by step: ``links`` has ``pos`` (0 = from step 1 to step 2), ``source``, ``target``,
    ``units``; the ``per_step`` biggest moves of each step are drawn. Each step is its own column, step 1 on
    the left: nodes are placed here, not left to the layout (which moves a node without incoming links to the
    first column), stacked from the top with the gaps the layout itself leaves, so none is cut off."""
    links = links.sort_values(["pos", "units"], ascending=[True, False]).groupby("pos").head(per_step)
    nodes: dict[tuple[int, str], int] = {}
    out: dict[tuple[int, str], float] = {}
    into: dict[tuple[int, str], float] = {}
    for pos, s, t, u in zip(links["pos"], links["source"], links["target"], links["units"], strict=True):
        a, b = (int(pos), str(s)), (int(pos) + 1, str(t))
        nodes.setdefault(a, len(nodes))
        nodes.setdefault(b, len(nodes))
        out[a] = out.get(a, 0.0) + float(u)
        into[b] = into.get(b, 0.0) + float(u)
    size = {k: max(out.get(k, 0.0), into.get(k, 0.0)) for k in nodes}  # a node is as tall as its bigger side
    columns = {
        step: sorted((k for k in nodes if k[0] == step), key=lambda k: -size[k]) for step in range(depth)
    }
    tallest = max((len(c) for c in columns.values()), default=1)
    height, pad, margin = 140 + 36 * tallest, 12, {"t": 60, "b": 40}  # room to spare if a shell changes them
    inner = height - margin["t"] - margin["b"]
    gap = pad / inner  # the layout's scale: the fullest column (values plus gaps) fills the height
    scale = min(
        ((1 - (len(c) - 1) * gap) / sum(size[k] for k in c) for c in columns.values() if c), default=1.0
    )
    xs, ys = [0.0] * len(nodes), [0.0] * len(nodes)
    for step, col in columns.items():
        top = 0.0
        for k in col:
            h = size[k] * scale
            xs[nodes[k]] = 0.001 + 0.998 * step / max(depth - 1, 1)
            ys[nodes[k]] = min(max(top + h / 2, 0.001), 0.999)
            top += h + gap
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={
                "label": [html.escape(name) for _, name in nodes],
                "x": xs,
                "y": ys,
                "pad": pad,
                "thickness": 14,
                "customdata": [f"step {pos + 1}" for pos, _ in nodes],
                "hovertemplate": "%{customdata}: %{label}<extra></extra>",
            },
            link={
                "source": [
                    nodes[(int(p), str(s))] for p, s in zip(links["pos"], links["source"], strict=True)
                ],
                "target": [
                    nodes[(int(p) + 1, str(t))] for p, t in zip(links["pos"], links["target"], strict=True)
                ],
                "value": links["units"].astype(float).tolist(),
            },
        )
    )
    fig.update_layout(
        title=f"{title} (columns: step 1 to step {depth}, left to right)", height=height, margin=margin
    )
    return fig
