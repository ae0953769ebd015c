"""Customers: RFM segments, behavioural personas, lifetime value (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma)
and churn risk. Models fit by maximum likelihood with analytic gradients on engine-computed summaries."""

from cxlab.customers.bgnbd import BetaGeo, ModifiedBetaGeo
from cxlab.customers.churn import ChurnRisk, churn_risk
from cxlab.customers.fitting import ConvergenceError
from cxlab.customers.gammagamma import GammaGamma
from cxlab.customers.holdout import HoldoutCheck, holdout_check
from cxlab.customers.lifetime import LifetimeValue, Settings, lifetime_value
from cxlab.customers.paretonbd import ParetoNBD
from cxlab.customers.personas import PersonaCard, Personas, personas
from cxlab.customers.rfm import RFMMovement, RFMSegments, rfm_movement, rfm_scores, rfm_segments
from cxlab.customers.summary import PurchaseSummary, purchase_summary, summary_table
from cxlab.customers.value import customer_lifetime_value, discounted_purchases

__all__ = [
    "BetaGeo",
    "ChurnRisk",
    "ConvergenceError",
    "GammaGamma",
    "HoldoutCheck",
    "LifetimeValue",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "PersonaCard",
    "Personas",
    "PurchaseSummary",
    "RFMMovement",
    "RFMSegments",
    "Settings",
    "churn_risk",
    "customer_lifetime_value",
    "discounted_purchases",
    "holdout_check",
    "lifetime_value",
    "personas",
    "purchase_summary",
    "rfm_movement",
    "rfm_scores",
    "rfm_segments",
    "summary_table",
]
