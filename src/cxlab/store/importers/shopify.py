"""Shopify's orders export (Admin → Orders → Export, CSV) → canonical ``orders``, ``customers``, ``events``.

The export has one row per line item; the order-level columns (Financial Status, Total, Created at, ...)
are filled on the first row of an order and mostly empty on the rows after it.  Rows are grouped by
``Name`` (the order number, e.g. ``#1001``); for each order-level field the first non-empty value in file
order is used.  Everything runs as DuckDB SQL over the file.

What comes out:

``orders``
    ``order_id`` = Name; ``ts`` = Created at in UTC; ``revenue`` = Total; ``status`` = Financial Status
    normalised (``Partially refunded`` → ``partially_refunded``; values outside the canonical list, such as
    ``expired``, become null with a warning); ``discount`` / ``discount_code`` / ``refunded`` from Discount
    Amount / Discount Code / Refunded Amount; ``country`` = Billing Country (2-letter code as exported);
    ``channel`` from Source: ``pos`` → ``store``; ``iphone`` / ``android`` / ``mobile_app`` → ``app``;
    anything else (``web``, draft orders, app ids) → null, because Shopify's source tells where the order was
    placed, not the marketing channel; ``items`` = every line item, in file order, as {product_id: Lineitem
    sku, or a slug of Lineitem name when the sku is empty; quantity; unit price}.
``customers``
    One row per distinct e-mail (trimmed, lower-cased).  ``customer_id`` = ``shopify_`` + 16 hex digits of
    the keyed hash (HMAC-SHA-256 with the store's secret) of ``shopify_`` + the first 16 hex digits of the
    e-mail's SHA-256 (see :func:`.common.derived_id_sql`); ``email_hash`` = the e-mail's keyed contact hash
    (:func:`cxlab.privacy.keys.keyed_contact`); ``phone_hash`` = the keyed contact hash of the phone (Phone,
    else Billing Phone, else Shipping Phone) reduced to its digits, with a leading ``+`` kept when present (a
    national number stays national: the export has no reliable country for E.164);
    ``first_seen`` = earliest order; ``country``, ``consent_email`` (Accepts Marketing, or Accepts Email
    Marketing in newer exports), ``consent_sms`` (Accepts SMS Marketing, when exported) and ``phone_hash``
    from the customer's most recent order that has them.  Orders without an e-mail (guest or POS) have a
    null ``customer_id`` and make no customer.  No e-mail, name, address or phone number is written in clear.
``events``
    A ``purchase`` per order: ``shopify:<Name>:purchase``, touchpoint ``checkout``, the order's channel,
    ``revenue`` = Total, properties ``{"order_id", "financial_status", "source"}``.  Orders without an e-mail
    get ``anonymous_id`` = ``shopify_guest:<Name>`` (an event needs some identity).  A ``refund`` event
    (``shopify:<Name>:refund``, touchpoint ``returns``, ``revenue`` = the refunded amount, positive) is added
    for refunded and partially refunded orders only when the export dates it, i.e. the order has a
    Cancelled at; the export has no refund date otherwise, and a refund placed at the order's time would
    distort time-between-steps, so those refunds stay in ``orders.refunded`` only (with a warning).  Sum
    revenue over ``event = 'purchase'`` to get sales.

Timestamps such as ``2024-03-05 14:02:11 +0100`` are converted to UTC; ISO 8601 with an offset is accepted
too; a time without an offset is read as UTC (with a warning).  Row numbers in errors count CSV records
with the header as row 1, as a spreadsheet shows them (a quoted field spanning lines is still one row).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cxlab.privacy.keys import keyed_contact_sql
from cxlab.store.importers.common import (
    MAX_ERRORS,
    ImporterError,
    ImportResult,
    RowProblem,
    connection,
    derived_id_sql,
    format_problems,
    quote_ident,
    sql_literal,
    to_canonical,
)

__all__ = ["REQUIRED_COLUMNS", "import_shopify_orders"]

REQUIRED_COLUMNS = ("Name", "Created at", "Total")
"""Columns without which a file is not a Shopify orders export."""

_OPTIONAL_COLUMNS = (
    "Email",
    "Financial Status",
    "Accepts Marketing",
    "Currency",
    "Discount Code",
    "Discount Amount",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Billing Country",
    "Phone",
    "Billing Phone",
    "Shipping Phone",
    "Cancelled at",
    "Refunded Amount",
    "Source",
    "Accepts SMS Marketing",
)
_ALIASES = {"Accepts Marketing": ("Accepts Email Marketing",)}
"""Other names a column has had in Shopify's exports."""
_STATUSES = ("pending", "authorized", "paid", "partially_paid", "partially_refunded", "refunded", "voided")
_APP_SOURCES = ("iphone", "android", "mobile_app", "shopify_mobile")
_CONTACT_FIELDS = frozenset({"Email", "Phone", "Billing Phone", "Shipping Phone"})


def _ts_sql(x: str) -> str:
    """UTC ``TIMESTAMP`` from a Shopify date-time text (NULL when unparseable)."""
    return (
        f"CASE WHEN regexp_matches({x}, '([zZ]|[+-][0-9]{{2}}:?[0-9]{{2}})$') THEN coalesce("
        f"try_strptime({x}, ['%Y-%m-%d %H:%M:%S %z', '%Y-%m-%d %H:%M:%S%z', '%Y-%m-%dT%H:%M:%S%z']) "
        f"AT TIME ZONE 'UTC', TRY_CAST({x} AS TIMESTAMPTZ) AT TIME ZONE 'UTC') "
        f"ELSE TRY_CAST({x} AS TIMESTAMP) END"
    )


def _read(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> dict[str, str]:
    """Load the CSV into temp table ``shop_raw`` (all text, file order); return canonical → actual names.

    Shopify writes commas; a file re-saved by a spreadsheet with semicolons is read too.
    """
    with path.open(encoding="utf-8", errors="replace") as f:
        header = f.readline(1 << 16)
    delim = ";" if header.count(";") > header.count(",") else ","
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE shop_raw AS SELECT * FROM read_csv(?, header = true, "
            f"all_varchar = true, delim = '{delim}', quote = '\"', escape = '\"', strict_mode = true)",
            [str(path)],
        )
        cols = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE shop_raw)").fetchall()]
    except duckdb.Error as e:
        raise ImporterError(f"{name}: cannot read as CSV: {str(e).splitlines()[0]}") from e
    by_key = {c.strip().lower(): c for c in cols}
    missing = [c for c in REQUIRED_COLUMNS if c.lower() not in by_key]
    if missing:
        raise ImporterError(
            f"{name}: not a Shopify orders export: missing column{'s' if len(missing) > 1 else ''} "
            + ", ".join(repr(c) for c in missing)
        )
    found: dict[str, str] = {}
    for c in (*REQUIRED_COLUMNS, *_OPTIONAL_COLUMNS):
        for candidate in (c, *_ALIASES.get(c, ())):
            if candidate.lower() in by_key:
                found[c] = by_key[candidate.lower()]
                break
    return found


def _stage(
    con: duckdb.DuckDBPyConnection, cols: dict[str, str], default_currency: str | None, secret: bytes
) -> None:
    """Typed, per-row temp table ``shop_rows`` with raw texts kept for error messages."""

    def raw(c: str) -> str:
        return f"nullif(trim({quote_ident(cols[c])}), '')" if c in cols else "CAST(NULL AS VARCHAR)"

    cur = sql_literal(default_currency.strip().upper()) if default_currency else "CAST(NULL AS VARCHAR)"
    phone = f"coalesce({raw('Phone')}, {raw('Billing Phone')}, {raw('Shipping Phone')})"
    e164 = (
        "(CASE WHEN starts_with(ltrim(phone_raw, ''' '), '+') THEN '+' ELSE '' END "
        "|| regexp_replace(phone_raw, '[^0-9]', '', 'g'))"
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE shop_rows AS
        WITH r AS (
            SELECT rowid AS _rid, rowid + 2 AS _row,
                {raw("Name")} AS name, {raw("Created at")} AS created_raw, {raw("Total")} AS total_raw,
                lower(trim({raw("Email")})) AS email,
                {raw("Financial Status")} AS status_raw, lower({raw("Accepts Marketing")}) AS accepts_raw,
                lower({raw("Accepts SMS Marketing")}) AS accepts_sms_raw,
                upper({raw("Currency")}) AS currency_raw, {raw("Discount Code")} AS discount_code,
                {raw("Discount Amount")} AS discount_raw, {raw("Refunded Amount")} AS refunded_raw,
                {raw("Lineitem quantity")} AS qty_raw, {raw("Lineitem name")} AS item_name,
                {raw("Lineitem price")} AS price_raw, {raw("Lineitem sku")} AS sku,
                upper({raw("Billing Country")}) AS country_raw, {phone} AS phone_raw,
                {raw("Cancelled at")} AS cancelled_raw, lower({raw("Source")}) AS source
            FROM shop_raw
        )
        SELECT *,
            {_ts_sql("created_raw")} AS ts,
            {_ts_sql("cancelled_raw")} AS cancelled_ts,
            NOT regexp_matches(created_raw, '([zZ]|[+-][0-9]{{2}}:?[0-9]{{2}})$') AS ts_no_offset,
            TRY_CAST(total_raw AS DOUBLE) AS total,
            abs(TRY_CAST(discount_raw AS DOUBLE)) AS discount,
            TRY_CAST(refunded_raw AS DOUBLE) AS refunded,
            TRY_CAST(qty_raw AS INTEGER) AS qty,
            TRY_CAST(price_raw AS DOUBLE) AS price,
            coalesce(currency_raw, {cur}) AS currency,
            replace(replace(lower(status_raw), ' ', '_'), '-', '_') AS status_norm,
            CASE WHEN accepts_raw IN ('yes', 'true') THEN TRUE WHEN accepts_raw IN ('no', 'false') THEN FALSE
                 END AS accepts,
            CASE WHEN accepts_sms_raw IN ('yes', 'true') THEN TRUE WHEN accepts_sms_raw IN ('no', 'false')
                 THEN FALSE END AS accepts_sms,
            CASE WHEN regexp_full_match(country_raw, '[A-Z]{{2}}') THEN country_raw END AS country,
            CASE WHEN regexp_replace(phone_raw, '[^0-9]', '', 'g') <> '' THEN {keyed_contact_sql(secret, e164)}
                END AS phone_hash,
            coalesce(sku, nullif(trim(regexp_replace(lower(item_name), '[^\\pL\\pN]+', '-', 'g'), '-'), ''))
                AS product_id,
            (qty_raw IS NOT NULL OR item_name IS NOT NULL OR sku IS NOT NULL) AS has_item,
            min(_rid) OVER w AS _first_rid,
            count(created_raw) OVER w AS _n_created,
            count(total_raw) OVER w AS _n_total,
            count(currency_raw) OVER w AS _n_currency
        FROM r
        WINDOW w AS (PARTITION BY name)
    """)


# (field, problem, SQL true for a bad row, SQL of the value shown)
_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    ("Name", "missing: every row needs the order's Name", "name IS NULL", "NULL"),
    (
        "Created at",
        "not a date-time (expected e.g. 2024-03-05 14:02:11 +0100)",
        "created_raw IS NOT NULL AND ts IS NULL",
        "created_raw",
    ),
    (
        "Created at",
        "missing for this order",
        "name IS NOT NULL AND _n_created = 0 AND _rid = _first_rid",
        "NULL",
    ),
    ("Total", "not a number", "total_raw IS NOT NULL AND total IS NULL", "total_raw"),
    ("Total", "negative amount", "total < 0", "total_raw"),
    ("Total", "missing for this order", "name IS NOT NULL AND _n_total = 0 AND _rid = _first_rid", "NULL"),
    (
        "Currency",
        "missing for this order (pass default_currency= to assume one)",
        "name IS NOT NULL AND _n_currency = 0 AND currency IS NULL AND _rid = _first_rid",
        "NULL",
    ),
    (
        "Currency",
        "not an ISO 4217 code such as EUR",
        "currency_raw IS NOT NULL AND NOT regexp_full_match(currency_raw, '[A-Z]{3}')",
        "currency_raw",
    ),
    ("Discount Amount", "not a number", "discount_raw IS NOT NULL AND discount IS NULL", "discount_raw"),
    ("Refunded Amount", "not a number", "refunded_raw IS NOT NULL AND refunded IS NULL", "refunded_raw"),
    ("Refunded Amount", "negative amount", "refunded < 0", "refunded_raw"),
    ("Lineitem quantity", "not a whole number", "qty_raw IS NOT NULL AND qty IS NULL", "qty_raw"),
    ("Lineitem quantity", "negative quantity", "qty < 0", "qty_raw"),
    ("Lineitem price", "not a number", "price_raw IS NOT NULL AND price IS NULL", "price_raw"),
    ("Lineitem price", "negative price", "price < 0", "price_raw"),
    (
        "Cancelled at",
        "not a date-time",
        "cancelled_raw IS NOT NULL AND cancelled_ts IS NULL",
        "cancelled_raw",
    ),
)


def _check(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Raise :class:`ImporterError` listing the first bad values, if any."""
    items = ", ".join(
        f"CASE WHEN coalesce({bad}, FALSE) THEN {{'i': {i}, 'v': CAST({value} AS VARCHAR)}} END"
        for i, (_, _, bad, value) in enumerate(_CHECKS)
    )
    # materialised first: DuckDB 1.5 can drop rows when ORDER BY ... LIMIT runs straight over an unnest
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE shop_errors AS
        SELECT _row, unnest(errs, recursive := true) FROM (
            SELECT _row, list_filter([{items}], lambda e: e IS NOT NULL) AS errs FROM shop_rows
        ) WHERE len(errs) > 0""")
    total = con.execute("SELECT count(*) FROM shop_errors").fetchone()
    if not total or not total[0]:
        return
    rows = con.execute(f"SELECT _row, i, v FROM shop_errors ORDER BY _row, i LIMIT {MAX_ERRORS}").fetchall()
    problems = [
        RowProblem(int(row), _CHECKS[i][0], _CHECKS[i][1], v, show=_CHECKS[i][0] not in _CONTACT_FIELDS)
        for row, i, v in rows
    ]
    raise ImporterError(format_problems(name, problems, int(total[0])))


def _build(con: duckdb.DuckDBPyConnection, secret: bytes) -> None:
    """Temp tables ``shop_orders`` (one row per order, with the helper columns events and customers need)."""

    def first(x: str) -> str:
        return f"arg_min({x}, _rid) FILTER (WHERE {x} IS NOT NULL)"

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE shop_orders AS
        SELECT name AS order_id,
            {first("email")} AS email,
            {first("ts")} AS ts,
            {first("total")} AS revenue,
            {first("currency")} AS currency,
            {first("status_norm")} AS status_norm,
            {first("discount")} AS discount,
            {first("discount_code")} AS discount_code,
            {first("refunded")} AS refunded,
            {first("country")} AS country,
            {first("country_raw")} AS country_raw,
            {first("accepts")} AS accepts,
            {first("accepts_sms")} AS accepts_sms,
            {first("phone_hash")} AS phone_hash,
            {first("cancelled_ts")} AS cancelled_ts,
            {first("source")} AS source,
            bool_or(ts_no_offset) AS ts_no_offset,
            coalesce(list({{'product_id': product_id, 'quantity': qty, 'price': price}} ORDER BY _rid)
                     FILTER (WHERE has_item), []) AS items,
            bool_or(has_item AND product_id IS NULL) AS item_without_id,
            min(_rid) AS _rid
        FROM shop_rows
        GROUP BY name
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE shop_orders2 AS
        SELECT *,
            CASE WHEN email IS NOT NULL THEN {derived_id_sql(secret, "shopify_", "email")} END AS customer_id,
            {keyed_contact_sql(secret, "email")} AS email_hash,
            CASE WHEN status_norm IN ({", ".join(sql_literal(s) for s in _STATUSES)}) THEN status_norm END
                AS status,
            CASE WHEN source = 'pos' THEN 'store'
                 WHEN source IN ({", ".join(sql_literal(s) for s in _APP_SOURCES)}) THEN 'app' END AS channel
        FROM shop_orders
    """)


_ORDERS_SQL = """
    SELECT order_id, customer_id, ts, revenue, currency, channel, status, discount, discount_code, refunded,
        country, items
    FROM shop_orders2 ORDER BY ts, _rid"""

_CUSTOMERS_SQL = """
    SELECT any_value(customer_id) AS customer_id, min(ts) AS first_seen,
        arg_max(country, ts) FILTER (WHERE country IS NOT NULL) AS country,
        CAST(NULL AS VARCHAR) AS language, CAST(NULL AS DATE) AS birthday,
        arg_max(accepts, ts) FILTER (WHERE accepts IS NOT NULL) AS consent_email,
        arg_max(accepts_sms, ts) FILTER (WHERE accepts_sms IS NOT NULL) AS consent_sms,
        any_value(email_hash) AS email_hash,
        arg_max(phone_hash, ts) FILTER (WHERE phone_hash IS NOT NULL) AS phone_hash
    FROM shop_orders2 WHERE email IS NOT NULL
    GROUP BY email ORDER BY first_seen, customer_id"""

_EVENT_COLS = """event_id, ts, customer_id, anonymous_id, CAST(NULL AS VARCHAR) AS session_id, event, channel,
    touchpoint, CAST(NULL AS VARCHAR) AS campaign, CAST(NULL AS VARCHAR) AS device, revenue, properties"""

_EVENTS_SQL = f"""
    SELECT {_EVENT_COLS} FROM (
        SELECT 'shopify:' || order_id || ':purchase' AS event_id, ts, customer_id,
            CASE WHEN customer_id IS NULL THEN 'shopify_guest:' || order_id END AS anonymous_id,
            'purchase' AS event, channel, 'checkout' AS touchpoint, revenue,
            CAST(json_object('order_id', order_id, 'financial_status', status_norm, 'source', source)
                 AS VARCHAR)
                AS properties, 0 AS _k, _rid
        FROM shop_orders2
        UNION ALL
        SELECT 'shopify:' || order_id || ':refund', cancelled_ts, customer_id,
            CASE WHEN customer_id IS NULL THEN 'shopify_guest:' || order_id END,
            'refund', channel, 'returns', refunded,
            CAST(json_object('order_id', order_id, 'financial_status', status_norm,
                             'refunded_amount', refunded, 'ts_from', 'Cancelled at') AS VARCHAR), 1, _rid
        FROM shop_orders2
        WHERE status IN ('refunded', 'partially_refunded') AND refunded > 0 AND cancelled_ts IS NOT NULL
    ) ORDER BY ts, _rid, _k"""


def _warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    out: list[str] = []

    def count(where: str) -> int:
        row = con.execute(f"SELECT count(*) FROM shop_orders2 WHERE {where}").fetchone()
        return int(row[0]) if row else 0

    if n := count("email IS NULL"):
        out.append(f"{n} order(s) without an e-mail (guest or POS): no customer_id, no customer row")
    unknown = con.execute(
        "SELECT status_norm, count(*) FROM shop_orders2 WHERE status IS NULL AND status_norm IS NOT NULL "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    if unknown:
        shown = ", ".join(f"{v!r} ({n})" for v, n in unknown)
        out.append(f"Financial Status values outside the canonical list stored as null status: {shown}")
    if n := count("country IS NULL AND country_raw IS NOT NULL"):
        out.append(f"{n} order(s) with a Billing Country that is not a 2-letter code: country left empty")
    if n := count("status IN ('refunded', 'partially_refunded') AND refunded > 0 AND cancelled_ts IS NULL"):
        out.append(
            f"{n} refund(s) without a date in the export (no Cancelled at): amount kept in "
            "orders.refunded, no refund event"
        )
    if n := count("ts_no_offset"):
        out.append(f"{n} order(s) with a Created at without a UTC offset: read as UTC")
    if n := count("item_without_id"):
        out.append(f"{n} order(s) with a line item without sku or name: its product_id is empty")
    return out


def import_shopify_orders(
    path: str | Path,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    default_currency: str | None = None,
    secret: bytes,
) -> ImportResult:
    """Convert a Shopify orders export (CSV) into canonical ``orders``, ``customers`` and ``events``.

    ``con``: a DuckDB connection to work in (a cursor of it is used; nothing is written to its tables);
    an in-memory one by default.  ``default_currency``: the ISO 4217 code for orders whose Currency is
    empty or absent; without it such orders are an error.  Raises :class:`ImporterError` for a file that
    is not an orders export or has bad values (``file:row: field: problem``, up to 20 listed).
    ``secret``: the store's secret (:func:`cxlab.privacy.keys.load_secret`) for keyed contact hashes and ids.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ImporterError(f"{name}: no such file")
    with connection(con) as cur:
        cols = _read(cur, path, name)
        _stage(cur, cols, default_currency, secret)
        _check(cur, name)
        _build(cur, secret)
        tables = {
            "orders": to_canonical(cur.sql(_ORDERS_SQL), "orders"),
            "customers": to_canonical(cur.sql(_CUSTOMERS_SQL), "customers"),
            "events": to_canonical(cur.sql(_EVENTS_SQL), "events"),
        }
        warnings = _warnings(cur)
    return ImportResult(tables=tables, warnings=warnings)
