"""``cxlab privacy``: erase and export a customer, consent, retention, key migration and the audit log.

Commands are thin shells over :mod:`cxlab.privacy`'s functions (the lead mounts ``app``)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Privacy: erase/export a customer, consent ledger, retention, keyed hashes, audit log.",
    no_args_is_help=True,
)

# --- erase, export, audit -------------------------------------------------------------------------------

# --- consent, retention ---------------------------------------------------------------------------------

# --- keyed hashes: secret, migration ------------------------------------------------------------------
