"""cxlab: a local-first workbench for customer-experience design in e-commerce."""

from cxlab.config import Config
from cxlab.store import Store, connect

__all__ = ["Config", "Store", "connect"]
__version__ = "0.1.0"
