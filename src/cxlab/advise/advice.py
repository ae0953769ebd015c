"""The result of "what to do next": ranked actions, each with its money at stake, certainty and next step.

An :class:`Action` is one thing a shop owner can act on, about one place (a touchpoint, a channel, an
experiment, a group of customers, a complaint theme). :class:`Advice` holds them ranked by money at stake
(ties: the surer first) and the sources that could not be read, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from cxlab.display import DASH, money

Kind = Literal["touchpoint", "channel", "experiment", "customers", "voice"]
KINDS: tuple[Kind, ...] = ("touchpoint", "channel", "experiment", "customers", "voice")

MIXED = "mixed signals"
"""The certainty of an action whose findings disagree (weaker on one measure, stronger on another)."""
CERTAINTIES = ("very likely", "likely", "probable", "possible", MIXED, "unclear")
"""Every certainty word, surest first: the order ties in money at stake are broken by."""


@dataclass(frozen=True)
class Action:
    """One thing to do: where (``kind``, ``name``), what it is worth, how sure we are, and the next step.

    ``money_at_stake`` is in ``currency`` over ``horizon`` (e.g. "over the 24 months analysed", ``months``
    long), ``None`` when nothing can be priced; :func:`yearly` puts every action on the same footing (a year)
    before they are ranked. ``why`` is the finding in one plain sentence, ``evidence`` the findings it rests
    on (each a sentence with its numbers), ``source`` the analyses they come from."""

    kind: Kind
    name: str
    money_at_stake: float | None
    currency: str
    certainty: str
    next_step: str
    why: str = ""
    horizon: str = ""
    evidence: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    months: float | None = None
    """How long ``horizon`` is, in months; None where the money is not a span's (a week's excess)."""

    def to_dict(self, rank: int) -> dict[str, Any]:
        priced = self.money_at_stake is not None and math.isfinite(self.money_at_stake)
        return {
            "rank": rank,
            "kind": self.kind,
            "name": self.name,
            "money_at_stake": round(float(self.money_at_stake), 2) if priced else None,  # type: ignore[arg-type]
            "currency": self.currency,
            "certainty": self.certainty,
            "next_step": self.next_step,
            "why": self.why,
            "horizon": self.horizon,
            "evidence": list(self.evidence),
            "source": list(self.source),
        }

    @property
    def worth(self) -> str:
        """The money at stake as people read it (``EUR 42,250``), a dash when it can't be priced."""
        return money(self.money_at_stake, self.currency) if self.money_at_stake is not None else DASH


A_YEAR = "a year"
DAYS_PER_MONTH = 30.44


def yearly(a: Action) -> Action:
    """``a`` with its money at stake over a year, so actions priced over different spans (the 24 months
    analysed, the next 12 months, a test's 40 days) can be ranked against each other; the amount as first
    found stays in the evidence. Unpriced actions and those without a span are kept as they are."""
    m = a.money_at_stake
    if a.months is None or a.months <= 0 or m is None or not math.isfinite(m) or a.horizon == A_YEAR:
        return a
    found = f"{money(m, a.currency)} {a.horizon}".strip()
    return replace(
        a,
        money_at_stake=m * 12 / a.months,
        horizon=A_YEAR,
        months=12.0,
        evidence=(f"found: {found}", *a.evidence),
    )


def ranked(actions: Sequence[Action]) -> list[Action]:
    """Actions with a clear direction first, highest money at stake first (unpriced last); then the "mixed
    signals" ones (findings that disagree: first find out which is right, so they can't outrank a clear
    problem); ties: the surer first, then by name (stable output)."""

    def key(a: Action) -> tuple[bool, float, int, str, str]:
        m = a.money_at_stake
        worth = -m if m is not None and math.isfinite(m) else math.inf
        sure = CERTAINTIES.index(a.certainty) if a.certainty in CERTAINTIES else 99
        return a.certainty == MIXED, worth, sure, a.kind, a.name

    return sorted(actions, key=key)


@dataclass(frozen=True)
class Skipped:
    """A source of actions that could not be read (missing data or a failure) and why."""

    source: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


@dataclass(frozen=True)
class Advice:
    """The top actions (``actions``, ranked), the sources skipped with their reason, the period analysed.

    ``found`` counts every action found, of which the first ``len(actions)`` are kept."""

    actions: list[Action]
    currency: str
    skipped: list[Skipped] = field(default_factory=list)
    period: dict[str, Any] | None = None
    """``{"start": date, "end": date, "months": float}`` of the store's events and orders, or None."""
    found: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``cxlab next --json`` document: ``actions`` (the contract), ``skipped`` and ``period``."""
        return {
            "actions": [a.to_dict(i) for i, a in enumerate(self.actions, start=1)],
            "skipped": [s.to_dict() for s in self.skipped],
            "period": self.period,
        }

    def summary(self) -> str:
        """What to do next in plain words: the top actions, then what could not be looked at."""
        if not self.actions:
            head = "Nothing stands out: no finding is clear enough to act on."
        else:
            more = f" (of {self.found} found)" if self.found > len(self.actions) else ""
            head = f"{len(self.actions)} thing{'s' if len(self.actions) != 1 else ''} to do next{more}, " + (
                "the most money at stake first:"
            )
            head += "".join(
                f"\n{i}. {a.name} ({a.kind}; {a.worth}{' ' + a.horizon if a.horizon else ''}; {a.certainty}): "
                f"{a.next_step}"
                for i, a in enumerate(self.actions, start=1)
            )
        not_read = "".join(f"\nNot looked at ({s.source}): {s.reason}" for s in self.skipped)
        return head + not_read

    def top(self, limit: int) -> Advice:
        """The same advice with only the first ``limit`` actions."""
        return replace(self, actions=self.actions[:limit])
