"""``cxlab next``: what to do next, the ranked actions with their money at stake, certainty and next step.

Imports only the CLI's light tools at module level (the CLI loads commands lazily); the analyses load when
the command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cxlab.clitools import DEFAULT_DB, DbOpt, JsonOpt, console, emit_json, errors_as_exit
from cxlab.clitools import progress as progress_bars

if TYPE_CHECKING:
    from cxlab.advise import Advice

LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, help="How many actions to show, the most money first.")
]


def next_command(db: DbOpt = DEFAULT_DB, limit: LimitOpt = 5, json_: JsonOpt = False) -> None:
    """What to do next: the top actions from every analysis, each with its money at stake, how sure we are
    and the next step (strengths and weaknesses, lagging channels, experiments, win-back, complaints)."""
    from cxlab.advise import next_actions
    from cxlab.store import open_store

    with errors_as_exit(), progress_bars(not json_) as bar, open_store(db) as store:
        advice = next_actions(store, limit=limit, progress=bar)
    if json_:
        emit_json(advice.to_dict())
        return
    show_advice(advice)


def show_advice(advice: Advice) -> None:
    """The actions as a numbered list that fits any terminal: per action a heading (where, how sure), the
    money at stake and the next step, wrapped and indented; then what could not be looked at."""
    import textwrap

    from rich.text import Text

    def say(text: str, indent: int, style: str = "") -> None:
        pad = " " * indent
        wrapped = textwrap.fill(text, max(console.width - 1, 40), initial_indent=pad, subsequent_indent=pad)
        console.print(Text(wrapped, style=style), soft_wrap=True)

    if not advice.actions:
        looked = ", ".join(s.source for s in advice.skipped)
        say(
            f"Nothing stands out yet; {looked} could not be looked at (why: below)."
            if looked
            else "Nothing stands out: no finding is clear enough to act on.",
            0,
        )
    for i, a in enumerate(advice.actions, start=1):
        indent = len(str(i)) + 2
        say(f"{i}. {a.name} ({a.kind}) · {a.certainty}", 0, "bold")
        priced = a.money_at_stake is not None
        say(f"{a.worth} at stake {a.horizon}".strip() if priced else "Not priced", indent)
        say(a.next_step, indent)
        console.print()
    if advice.found > len(advice.actions):
        say(f"{advice.found - len(advice.actions)} more with --limit {advice.found}.", 0, "dim")
    for s in advice.skipped:
        say(f"Not looked at: {s.source} ({s.reason})", 0, "dim")
