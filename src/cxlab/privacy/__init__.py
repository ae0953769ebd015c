"""Privacy built in: keyed pseudonymisation of contact data, scrubbing of personal data on ingest, erase and
export per customer with tombstones, a consent ledger, retention and an audit log."""
