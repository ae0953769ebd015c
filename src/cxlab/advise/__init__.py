"""What to do next: ranked actions a shop owner can act on, each with its money at stake, how sure we are (in
words) and the concrete next step, from strengths and weaknesses, lagging channels, experiments ready to
decide, customers worth a win-back and emerging complaints (see :func:`next_actions`).

The names load on first use (PEP 562), so ``cxlab next --help`` does not pay for the analyses."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxlab.advise.actions import next_actions
    from cxlab.advise.advice import Action, Advice, Skipped

__all__ = ["Action", "Advice", "Skipped", "next_actions"]
_WHERE = {
    "next_actions": "cxlab.advise.actions",
    "Action": "cxlab.advise.advice",
    "Advice": "cxlab.advise.advice",
    "Skipped": "cxlab.advise.advice",
}
"""Where each exported name lives."""


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'cxlab.advise' has no attribute {name!r}")
