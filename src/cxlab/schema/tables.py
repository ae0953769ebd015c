"""The canonical data model: the tables every importer writes and every analysis reads.

Each table is a :class:`TableSpec` of :class:`Column` s.  The spec is the single source for the Arrow
schema, the DuckDB DDL, the Ibis schema and the row checks in :mod:`cxlab.schema.checks`.
Timestamps are stored as naive ``TIMESTAMP`` values that mean UTC; importers convert offsets to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

ITEM_TYPE = pa.struct([("product_id", pa.string()), ("quantity", pa.int32()), ("price", pa.float64())])


@dataclass(frozen=True)
class Column:
    """One column: its Arrow type and the rules a value must meet."""

    name: str
    type: pa.DataType
    required: bool = False
    doc: str = ""
    enum: tuple[str, ...] | None = None
    """Allowed values, fixed by the data model."""
    enum_from: str | None = None
    """Name of a config list (e.g. ``channels``) whose values are the allowed ones."""
    min: float | None = None
    pattern: str | None = None
    """Regular expression a string value must match in full."""
    pattern_doc: str = ""
    json: bool = False
    """A string column holding a JSON document."""
    money: bool = False
    """An amount of money: values above :data:`cxlab.schema.checks.MAX_AMOUNT` are refused as implausible."""


@dataclass(frozen=True)
class RowRule:
    """A check across columns, as a SQL predicate over the typed columns that is TRUE for a bad row."""

    field: str
    bad_sql: str
    message: str


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns, its key (the idempotency key) and cross-column rules."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str
    rules: tuple[RowRule, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.type, nullable=not c.required) for c in self.columns],
            metadata={"cxlab.table": self.name, "cxlab.key": ",".join(self.key)},
        )

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` statement for DuckDB."""
        cols = ",\n  ".join(
            f"{quote_ident(c.name)} {duckdb_type(c.type)}{' NOT NULL' if c.required else ''}"
            for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {quote_ident(self.name)} (\n  {cols}\n)"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB SQL type that stores Arrow type ``t`` without loss."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{quote_ident(f.name)} {duckdb_type(f.type)}" for f in t)
        return f"STRUCT({inner})"
    if pa.types.is_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    raise TypeError(f"no DuckDB type for {t}")


TS = pa.timestamp("us")
STR = pa.string()


def _country(name: str) -> Column:
    return Column(name, STR, pattern="[A-Z]{2}", pattern_doc="an ISO 3166 two-letter country code such as NL")


def _language(name: str) -> Column:
    return Column(
        name, STR, pattern="[a-z]{2}", pattern_doc="an ISO 639-1 two-letter language code such as nl"
    )


def _sha256(name: str, doc: str) -> Column:
    return Column(name, STR, doc=doc, pattern="[0-9a-f]{64}", pattern_doc="64 lower-case hex digits")


EVENTS = TableSpec(
    name="events",
    doc="Something a customer did or received at a touchpoint.",
    key=("event_id",),
    columns=(
        Column("event_id", STR, required=True, doc="unique id; the idempotency key"),
        Column("ts", TS, required=True, doc="when it happened (UTC)"),
        Column("customer_id", STR, doc="known customer, when identified"),
        Column("anonymous_id", STR, doc="device or cookie id before identification"),
        Column("session_id", STR, doc="visit id; sessionized from 30 min inactivity when missing"),
        Column(
            "event", STR, required=True, doc="page_view, ad_click, email_open, add_to_cart, purchase, ..."
        ),
        Column("channel", STR, enum_from="channels", doc="marketing channel (from cxlab.toml)"),
        Column("touchpoint", STR, doc="touchpoint (mapped to a journey stage in cxlab.toml)"),
        Column("campaign", STR),
        Column("device", STR, doc="desktop, mobile, tablet, app, ..."),
        Column("revenue", pa.float64(), min=0.0, money=True, doc="revenue of a purchase event"),
        Column("properties", STR, json=True, doc="further attributes as a JSON object"),
    ),
    rules=(
        RowRule(
            "customer_id",
            "customer_id IS NULL AND anonymous_id IS NULL",
            "missing required value: an event needs customer_id or anonymous_id",
        ),
    ),
)

CUSTOMERS = TableSpec(
    name="customers",
    doc="One row per customer; contact fields only as hashes.",
    key=("customer_id",),
    columns=(
        Column("customer_id", STR, required=True),
        Column("first_seen", TS, required=True),
        _country("country"),
        _language("language"),
        Column("birthday", pa.date32()),
        Column("consent_email", pa.bool_()),
        Column("consent_sms", pa.bool_()),
        _sha256(
            "email_hash",
            "keyed hash (HMAC-SHA-256 with the store's secret) of the SHA-256 of the trimmed, lower-cased "
            "e-mail (cxlab.privacy.keys.keyed_contact)",
        ),
        _sha256(
            "phone_hash",
            "keyed hash (HMAC-SHA-256 with the store's secret) of the SHA-256 of the phone number in E.164 "
            "(cxlab.privacy.keys.keyed_contact)",
        ),
    ),
)

ORDER_STATUSES = (
    "pending",
    "authorized",
    "paid",
    "partially_paid",
    "partially_refunded",
    "refunded",
    "voided",
)

ORDERS = TableSpec(
    name="orders",
    doc="One row per order.",
    key=("order_id",),
    columns=(
        Column("order_id", STR, required=True),
        Column("customer_id", STR, doc="null for a guest order without contact details"),
        Column("ts", TS, required=True),
        Column(
            "revenue",
            pa.float64(),
            required=True,
            min=0.0,
            money=True,
            doc="order total, taxes and shipping included",
        ),
        Column(
            "currency", STR, required=True, pattern="[A-Z]{3}", pattern_doc="an ISO 4217 code such as EUR"
        ),
        Column("channel", STR, enum_from="channels"),
        Column("status", STR, enum=ORDER_STATUSES),
        Column("discount", pa.float64(), min=0.0, money=True),
        Column("discount_code", STR),
        Column("refunded", pa.float64(), min=0.0, money=True, doc="amount refunded so far"),
        _country("country"),
        Column("items", pa.list_(ITEM_TYPE), doc="list of {product_id, quantity, price}"),
    ),
)

FEEDBACK_SOURCES = ("review", "nps", "csat", "ces", "ticket")

FEEDBACK = TableSpec(
    name="feedback",
    doc="A review, survey answer or support ticket.",
    key=("feedback_id",),
    columns=(
        Column("feedback_id", STR, required=True),
        Column("customer_id", STR),
        Column("ts", TS, required=True),
        Column("source", STR, required=True, enum=FEEDBACK_SOURCES),
        Column("touchpoint", STR),
        Column("score", pa.float64(), doc="review 1-5, nps 0-10, csat 1-5, ces 1-7"),
        Column("text", STR, doc="the customer's words, as written"),
        _language("language"),
        Column("order_id", STR),
    ),
    rules=(
        RowRule("score", "source = 'nps' AND (score < 0 OR score > 10)", "NPS score must be 0 to 10"),
        RowRule("score", "source IN ('review', 'csat') AND (score < 1 OR score > 5)", "score must be 1 to 5"),
        RowRule("score", "source = 'ces' AND (score < 1 OR score > 7)", "CES score must be 1 to 7"),
        RowRule(
            "text",
            "source IN ('review', 'ticket') AND score IS NULL AND text IS NULL",
            "missing required value: a review or ticket needs a score or a text",
        ),
    ),
)

EXPOSURES = TableSpec(
    name="exposures",
    doc="A customer assigned to an experiment variant (first exposure).",
    key=("experiment_id", "customer_id"),
    columns=(
        Column("experiment_id", STR, required=True),
        Column("variant", STR, required=True),
        Column("customer_id", STR, required=True),
        Column("ts", TS, required=True),
    ),
)

CHANGES = TableSpec(
    name="changes",
    doc="A change made to the experience, optionally tested by an experiment.",
    key=("change_id",),
    columns=(
        Column("change_id", STR, required=True),
        Column("ts", TS, required=True),
        Column("touchpoint", STR, required=True),
        Column("description", STR, required=True),
        Column("experiment_id", STR),
    ),
)

NO_CAMPAIGN = "(none)"
"""Campaign name of spend not split by campaign (the campaign is part of the key, so it can't be empty)."""

SPEND = TableSpec(
    name="spend",
    doc="Media spend per day, channel and campaign (in the shop's currency).",
    key=("date", "channel", "campaign"),
    columns=(
        Column("date", pa.date32(), required=True, doc="the day the money was spent (UTC)"),
        Column("channel", STR, required=True, enum_from="channels", doc="marketing channel"),
        Column(
            "campaign",
            STR,
            required=True,
            doc=f"campaign name as on the events; {NO_CAMPAIGN!r} for spend not split by campaign",
        ),
        Column("cost", pa.float64(), required=True, min=0.0, money=True, doc="amount spent"),
    ),
)

CONSENT_CHANNELS = ("email", "sms", "push", "phone", "post", "whatsapp", "tracking", "profiling")

CONSENT = TableSpec(
    name="consent",
    doc="The consent ledger: every grant and withdrawal, per customer and channel; the latest one counts.",
    key=("customer_id", "channel", "ts", "granted"),
    columns=(
        Column("customer_id", STR, required=True),
        Column("channel", STR, required=True, enum=CONSENT_CHANNELS, doc="what the consent is for"),
        Column("granted", pa.bool_(), required=True, doc="true: granted, false: withdrawn"),
        Column("ts", TS, required=True, doc="when it was given or withdrawn (UTC)"),
        Column("source", STR, doc="where it was recorded: signup form, preference centre, import, ..."),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (EVENTS, CUSTOMERS, ORDERS, FEEDBACK, EXPOSURES, CHANGES, SPEND, CONSENT)
}


def table_spec(name: str) -> TableSpec:
    """The spec of canonical table ``name``; ``KeyError`` with the known names otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r} (expected one of {', '.join(TABLES)})") from None
