"""cxlab: a local-first workbench for customer-experience design in e-commerce.

``Config``, ``Store`` and ``connect`` load on first use (PEP 562), so ``import cxlab`` (and ``cxlab --help``)
does not pay for the engine, pandas and the models up front.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxlab.config import Config
    from cxlab.store import Store, connect

__all__ = ["Config", "Store", "__version__", "connect"]

try:
    __version__ = version("cxlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

_LAZY = {"Config": "cxlab.config", "Store": "cxlab.store", "connect": "cxlab.store"}


def __getattr__(name: str) -> Any:
    """Import ``Config``, ``Store`` or ``connect`` from their module the first time they are asked for."""
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cxlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
