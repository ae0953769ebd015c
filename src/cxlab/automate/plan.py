"""The plan: for every new due trigger of every flow, whether a message goes out, when, and if not, why.

Per flow (disabled flows, and flows whose tone check flagged a message unless ``accept_tone``, are
``blocked`` and plan nothing; so are flows whose templates do not render):

1. due triggers (:mod:`cxlab.automate.triggers`); keys already in the outbox were decided before and are
   left out;
2. audience, consent for the flow's channel, message language (:mod:`cxlab.automate.audience`): a trigger
   failing one is ``suppressed`` (reason ``audience``, ``no_consent``, ``no_message``) and not exposed;
3. the rest are **exposed** (intention to treat): each gets its arm of the flow's experiment from
   :func:`cxlab.automate.holdout.assign` — ``holdout`` (status ``held_out``, no message ever) or a variant;
   a customer already exposed to the flow's experiment keeps the stored arm (changing ``holdout`` or the
   variants moves only new customers, so the holdout stays clean);
4. ``due`` moves past quiet hours in the customer's time zone (:mod:`cxlab.automate.timezones`).

Across flows, on the rows still ``queued``:

5. **priority**: a customer due messages from several flows within one local day, on any channel, gets
   only the highest-priority flow's (ties: the flow name first in alphabetical order); messages of other flows
   already queued or sent for that day count too. The others are ``suppressed`` (``priority``), still exposed;
6. **frequency caps** (``[automate] caps``, N per period per customer and channel): in order of ``due``, a
   message is ``suppressed`` (``capped``, still exposed) when N messages already sit within one period of its
   due time: outbox rows that may have left or are still to leave (sending, sent, in doubt, queued, retry; at
   ``sent_at``, else ``due``) before or after it, and this plan's earlier queued rows. Counting both sides of
   the due time keeps every sliding window of one period at N or fewer, also when a message queued earlier is
   due later.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.backends import BaseBackend

from cxlab.automate import audience as aud
from cxlab.automate.flows import HOLDOUT, Automate, EventTrigger, Flow, parse_cap
from cxlab.automate.holdout import assign
from cxlab.automate.tables import COUNTS_AS_SENT, OUTBOX, PENDING
from cxlab.automate.templates import TONE_COLUMNS, TemplateError, message_texts, tone_check
from cxlab.automate.timezones import after_quiet_hours, local_date, quiet_window, zone_for
from cxlab.automate.triggers import due_triggers
from cxlab.config import Config, ConfigError
from cxlab.customers.fitting import ConvergenceError
from cxlab.errors import MissingData
from cxlab.store import Store

COLUMNS = [
    "flow",
    "customer_id",
    "trigger_key",
    "trigger_ts",
    "channel",
    "variant",
    "language",
    "due",
    "status",
    "reason",
    "exposed",
    "order_id",
]
SUPPRESS_REASONS = ("audience", "no_consent", "no_message", "capped", "priority")


def _empty_rows() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    df["trigger_ts"] = df["trigger_ts"].astype("datetime64[us]")
    df["due"] = df["due"].astype("datetime64[us]")
    df["exposed"] = df["exposed"].astype(bool)
    return df


@dataclass(frozen=True)
class Plan:
    """What a run would do now; ``rows`` holds one row per new trigger (see :data:`COLUMNS` and
    :func:`plan`)."""

    rows: pd.DataFrame
    now: datetime
    tone: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TONE_COLUMNS))
    """Per flow × variant × language: pressure, brand_distance, flagged, finding (empty when not checked)."""
    blocked: dict[str, str] = field(default_factory=dict)
    """Flow → why it plans nothing (disabled, tone flagged, templates broken, data missing)."""
    warnings: list[str] = field(default_factory=list)
    """Likely mistakes in the declaration, e.g. a trigger or cancel event the store has never seen."""

    def to_frame(self) -> pd.DataFrame:
        return self.rows.copy()

    def counts(self) -> pd.DataFrame:
        """Per flow: triggers, queued, held_out, suppressed, and suppressed per reason."""
        r = self.rows
        cols = ["triggers", "queued", "held_out", "suppressed", *SUPPRESS_REASONS]
        if r.empty:
            return pd.DataFrame(columns=["flow", *cols])
        out = pd.DataFrame(index=pd.Index(sorted(r["flow"].unique()), name="flow"))
        out["triggers"] = r.groupby("flow").size()
        for status in ("queued", "held_out", "suppressed"):
            out[status] = r[r["status"] == status].groupby("flow").size()
        sup = r[r["status"] == "suppressed"]
        for reason in SUPPRESS_REASONS:
            out[reason] = sup[sup["reason"] == reason].groupby("flow").size()
        return out.fillna(0).astype("int64").reset_index()

    def to_dict(self) -> dict[str, Any]:
        rows = self.rows.astype(object).where(self.rows.notna(), None)
        return {
            "now": self.now.isoformat(),
            "method": "due triggers → audience, consent, language → stable holdout/variant assignment "
            "(exposed) → quiet hours → priority → frequency caps",
            "counts": self.counts().to_dict(orient="records"),
            "blocked": dict(self.blocked),
            "warnings": list(self.warnings),
            "tone": self.tone.to_dict(orient="records"),
            "rows": rows.to_dict(orient="records"),
        }

    def figure(self) -> go.Figure:
        """Per flow, the new triggers by outcome (stacked bars): sent, held out, each suppression reason."""
        c = self.counts()
        fig = go.Figure()
        for col, label in [
            ("queued", "to send"),
            ("held_out", "held out"),
            *((r, r.replace("_", " ")) for r in SUPPRESS_REASONS),
        ]:
            if len(c) and c[col].any():
                fig.add_bar(y=[html.escape(str(f)) for f in c["flow"]], x=c[col], name=label, orientation="h")
        fig.update_layout(
            title=f"New triggers per flow at {self.now:%Y-%m-%d %H:%M} UTC",
            barmode="stack",
            xaxis_title="triggers",
            height=160 + 40 * max(len(c), 1),
        )
        return fig

    def summary(self) -> str:
        r = self.rows
        n = len(r)
        parts = [
            f"Plan at {self.now:%Y-%m-%d %H:%M} UTC: n = {n:,} new triggers in "
            f"{r['flow'].nunique() if n else 0} flows; {int((r['status'] == 'queued').sum()):,} to send, "
            f"{int((r['status'] == 'held_out').sum()):,} held out, "
            f"{int((r['status'] == 'suppressed').sum()):,} suppressed"
        ]
        sup = r.loc[r["status"] == "suppressed", "reason"].value_counts()
        if len(sup):
            parts.append(" (" + ", ".join(f"{k}: {int(v):,}" for k, v in sup.items()) + ")")
        parts.append(f"; {int(r['exposed'].sum()) if n else 0:,} exposed (holdout and variants, ITT).")
        if self.blocked:
            parts.append(
                " Not running: " + "; ".join(f"{f}: {why}" for f, why in sorted(self.blocked.items())) + "."
            )
        if self.warnings:
            parts.append(" Warning: " + "; ".join(self.warnings) + ".")
        return "".join(parts)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo is not None else now


def _undecided(con: BaseBackend, flow: str, cand: pd.DataFrame) -> pd.DataFrame:
    """``cand`` without the keys the outbox already holds for ``flow``."""
    if cand.empty:
        return cand
    keys = ibis.memtable(
        pd.DataFrame(
            {"k_customer": cand["customer_id"].astype(str), "k_key": cand["trigger_key"].astype(str)}
        )
    )
    ob = con.table(OUTBOX)
    ob = ob.filter(ob.flow == flow)
    seen = keys.semi_join(ob, [keys.k_customer == ob.customer_id, keys.k_key == ob.trigger_key]).execute()
    decided = set(zip(seen["k_customer"], seen["k_key"], strict=True))
    if not decided:
        return cand
    mask = [(c, k) not in decided for c, k in zip(cand["customer_id"], cand["trigger_key"], strict=True)]
    return cand[np.asarray(mask, dtype=bool)].reset_index(drop=True)


def _stored_arms(con: BaseBackend, flow: Flow, customers: pd.Series) -> dict[str, str]:
    """Customer → the arm stored at their first exposure to the flow's experiment: a customer keeps it when
    the holdout share or the variants change, so the holdout stays clean (a held-out customer never gets a
    message of the flow)."""
    if "exposures" not in con.list_tables():
        return {}
    ids = ibis.memtable(pd.DataFrame({"s_customer": pd.Series(sorted(set(customers)), dtype=str)}))
    x = con.table("exposures")
    x = x.filter(x.experiment_id == flow.experiment_id)
    x = x.inner_join(ids, x.customer_id == ids.s_customer)
    got = x.group_by("customer_id").aggregate(variant=x.variant.argmin(x.ts)).execute()
    return dict(zip(got["customer_id"].astype(str), got["variant"].astype(str), strict=True))


def _decide(
    con: BaseBackend, flow: Flow, cand: pd.DataFrame, settings: Automate, now: datetime, store: Store
) -> pd.DataFrame:
    """Audience, consent, language and arm for one flow's new triggers (rows of :data:`COLUMNS` + country)."""
    a = flow.audience
    attrs = aud.attributes(
        con,
        cand["customer_id"],
        now,
        segments=bool(a.segment),
        personas=bool(a.persona),
        config=store.config,
    ).set_index("customer_id")
    rows = cand.join(attrs, on="customer_id")
    rows["flow"] = flow.name
    rows["channel"] = flow.channel
    rows["variant"] = None
    rows["status"] = "suppressed"
    rows["reason"] = None
    rows["exposed"] = False
    rows["language"] = [
        aud.pick_language(v if isinstance(v, str) else None, flow, settings) for v in rows["language"]
    ]
    audience_ok = aud.in_audience(flow, rows)
    ok_consent = aud.consented(con, flow.channel, rows["customer_id"], now)
    consent_ok = rows["customer_id"].isin(ok_consent).to_numpy(bool)
    lang_ok = rows["language"].notna().to_numpy(bool)
    rows.loc[~audience_ok, "reason"] = "audience"
    rows.loc[audience_ok & ~consent_ok, "reason"] = "no_consent"
    rows.loc[audience_ok & consent_ok & ~lang_ok, "reason"] = "no_message"
    exposed = audience_ok & consent_ok & lang_ok
    rows.loc[~lang_ok, "language"] = None
    if exposed.any():
        weights = {name: arm.weight for name, arm in flow.arms.items()}
        ids = rows.loc[exposed, "customer_id"].astype(str)
        drawn = assign(flow.name, ids, flow.holdout, weights)
        stored = _stored_arms(con, flow, ids)
        arms = [stored.get(c, str(a)) for c, a in zip(ids, drawn, strict=True)]
        rows.loc[exposed, "variant"] = pd.Series(arms, index=ids.index, dtype=object)
        rows.loc[exposed, "exposed"] = True
        held = exposed & (rows["variant"] == HOLDOUT).to_numpy(bool)
        rows.loc[held, "status"] = "held_out"
        rows.loc[held, "reason"] = "holdout"
        rows.loc[exposed & ~held, "status"] = "queued"
    return rows


def _quiet_hours(rows: pd.DataFrame, settings: Automate) -> pd.DataFrame:
    window = quiet_window(settings)
    zones = [zone_for(c if isinstance(c, str) else None, settings) for c in rows["country"]]
    due = [after_quiet_hours(d.to_pydatetime(), z, window) for d, z in zip(rows["due"], zones, strict=True)]
    moved = np.array([n != d for n, d in zip(due, rows["due"], strict=True)], dtype=bool)
    rows["due"] = pd.to_datetime(pd.Series(due, index=rows.index)).astype("datetime64[us]")
    rows.loc[moved & (rows["status"] == "queued").to_numpy(bool), "reason"] = "moved past quiet hours"
    rows["_zone"] = pd.Series(zones, index=rows.index, dtype=object)
    rows["_day"] = [local_date(d.to_pydatetime(), z) for d, z in zip(rows["due"], zones, strict=True)]
    return rows


def _outbox_rows(con: BaseBackend, customers: pd.Series, statuses: Sequence[str]) -> pd.DataFrame:
    """Outbox rows of ``customers`` in ``statuses``: flow, customer_id, channel, at (sent_at, else due)."""
    ids = ibis.memtable(pd.DataFrame({"o_customer": pd.Series(sorted(set(customers)), dtype=str)}))
    ob = con.table(OUTBOX)
    ob = ob.filter(ob.status.isin(list(statuses)))
    j = ob.inner_join(ids, ob.customer_id == ids.o_customer)
    return j.select(
        flow=j.flow, customer_id=j.customer_id, channel=j.channel, at=ibis.coalesce(j.sent_at, j.due)
    ).execute()


def _priority(rows: pd.DataFrame, existing: pd.DataFrame, flows: dict[str, Flow]) -> None:
    q = rows[rows["status"] == "queued"]
    if q.empty:
        return
    zone_of = dict(zip(q["customer_id"], q["_zone"], strict=False))
    ex = existing[existing["customer_id"].isin(zone_of) & existing["flow"].isin(flows)].copy()
    ex["_day"] = [
        local_date(pd.Timestamp(a).to_pydatetime(), zone_of[c])
        for a, c in zip(ex["at"], ex["customer_id"], strict=True)
    ]
    cand = pd.concat([q[["customer_id", "_day", "flow"]], ex[["customer_id", "_day", "flow"]]])
    cand["_prio"] = -cand["flow"].map({n: f.priority for n, f in flows.items()}).astype("int64")
    best = (
        cand.sort_values(["_prio", "flow"], kind="stable")
        .drop_duplicates(["customer_id", "_day"])
        .set_index(["customer_id", "_day"])["flow"]
    )
    winner = pd.MultiIndex.from_frame(q[["customer_id", "_day"]]).map(best.to_dict())
    lose = q.index[np.asarray(winner != q["flow"].to_numpy(), dtype=bool)]
    rows.loc[lose, "status"] = "suppressed"
    rows.loc[lose, "reason"] = "priority"


def _caps(rows: pd.DataFrame, existing: pd.DataFrame, settings: Automate, flows: dict[str, Flow]) -> None:
    q = rows[rows["status"] == "queued"]
    if q.empty:
        return
    order = q.assign(_prio=-q["flow"].map({n: f.priority for n, f in flows.items()}))
    order = order.sort_values(["due", "_prio", "flow", "customer_id", "trigger_key"], kind="stable")
    before = existing.groupby(["customer_id", "channel"])["at"].apply(
        lambda s: np.sort(s.to_numpy("datetime64[us]"))
    )
    capped: list[Any] = []
    for (cust, channel), g in order.groupby(["customer_id", "channel"], sort=False):
        cap = settings.caps.get(str(channel))
        if cap is None:
            continue
        limit, period = parse_cap(cap)
        width = np.timedelta64(int(period.total_seconds() * 1e6), "us")
        old = before.get((cust, channel), np.array([], dtype="datetime64[us]"))
        kept: list[np.datetime64] = []
        for idx, due in zip(g.index, g["due"].to_numpy("datetime64[us]"), strict=True):
            n_old = int(np.sum(np.abs(old - due) < width))
            n_new = sum(1 for k in kept if due - k < width)
            if n_old + n_new >= limit:
                capped.append(idx)
            else:
                kept.append(due)
    rows.loc[capped, "status"] = "suppressed"
    rows.loc[capped, "reason"] = "capped"


def _blocked(flows: Sequence[Flow], store: Store, check_tone: bool) -> tuple[dict[str, str], pd.DataFrame]:
    blocked: dict[str, str] = {f.name: "disabled" for f in flows if not f.enabled}
    project = store.project_dir
    for f in flows:
        if f.name in blocked:
            continue
        try:
            message_texts([f], store.config, project)
        except (TemplateError, ConfigError, KeyError) as e:
            blocked[f.name] = f"templates do not render: {e}"
    live = [f for f in flows if f.name not in blocked]
    tone = pd.DataFrame(columns=TONE_COLUMNS)
    if check_tone and live:
        tone = tone_check(live, store.config, project)
        accept = {f.name for f in live if f.accept_tone}
        for r in tone[tone["flagged"].astype(bool)].itertuples():
            if r.flow not in accept and r.flow not in blocked:
                blocked[str(r.flow)] = (
                    f"tone check flagged {r.variant}/{r.language}: {r.finding} "
                    "(soften the message, or set accept_tone = true)"
                )
    return blocked, tone


def event_warnings(con: BaseBackend, flows: Sequence[Flow]) -> list[str]:
    """One line per enabled flow's trigger or cancel event that never occurs in the store's ``events`` (a
    typo such as ``add_to_card`` would otherwise never fire, or never cancel, without a word)."""
    used = [
        (f.name, kind, e)
        for f in flows
        if f.enabled and isinstance(f.trigger, EventTrigger)
        for kind, names in (("trigger", [f.trigger.event]), ("cancel", f.trigger.cancel))
        for e in names
    ]
    if not used:
        return []
    names = sorted({e for _, _, e in used})
    if "events" in con.list_tables():
        ev = con.table("events")
        seen = set(ev.filter(ev.event.isin(names)).select("event").distinct().execute()["event"])
    else:
        seen = set()
    return [
        f"flow {name}: {kind} event {e!r} never occurs in the store's events"
        for name, kind, e in used
        if e not in seen
    ]


def check_metrics(flows: Sequence[Flow], config: Config) -> None:
    """Every enabled flow's ``metric`` is in ``[metrics]`` (else the flow's effect could never be measured): a
    :class:`ConfigError` naming the flow otherwise."""
    from cxlab.experiments import metrics_from_config

    live = [f for f in flows if f.enabled]
    if not live:
        return
    known = metrics_from_config(config)
    for f in live:
        if f.metric not in known:
            raise ConfigError(
                f"cxlab.toml: [flows.{f.name}] metric = {f.metric!r} is not in [metrics] "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )


def plan(
    store: Store,
    flows: Sequence[Flow],
    settings: Automate,
    now: datetime | None = None,
    *,
    check_tone: bool = True,
) -> Plan:
    """Decide every new due trigger of ``flows`` at ``now`` (default: the clock; UTC) — see the module
    docstring. Pure: nothing is written; the run loop stores the rows in the outbox and the exposures.
    ``check_tone=False`` skips the tone check (it loads the text embedder)."""
    at = _now(now)
    check_metrics(flows, store.config)
    blocked, tone = _blocked(flows, store, check_tone)
    con = store.ibis()
    warnings = event_warnings(con, flows)
    frames = []
    for flow in flows:
        if flow.name in blocked:
            continue
        try:
            cand = due_triggers(con, flow, settings, at, store.config)
        except MissingData as e:
            blocked[flow.name] = f"trigger data missing: {e}"
            continue
        except ConvergenceError as e:
            blocked[flow.name] = f"the churn model could not be fitted: {e}"
            continue
        cand = _undecided(con, flow.name, cand)
        if not cand.empty:
            frames.append(_decide(con, flow, cand, settings, at, store))
    if not frames:
        return Plan(_empty_rows(), at, tone, blocked, warnings)
    rows = pd.concat(frames, ignore_index=True)
    rows = _quiet_hours(rows, settings)
    by_name = {f.name: f for f in flows}
    queued = rows.loc[rows["status"] == "queued", "customer_id"]
    existing = (
        _outbox_rows(con, queued, [*COUNTS_AS_SENT, *PENDING])
        if len(queued)
        else pd.DataFrame(columns=["flow", "customer_id", "channel", "at"])
    )
    _priority(rows, existing, by_name)
    _caps(rows, existing, settings, by_name)
    rows = rows.sort_values(["due", "flow", "customer_id", "trigger_key"], kind="stable", ignore_index=True)
    rows["exposed"] = rows["exposed"].astype(bool)
    for col in (
        "flow",
        "customer_id",
        "trigger_key",
        "channel",
        "variant",
        "language",
        "status",
        "reason",
        "order_id",
    ):
        v = rows[col].astype(object)
        rows[col] = v.where(v.notna(), None)
    return Plan(rows[COLUMNS], at, tone, blocked, warnings)
