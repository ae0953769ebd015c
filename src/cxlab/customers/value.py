"""Customer lifetime value: expected discounted spend over a horizon, from a purchase and a spend model.

``CLV = Σ_{i=1..months} E[spend per purchase] · E[purchases in month i] / (1 + d)^i``, months of
4.345 weeks or 30 days and a monthly discount rate ``d``: the convention of ``lifetimes``'
``customer_lifetime_value``, so the numbers agree with it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cxlab.customers.bgnbd import BetaGeo, ModifiedBetaGeo, check_rft
from cxlab.customers.fitting import FloatArray, as_float, unique_inverse
from cxlab.customers.gammagamma import GammaGamma
from cxlab.customers.paretonbd import ParetoNBD

UNITS_PER_MONTH = {"week": 4.345, "day": 30.0}

MODELS: dict[str, type[BetaGeo] | type[ParetoNBD]] = {
    "bgnbd": BetaGeo,
    "mbgnbd": ModifiedBetaGeo,
    "paretonbd": ParetoNBD,
}
"""Purchase models by their CLI name."""
DEFAULT_MODEL = "mbgnbd"
"""The purchase model ``clv`` and ``churn`` use unless told otherwise (why: :mod:`cxlab.customers.lifetime`)."""


class PurchaseModel(Protocol):
    """What CLV needs from a fitted purchase model (BG/NBD, MBG/NBD, Pareto/NBD)."""

    params_: dict[str, float]
    method: ClassVar[str]
    n_: int
    n_new_: int
    degenerate_reason_: str | None

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
    ) -> Any: ...

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray: ...

    def expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def expected_purchases_if_alive(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def to_dict(self) -> dict[str, Any]: ...

    def to_frame(self) -> pd.DataFrame: ...

    def summary(self) -> str: ...


def make_model(name: str) -> PurchaseModel:
    """A new, unfitted purchase model by name (``bgnbd``, ``mbgnbd``, ``paretonbd``)."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown purchase model {name!r} (expected one of {', '.join(MODELS)})") from None


def discounted_purchases(
    model: PurchaseModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "week",
    if_alive: bool = False,
) -> FloatArray:
    """Σ_i E[purchases in month i] / (1 + d)^i per customer (``if_alive``: given alive now).

    Uses ``E[purchases] = P(alive) · E[purchases | alive]`` (true of all three models): the monthly
    expectations given alive are computed once per distinct (x, T).
    """
    if time_unit not in UNITS_PER_MONTH:
        raise ValueError(f"time unit must be one of {', '.join(UNITS_PER_MONTH)}, got {time_unit!r}")
    if months < 1 or discount_rate <= -1:
        raise ValueError("months must be >= 1 and the discount rate > -1")
    x, t, tt = check_rft(frequency, recency, T)
    (ux, utt), inv = unique_inverse(x, tt)  # given alive, the future depends on x and T only
    f = UNITS_PER_MONTH[time_unit]
    zeros = np.zeros(ux.size)
    total = np.zeros(ux.size)
    previous = np.zeros(ux.size)
    for i in range(1, months + 1):
        cum = model.expected_purchases_if_alive(i * f, ux, zeros, utt)
        total += (cum - previous) / (1 + discount_rate) ** i
        previous = cum
    out = total[inv]
    return out if if_alive else out * model.probability_alive(x, t, tt)


def customer_lifetime_value(
    model: PurchaseModel,
    spend: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "week",
) -> FloatArray:
    """Discounted expected spend over ``months`` per customer (monthly ``discount_rate``)."""
    m = as_float(monetary_value, "monetary_value")
    x = as_float(frequency, "frequency")
    purchases = discounted_purchases(
        model, x, recency, T, months=months, discount_rate=discount_rate, time_unit=time_unit
    )
    return spend.expected_spend(x, np.where(x > 0, m, 0.0)) * purchases
