"""``cxlab privacy``: erase and export a customer, consent, retention, key migration and the audit log.

Commands are thin shells over :mod:`cxlab.privacy`'s functions (the lead mounts ``app``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxlab.clitools import WideOpt

app = typer.Typer(
    help="Privacy: erase/export a customer, consent ledger, retention, keyed hashes, audit log.",
    no_args_is_help=True,
)

# --- erase, export, audit -------------------------------------------------------------------------------

_EmailOpt = Annotated[
    str | None, typer.Option("--email", help="Also find the customer by this e-mail (matched by keyed hash).")
]
_PhoneOpt = Annotated[
    str | None, typer.Option("--phone", help="Also find the customer by this phone number (keyed hash).")
]


@app.command("erase")
def erase_cmd(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    email: _EmailOpt = None,
    phone: _PhoneOpt = None,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact", help="Rewrite the store file even when no erased text is found verbatim in it."
        ),
    ] = False,
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Erase CUSTOMER_ID from every table, the voice results and the store file's bytes; record a tombstone
    so that their data is refused when it arrives again. Audited."""
    from rich.markup import escape

    from cxlab.clitools import console, emit_json, errors_as_exit
    from cxlab.privacy.erase import erase

    with errors_as_exit():
        result = erase(db, customer_id, email, phone, force_compact=compact)
    if json_:
        emit_json(result.to_dict())
    else:
        console.print(escape(result.summary()), soft_wrap=True)


@app.command("export")
def export_cmd(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write <table>.json and manifest.json to.")],
    email: _EmailOpt = None,
    phone: _PhoneOpt = None,
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Export everything stored about CUSTOMER_ID as JSON per table (a subject access request). Audited."""
    from rich.markup import escape

    from cxlab.clitools import console, emit_json, errors_as_exit
    from cxlab.privacy.export import export
    from cxlab.store import Store

    with errors_as_exit():
        _existing(db)
        with Store(db) as store:
            result = export(store.con, store.secret, customer_id, out, email, phone)
    if json_:
        emit_json(result.to_dict())
    else:
        console.print(escape(result.summary()), soft_wrap=True)


@app.command("audit")
def audit_cmd(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many entries, newest first.")] = 100,
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    wide: WideOpt = False,
) -> None:
    """The audit log: erase, export, prune, consent and key changes: who, when, about whom (keyed hash),
    how many rows."""
    import pandas as pd

    from cxlab.clitools import emit_json, errors_as_exit, show_frame
    from cxlab.privacy.audit import entries
    from cxlab.store import Store

    with errors_as_exit(), Store(db, read_only=True) as store:
        log = entries(store.con, limit)
    if json_:
        emit_json({"entries": log})
        return
    df = pd.DataFrame(log, columns=["ts", "action", "actor", "subject", "rows", "detail"])

    def brief(v: object) -> str:
        if isinstance(v, dict):  # per-table counts: the non-zero ones
            return ", ".join(f"{k} {n}" for k, n in v.items() if n) or "none"
        return str(v)

    df["detail"] = ["; ".join(f"{k}: {brief(v)}" for k, v in d.items()) for d in df["detail"]]
    show_frame(df, "Audit log (newest first)", f"{len(df):,} entries; subjects are keyed hashes.", wide=wide)


# --- consent, retention ---------------------------------------------------------------------------------

consent_app = typer.Typer(
    help="The consent ledger: grant or withdraw a channel for a customer, show the current state.",
    no_args_is_help=True,
)
app.add_typer(consent_app, name="consent")


def _existing(db: Path) -> None:
    if not db.exists():
        raise FileNotFoundError(f"{db}: no such store (create one with `cxlab init` or `cxlab demo`)")


def _consent_change(db: Path, customer_id: str, channel: str, source: str | None, granted: bool) -> None:
    from cxlab.clitools import console, errors_as_exit
    from cxlab.privacy.consent import change
    from cxlab.store import Store

    with errors_as_exit():
        _existing(db)
        with Store(db) as store:
            change(store, customer_id, channel, granted=granted, source=source)
    console.print(f"{'granted' if granted else 'withdrawn'}: {channel}, in effect from now")


@consent_app.command("grant")
def consent_grant(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    channel: Annotated[str, typer.Option("--channel", help="email, sms, push, phone, post, ...")],
    source: Annotated[
        str | None, typer.Option("--source", help="Where it was given (signup form, ...).")
    ] = None,
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
) -> None:
    """Record that CUSTOMER_ID granted consent for a channel (appends to the ledger)."""
    _consent_change(db, customer_id, channel, source, True)


@consent_app.command("withdraw")
def consent_withdraw(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    channel: Annotated[str, typer.Option("--channel", help="email, sms, push, phone, post, ...")],
    source: Annotated[
        str | None, typer.Option("--source", help="Where it was withdrawn (unsubscribe link, ...).")
    ] = None,
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
) -> None:
    """Record that CUSTOMER_ID withdrew consent for a channel; automated flows stop at once."""
    _consent_change(db, customer_id, channel, source, False)


@consent_app.command("show")
def consent_show(
    customer_id: Annotated[
        str | None, typer.Argument(help="A customer's id; without it, counts per channel.")
    ] = None,
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    wide: WideOpt = False,
) -> None:
    """The current consent: per channel for one customer, or how many customers granted/withdrew each."""
    from cxlab.clitools import emit_json, errors_as_exit, show_frame
    from cxlab.privacy.consent import channel_counts, consent_state
    from cxlab.store import Store

    with errors_as_exit(), Store(db, read_only=True) as store:
        if customer_id is None:
            df = channel_counts(store.con).execute()
            key, title = "channels", "Consent per channel (customers)"
            summary = "Customers without a ledger row for a channel have not granted it (opt-in)."
        else:
            state = consent_state(store.con)
            df = state.filter(state.customer_id == customer_id).order_by("channel").execute()
            key, title = "consent", f"Consent of customer {customer_id}"
            summary = (
                "No consent recorded: the customer has granted no channel."
                if df.empty
                else "Channels not listed have not been granted."
            )
    if json_:
        emit_json({key: df.to_dict("records")})
    else:
        show_frame(df, title, summary, wide=wide)


@app.command("prune")
def prune_cmd(
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Delete rows older than the retain_* settings in cxlab.toml's privacy section, keeping monthly
    aggregates without personal keys. `cxlab serve` runs it daily; without a server, run it from cron."""
    from rich.markup import escape

    from cxlab.clitools import console, emit_json, errors_as_exit
    from cxlab.privacy.retention import prune
    from cxlab.store import Store

    with errors_as_exit():
        _existing(db)
        with Store(db) as store:
            result = prune(store, dry_run=dry_run)
    if json_:
        emit_json(
            {
                "dry_run": result.dry_run,
                "rows_removed": result.rows_removed,
                "voice_removed": result.voice_removed,
                "cutoffs": {t: c.isoformat() for t, c in result.cutoffs.items()},
                "aggregates_kept": result.aggregates,
            }
        )
    else:
        console.print(escape(result.summary()), soft_wrap=True)


# --- keyed hashes: secret, migration ------------------------------------------------------------------


@app.command("migrate-keys")
def migrate_keys_cmd(
    db: Annotated[Path, typer.Option("--db", help="The store (a DuckDB file).")] = Path("cxlab.duckdb"),
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Re-key a store made before keyed hashing: plain SHA-256 e-mail/phone hashes and e-mail-derived
    customer ids become keyed (HMAC) values with the store's secret. Runs once; audited."""
    from rich.markup import escape

    from cxlab.clitools import console, emit_json, errors_as_exit
    from cxlab.privacy.migrate import migrate_keys
    from cxlab.store import Store

    with errors_as_exit():
        if not db.exists():
            raise FileNotFoundError(f"{db}: no such store (create one with `cxlab init` or `cxlab demo`)")
        with Store(db) as store:
            result = migrate_keys(store.con, store.secret)
    if json_:
        emit_json({"db": str(db), "rows": result.rows, "total": result.total})
        return
    for what, n in result.rows.items():
        console.print(f"{escape(what)}: {n:,} re-keyed")
    console.print(f"{result.total:,} values re-keyed with the store's secret; the store is now keyed.")
