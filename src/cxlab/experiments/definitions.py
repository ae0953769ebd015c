"""Metric definitions: the ``[metrics.*]`` section of ``cxlab.toml``, parsed and checked.

Each metric is measured per exposed customer, counting what happens after their exposure (within a
window), and optionally the same quantity before it (the CUPED covariate). A store whose ``cxlab.toml``
has no ``[metrics]`` section gets :data:`DEFAULT_METRICS_TOML`.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxlab.config import Config, ConfigError

DEFAULT_METRICS_TOML = """\
# Experiment metrics: what `cxlab experiment analyze` measures per exposed customer after exposure.
# type: proportion (did it happen: 0/1), mean (how much per customer), ratio (sum over sum, delta method).
# source: events (filtered by event and/or touchpoint) or orders; value: count, revenue or any (0/1).
# window: what counts after exposure: "same_day" (until midnight UTC), "7d", "48h", or "all".
# cuped = true: the same value over pre_window before exposure is a covariate (less variance, same answer).
# match_property: only events whose properties.<name> equals that of the exposure event at the touchpoint.
# guardrail = true: must not get worse; inverse = true: lower is better.
[metrics.conversion]
description = "Share of exposed customers who order within 30 days"
type = "proportion"
source = "orders"
window = "30d"
cuped = true

[metrics.orders_per_user]
description = "Orders per exposed customer within 30 days"
type = "mean"
source = "orders"
value = "count"
window = "30d"
cuped = true

[metrics.revenue_per_user]
description = "Revenue per exposed customer within 30 days"
type = "mean"
source = "orders"
value = "revenue"
window = "30d"
cuped = true

[metrics.revenue_per_order]
description = "Average order value of orders within 30 days"
type = "ratio"
numerator = "revenue_per_user"
denominator = "orders_per_user"

[metrics.review_rate]
description = "Share of exposed customers who write a review within 30 days"
type = "proportion"
source = "events"
event = "review"
window = "30d"

[metrics.email_click_rate]
description = "Clicked the shipping-confirmation e-mail of the exposure on the day it was sent"
type = "proportion"
source = "events"
event = "email_click"
touchpoint = "shipping_confirmation_email"
window = "same_day"
match_property = "order_id"

[metrics.email_opens]
description = "Opens of shipping-confirmation e-mails on the day of exposure"
type = "mean"
source = "events"
event = "email_open"
touchpoint = "shipping_confirmation_email"
window = "same_day"

[metrics.email_clicks]
description = "Clicks on shipping-confirmation e-mails on the day of exposure"
type = "mean"
source = "events"
event = "email_click"
touchpoint = "shipping_confirmation_email"
window = "same_day"

[metrics.clicks_per_open]
description = "Clicks per open of shipping-confirmation e-mails on the day of exposure"
type = "ratio"
numerator = "email_clicks"
denominator = "email_opens"

[metrics.support_contact_rate]
description = "Share of exposed customers who contact customer service within 30 days"
type = "proportion"
source = "events"
event = "support_contact"
window = "30d"
inverse = true
guardrail = true

[metrics.return_rate]
description = "Share of exposed customers who request a return within 30 days"
type = "proportion"
source = "events"
event = "return_requested"
window = "30d"
inverse = true
guardrail = true
"""

_WINDOW = re.compile(r"^(?:same_day|all|(\d+(?:\.\d+)?)([dh]))$")


def parse_window(text: str) -> timedelta | Literal["same_day", "all"]:
    """``"same_day"``, ``"all"``, ``"7d"`` or ``"48h"`` → the literal or a :class:`timedelta`."""
    m = _WINDOW.match(text.strip())
    if not m:
        raise ValueError(f"window {text!r}: expected 'same_day', 'all', or a length such as '7d' or '48h'")
    if text.strip() in ("same_day", "all"):
        return "same_day" if text.strip() == "same_day" else "all"
    n = float(m.group(1))
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class MetricDef(BaseModel):
    """One metric: what to count per exposed customer, when, and how to read it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["proportion", "mean", "ratio"]
    description: str = ""
    source: Literal["events", "orders"] | None = None
    event: list[str] | None = None
    touchpoint: list[str] | None = None
    value: Literal["count", "revenue", "any"] | None = None
    window: str = "30d"
    match_property: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    numerator: str | None = None
    denominator: str | None = None
    cuped: bool = False
    pre_window: str = "30d"
    inverse: bool = False
    guardrail: bool = False

    _norm_event = field_validator("event", "touchpoint", mode="before")(_listify)

    @field_validator("window", "pre_window")
    @classmethod
    def _window_ok(cls, v: str) -> str:
        parse_window(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> MetricDef:
        if self.type == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError("a ratio metric needs numerator and denominator (names of other metrics)")
            if self.source or self.event or self.touchpoint or self.cuped:
                raise ValueError(
                    "a ratio metric takes numerator and denominator only (no source, filters, cuped)"
                )
            return self
        if self.numerator or self.denominator:
            raise ValueError("numerator and denominator are for ratio metrics")
        if self.source is None:
            raise ValueError("source is required: 'events' or 'orders'")
        if self.source == "orders" and (self.event or self.touchpoint or self.match_property):
            raise ValueError("event, touchpoint and match_property filter events, not orders")
        if self.match_property and not self.touchpoint:
            raise ValueError("match_property needs a touchpoint (where the exposure event is found)")
        if self.type == "proportion" and self.value not in (None, "any"):
            raise ValueError("a proportion counts whether something happened: leave value out (or 'any')")
        if self.pre_window in ("same_day", "all"):
            raise ValueError("pre_window must be a length such as '30d'")
        return self

    @property
    def aggregate(self) -> Literal["count", "revenue", "any"]:
        """What the per-customer value is: a count, a revenue sum, or 0/1."""
        if self.type == "proportion":
            return "any"
        return self.value or "count"


def parse_metrics(raw: Any, source: str = "cxlab.toml") -> dict[str, MetricDef]:
    """``{name: MetricDef}`` from the ``metrics`` table; errors name the file, metric and field."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: metrics: expected tables such as [metrics.conversion]")
    out: dict[str, MetricDef] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: metrics.{name}: expected a table")
        try:
            out[name] = MetricDef.model_validate(body)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            msg = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{source}: metrics.{name}{'.' + where if where else ''}: {msg}") from e
    for name, m in out.items():
        for part in (m.numerator, m.denominator):
            if part is None:
                continue
            if part not in out:
                raise ConfigError(f"{source}: metrics.{name}: unknown metric {part!r} in the ratio")
            if out[part].type == "ratio":
                raise ConfigError(f"{source}: metrics.{name}: {part!r} is itself a ratio")
    return out


def default_metrics() -> dict[str, MetricDef]:
    return parse_metrics(tomllib.loads(DEFAULT_METRICS_TOML)["metrics"], source="default metrics")


def metrics_from_config(config: Config) -> dict[str, MetricDef]:
    """The metrics of a project's config (its ``[metrics]`` section, else the defaults)."""
    extra = config.model_extra or {}
    raw = extra.get("metrics")
    return default_metrics() if raw is None else parse_metrics(raw)
