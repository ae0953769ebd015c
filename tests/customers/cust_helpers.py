"""Where the customers tests find their reference data: the CDNOW files bundled with ``lifetimes``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.find_spec("lifetimes")
DATA: Path | None = Path(_spec.origin).parent / "datasets" if _spec and _spec.origin else None
"""The ``lifetimes/datasets`` folder, or None when the peer library is not installed."""
