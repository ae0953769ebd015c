"""The report's opening section, "What to do next": the top actions as a small table, in plain words, with how
they were found, ranked and measured folded under it."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.advise.actions import next_actions
from cxlab.advise.advice import Advice
from cxlab.report.section import Section, titled
from cxlab.store import Store

METHOD = (
    "Actions come from the strengths-and-weaknesses comparison of every touchpoint and channel with its peers, "
    "the lagging-channel test on visits that buy, the A/B tests ready to decide, the churn-risk model "
    "(valuable customers, in the more valuable half, who are more likely gone than active and slipping) and "
    "the complaint themes growing fastest in the latest week. A weakness is worth closing half its gap to the "
    "peers over the period analysed; several findings about one place are one action, worth the largest of "
    "them (they overlap); when they disagree (worse on one measure, better or no different on another) the "
    "action says so and is marked 'mixed signals'. Money found over other spans (the months analysed, the next "
    "12 months, a test's run) is put on a year (amount × 12 ÷ months covered) so the actions compare; a week's "
    "excess of complaints stays a week's. Ranked by money at stake (mixed signals after the clear "
    "ones), then by how sure we are. How sure, from the adjusted p-value (or a probability): very likely p < 0.001 (≥ 99%), likely p < 0.01 "
    "(≥ 95%), probable p < 0.05 (≥ 80%), possible (≥ 50%)."
)


def headline(advice: Advice) -> str:
    """The section's summary: how many actions and the first one, or why there are none."""
    if not advice.actions:
        if advice.skipped:
            looked = ", ".join(s.source for s in advice.skipped)
            return f"Nothing stands out yet; {looked} could not be looked at (why: under the details)."
        return "Nothing stands out: no finding is clear enough to act on."
    a = advice.actions[0]
    n = len(advice.actions)
    at_stake = f"{a.worth} at stake {a.horizon}" if a.money_at_stake is not None else "not priced"
    return (
        f"{n} thing{'s' if n != 1 else ''} to do next, the most money at stake first. Start with {a.name} "
        f"({at_stake}; {a.certainty}): {a.why}."
    )


def details(advice: Advice) -> str:
    """How the actions were found and ranked, the evidence behind each, and what could not be looked at."""
    parts = [METHOD]
    parts += [
        f"{i}. {a.name}: {' · '.join(a.evidence)}" for i, a in enumerate(advice.actions, 1) if a.evidence
    ]
    parts += [f"Not looked at ({s.source}): {s.reason}" for s in advice.skipped]
    return " ".join(p if p.endswith(".") else p + "." for p in parts)


@titled("What to do next")
def next_section(store: Store) -> Section:
    """The top five actions: where, money at stake, how sure, next step."""
    advice = next_actions(store)
    table = None
    if advice.actions:
        table = pd.DataFrame(
            {
                "#": range(1, len(advice.actions) + 1),
                "where": [f"{a.name} ({a.kind})" for a in advice.actions],
                "money at stake": [
                    f"{a.worth} {a.horizon}" if a.money_at_stake is not None else "not priced"
                    for a in advice.actions
                ],
                "how sure": [a.certainty for a in advice.actions],
                "next step": [a.next_step for a in advice.actions],
            }
        )
    return Section("next", "What to do next", headline(advice), table=table, details=details(advice))


SECTIONS: tuple[Callable[[Store], Section], ...] = (next_section,)
