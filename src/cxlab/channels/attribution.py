"""Attribution of conversions and value to channels: one entry point over every model, one result type.

``attribute(paths, "markov", order=2)`` runs a model on aggregated journeys (:class:`Paths`, from the
store or a paths file) and returns an :class:`Attribution`: per channel the attributed conversions and
value, their shares, the journeys that touch the channel and its touches (visits) in them, the conversions
attributed per touch (**attribution efficiency**: what a visit through the channel earns, comparable
across channels of very different reach), removal effects for Markov, and bootstrap intervals on request.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from cxlab.channels import heuristics as H
from cxlab.channels.bootstrap import bootstrap_intervals
from cxlab.channels.markov import MarkovChain, MarkovFit, build_chain, markov
from cxlab.channels.paths import Paths
from cxlab.channels.shapley import shapley
from cxlab.jsonable import jsonable

MODELS = ("first", "last", "last_non_direct", "linear", "position", "time_decay", "markov", "shapley")
Model = Literal["first", "last", "last_non_direct", "linear", "position", "time_decay", "markov", "shapley"]

METHODS = {
    "first": "first touch: each journey's conversions go to its first channel",
    "last": "last touch: each journey's conversions go to its last channel",
    "last_non_direct": "last non-direct touch: to the last channel that is not direct (direct if all are)",
    "linear": "linear: split equally over the journey's touches",
    "position": "position-based: {first:.0%} first touch, {last:.0%} last touch, the rest over the middle",
    "time_decay": "time decay: touch weight halves every {half_life} before the conversion",
    "markov": "Markov chain of order {order}, removal effects computed exactly from the absorbing chain",
    "shapley": "Shapley values over channel sets (Zhao et al. 2018, simplified): each journey split equally over "
    "its distinct channels (exact closed form)",
}


@dataclass(frozen=True)
class Options:
    """Model parameters (each model reads the ones it needs)."""

    order: int = 1
    """Markov order (1 to 3 recommended)."""
    first: float = 0.4
    last: float = 0.4
    """Position-based shares of the first and the last touch."""
    half_life_days: float = 7.0
    """Time decay on journeys from the store (real touch times)."""
    half_life_touches: float = 2.0
    """Time decay on a paths file (no times: steps before the conversion)."""
    direct: tuple[str, ...] = ("direct",)
    """Channels that last non-direct passes over."""
    max_steps: int | Literal["ca"] | None = None
    """Markov: cut journeys after this many states (``"ca"``: as ChannelAttribution); default exact."""


Fit = Callable[[Paths], dict[str, NDArray[np.float64]]]


def model_fit(model: str, options: Options) -> Fit:
    """The function that fits ``model`` to paths and returns per-channel arrays by name."""
    o = options

    def split(f: Callable[[Paths], H.Split]) -> Fit:
        def fit(p: Paths) -> dict[str, NDArray[np.float64]]:
            conv, value = f(p)
            return {"conversions": conv, "value": value}

        return fit

    if model == "first":
        return split(H.first_touch)
    if model == "last":
        return split(H.last_touch)
    if model == "last_non_direct":
        return split(lambda p: H.last_non_direct(p, o.direct))
    if model == "linear":
        return split(H.linear)
    if model == "position":
        return split(lambda p: H.position_based(p, o.first, o.last))
    if model == "time_decay":
        return split(lambda p: H.time_decay(p, o.half_life_days, o.half_life_touches))
    if model == "shapley":
        return split(shapley)
    if model == "markov":
        return lambda p: _markov_arrays(markov(p, o.order, o.max_steps))
    raise ValueError(f"unknown attribution model {model!r} (expected one of {', '.join(MODELS)})")


def _markov_arrays(m: MarkovFit) -> dict[str, NDArray[np.float64]]:
    return {
        "conversions": m.conversions,
        "value": m.value,
        "removal_effect": m.removal_effect,
        "removal_effect_value": m.removal_effect_value,
    }


@dataclass(frozen=True)
class Attribution:
    """Per-channel attribution of one model, with the totals it shares out."""

    model: str
    table: pd.DataFrame
    total_conversions: float
    total_value: float
    journeys: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    level: float | None = None
    bootstrap: int = 0
    p_conversion: float | None = None
    """Markov: the chain's probability that a journey converts."""
    transition_chain: Callable[[], MarkovChain] | None = field(default=None, repr=False)
    """Markov: gives the order-1 chain behind :attr:`transitions` (built on first use above order 1)."""
    currency: str | None = None
    """The currency of ``value`` (store journeys; a paths file's value has none stated)."""
    notes: tuple[str, ...] = ()
    """What the reader must know about the value (currency conversions, orders left out)."""

    @cached_property
    def transitions(self) -> pd.DataFrame | None:
        """Markov: the order-1 transition probabilities (for the heatmap)."""
        return None if self.transition_chain is None else self.transition_chain().transition_frame()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "model": self.model,
            "method": self.method,
            "params": self.params,
            "total_conversions": self.total_conversions,
            "total_value": self.total_value,
            "journeys": self.journeys,
            "currency": self.currency,
            "notes": list(self.notes),
            "channels": jsonable(self.table.to_dict(orient="records")),
        }
        if self.p_conversion is not None:
            doc["p_conversion"] = self.p_conversion
        if self.bootstrap:
            doc["interval"] = {
                "method": "percentile bootstrap over journeys",
                "level": self.level,
                "replicates": self.bootstrap,
            }
        return doc

    def summary(self) -> str:
        ci = f"; {self.level:.0%} bootstrap intervals ({self.bootstrap} replicates)" if self.bootstrap else ""
        value = f"; value in {self.currency}" if self.currency else ""
        text = (
            f"{self.method}; {self.total_conversions:,.0f} conversions over {self.journeys:,.0f} journeys "
            f"and {len(self.table)} channels{ci}{value}."
        )
        return " ".join([text, *(f"Note: {n}." for n in self.notes)])

    def figure(self) -> go.Figure:
        """Attributed conversions per channel (bars, with bootstrap intervals when computed)."""
        t = self.table.sort_values("conversions")
        err = None
        if "conversions_low" in t:
            err = {
                "type": "data",
                "symmetric": False,
                "array": t["conversions_high"] - t["conversions"],
                "arrayminus": t["conversions"] - t["conversions_low"],
            }
        fig = go.Figure(
            go.Bar(
                x=t["conversions"],
                y=[html.escape(str(c)) for c in t["channel"]],
                orientation="h",
                error_x=err,
                hovertemplate="%{y}: %{x:,.1f}<extra></extra>",
            )
        )
        fig.update_layout(
            title=f"Conversions attributed per channel ({self.model})",
            xaxis_title="attributed conversions",
            height=120 + 28 * len(t),
            margin={"t": 50},
        )
        return fig.update_yaxes(automargin=True)

    def heatmap(self) -> go.Figure | None:
        """Channel-to-channel transition probabilities (Markov only)."""
        if self.transitions is None:
            return None
        m = self.transitions
        fig = go.Figure(
            go.Heatmap(
                z=m.to_numpy(),
                x=[html.escape(str(c)) for c in m.columns],
                y=[html.escape(str(c)) for c in m.index],
                colorscale="Blues",
                zmin=0,
                zmax=1,
                hovertemplate="%{y} → %{x}: %{z:.1%}<extra></extra>",
            )
        )
        fig.update_layout(
            title="Channel transitions (share of each row's next steps)",
            yaxis={"autorange": "reversed"},
            height=160 + 26 * len(m),
            margin={"t": 50},
        )
        return fig.update_xaxes(automargin=True).update_yaxes(automargin=True)


def attribute(
    paths: Paths,
    model: str = "markov",
    options: Options | None = None,
    *,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
    **params: Any,
) -> Attribution:
    """Attribute the conversions and value of ``paths`` to channels with ``model``.

    Parameters go in ``options`` or as keywords (``order=2``, ``first=0.3``, ...); ``bootstrap=n`` adds
    ``level`` percentile intervals from ``n`` resamples of the journeys (seeded, so reproducible)."""
    o = Options(**{**(asdict(options) if options else {}), **params})
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r} (expected one of {', '.join(MODELS)})")
    if paths.n_paths == 0:
        raise ValueError(f"{paths.source}: no journeys to attribute")
    fit = model_fit(model, o)
    chain_fit = markov(paths, o.order, o.max_steps) if model == "markov" else None
    result = _markov_arrays(chain_fit) if chain_fit is not None else fit(paths)
    reach = paths.reach()
    total_c, total_v = paths.total_conversions, paths.total_value
    table = pd.DataFrame(
        {"channel": list(paths.channels), "conversions": result["conversions"], "value": result["value"]}
    )
    table["share"] = table["conversions"] / total_c if total_c > 0 else np.nan
    table["value_share"] = table["value"] / total_v if total_v > 0 else np.nan
    touches = paths.touch_counts()
    table["journeys"] = reach
    table["touches"] = touches
    table["efficiency"] = np.divide(
        table["conversions"].to_numpy(), touches, out=np.full(touches.size, np.nan), where=touches > 0
    )
    if model == "markov":
        table["removal_effect"] = result["removal_effect"]
        table["removal_effect_value"] = result["removal_effect_value"]
    if bootstrap:
        for name, (lo, hi) in bootstrap_intervals(paths, fit, bootstrap, level, seed).items():
            table[f"{name}_low"], table[f"{name}_high"] = lo, hi
    table = table.sort_values(["conversions", "channel"], ascending=[False, True], ignore_index=True)
    p_conv = transition_chain = None
    if chain_fit is not None:
        p_conv = chain_fit.p_conversion
        chain = chain_fit.chain
        transition_chain = (lambda: chain) if o.order == 1 else (lambda: build_chain(paths, 1))
    return Attribution(
        model=model,
        table=table,
        total_conversions=total_c,
        total_value=total_v,
        journeys=float(paths.journeys.sum()),
        method=_method(model, o, paths),
        params=_params(model, o, paths),
        level=level if bootstrap else None,
        bootstrap=bootstrap,
        p_conversion=p_conv,
        transition_chain=transition_chain,
        currency=paths.meta.get("currency"),
        notes=tuple(paths.meta.get("notes", ())),
    )


def _method(model: str, o: Options, paths: Paths) -> str:
    half_life = (
        f"{o.half_life_days:g} days" if paths.decay is not None else f"{o.half_life_touches:g} touches"
    )
    return METHODS[model].format(first=o.first, last=o.last, half_life=half_life, order=o.order)


def _params(model: str, o: Options, paths: Paths) -> dict[str, Any]:
    if model == "markov":
        return {"order": o.order, "max_steps": o.max_steps}
    if model == "position":
        return {"first": o.first, "last": o.last}
    if model == "time_decay":
        if paths.decay is not None:
            return {"half_life_days": o.half_life_days}
        return {"half_life_touches": o.half_life_touches}
    if model == "last_non_direct":
        return {"direct": list(o.direct)}
    return {}


def compare_models(
    paths: Paths, models: Sequence[str] = MODELS, options: Options | None = None
) -> pd.DataFrame:
    """Attributed conversions per channel (rows) under each model (columns)."""
    o = options or Options()
    cols = {m: model_fit(m, o)(paths)["conversions"] for m in models}
    return pd.DataFrame(cols, index=pd.Index(paths.channels, name="channel"))
