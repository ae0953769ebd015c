"""Importers of what shops actually have (Shopify orders export, GA4 BigQuery export) → canonical tables."""

from cxlab.store.importers.common import ImporterError, ImportResult
from cxlab.store.importers.ga4 import import_ga4
from cxlab.store.importers.ga4_channels import ga4_default_channel, ga4_default_channel_group
from cxlab.store.importers.shopify import import_shopify_orders

__all__ = [
    "ImportResult",
    "ImporterError",
    "ga4_default_channel",
    "ga4_default_channel_group",
    "import_ga4",
    "import_shopify_orders",
]
