"""The flows' section of the report: per flow its counts, and its effect against its holdout with interval."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from cxlab.automate.effects import SENT, flow_effects
from cxlab.automate.flows import HOLDOUT, load_flows
from cxlab.display import count, interval, money, p_value, pct
from cxlab.errors import MissingData
from cxlab.report.section import Section
from cxlab.store import Store


def flows_section(store: Store) -> Section:
    """Triggered, sent, held out, suppressed and failed messages per flow; the lift over the holdout."""
    flows = load_flows(store.config, store.path.parent)
    if not flows:
        raise MissingData("Flows need a declaration: add [flows.<name>] to cxlab.toml (see README)")
    ((exposed,),) = store.con.execute(
        "SELECT count(*) FROM exposures WHERE experiment_id IN (SELECT unnest(?::VARCHAR[]))",
        [[f.experiment_id for f in flows]],
    ).fetchall()
    if not exposed:
        raise MissingData("Flows have no exposures yet: run them with `cxlab flows run`")
    res = flow_effects(store, flows)
    fs = res.flows
    ci = f"{100 * (1 - res.alpha):.0f}% CI"
    shown = pd.DataFrame(
        {
            "flow": [f.flow for f in fs],
            "channel": [f.channel for f in fs],
            "triggered by cxlab": [count(f.triggered) for f in fs],
            "sent": [count(f.sent) for f in fs],
            "exposed: sent arm / holdout": [
                f"{count(f.exposed - f.n.get(HOLDOUT, 0))} / {count(f.n.get(HOLDOUT, 0))}" for f in fs
            ],
            "suppressed": [", ".join(f"{count(n)} {r}" for r, n in f.suppressed.items()) or "0" for f in fs],
            "gave up / in doubt": [f"{count(f.gave_up)} / {count(f.in_doubt)}" for f in fs],
            "metric": [f"{f.metric} ({f.window})" for f in fs],
            "lift": [
                pct(f.lift_relative, 1, signed=True) if f.lift_relative is not None else (f.note or "")
                for f in fs
            ],
            ci: [interval(*f.ci_relative, lambda x: pct(x, 1, signed=True)) for f in fs],
            "p-value": [p_value(f.p_value) for f in fs],
            "revenue / recipient (sent vs held out)": [
                f"{money(f.revenue_per_recipient.get(SENT), res.currency, 2)} vs "
                f"{money(f.revenue_per_recipient.get(HOLDOUT), res.currency, 2)}"
                for f in fs
            ],
            "unsubscribes": [count(f.unsubscribes) for f in fs],
        }
    )
    figures = [res.figure()] if any(f.lift_relative is not None for f in fs) else []
    return Section("flows", "Automated flows", res.summary(), figures, shown)


SECTIONS: tuple[Callable[[Store], Section], ...] = (flows_section,)
