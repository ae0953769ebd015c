"""GA4's BigQuery export (``events_*`` rows; Parquet or JSON Lines, optionally gzipped) → ``events``.

One input row is one event, with the export's schema: ``event_timestamp`` (microseconds, UTC),
``event_name``, ``event_params`` (repeated {key, value {string_value, int_value, float_value,
double_value}}), ``user_pseudo_id``, ``user_id``, ``device.category``, ``traffic_source`` {source, medium,
name} (the user's first touch), ``collected_traffic_source`` {manual_source, manual_medium,
manual_campaign_name, gclid, ...} (event level), ``session_traffic_source_last_click.manual_campaign``
(newer exports), ``ecommerce`` {purchase_revenue, transaction_id, ...} and ``items``.  BigQuery's JSON
export writes INT64 values as strings; both forms are read.  Fields absent from a file read as null.

Columns of the result:

- ``event_id``: ``ga4:`` + 32 hex digits of SHA-256 over user_pseudo_id, user_id, event_timestamp,
  event_name, ga_session_id, batch_page_id, batch_ordering_id and batch_event_index, so importing the same
  export again gives the same ids.  Rows with the same id inside one import (exact re-sends) are kept once,
  with a warning.
- ``ts`` from event_timestamp; ``anonymous_id`` = user_pseudo_id; ``customer_id`` = user_id (a user_id
  that contains ``@`` is taken for an e-mail address and stored only as ``email_`` + 16 hex digits of a
  keyed hash with the store's secret (of ``email_`` + 16 hex digits of the SHA-256 of it trimmed and
  lower-cased, see :func:`.common.derived_id_sql`), with a warning);
  ``session_id`` = user_pseudo_id + ``.`` + the ``ga_session_id`` event parameter.
- ``event``: GA4's name, except ``begin_checkout`` → ``checkout`` (:data:`EVENT_NAMES`).
- ``touchpoint`` from the event name (:data:`TOUCHPOINTS`; page_view → site, view_item → product_page,
  add_to_cart → cart, begin_checkout / add_payment_info / purchase → checkout, refund → returns, ...),
  null for names not listed.
- ``channel``: GA4's default channel grouping (:mod:`.ga4_channels`) of a source / medium / campaign taken,
  in this order, from (1) the event itself: the ``source`` / ``medium`` / ``campaign`` event parameters,
  else ``collected_traffic_source`` (a ``gclid`` without a manual source counts as google / cpc, as Google
  Ads auto-tagging reports it); (2) the nearest earlier event of the same session that has (1), else the
  session's first such event; (3) ``session_traffic_source_last_click.manual_campaign``; (4)
  ``traffic_source`` (the user's first touch); with none of them, Direct.  Where it came from is kept in
  ``properties.channel_from``.  Step (2) is an addition to "event, else collected, else first touch": it
  keeps a paid session's later page views on the paid channel instead of the user's first-touch channel.
- ``campaign`` from the same source, with GA4's placeholders such as ``(not set)`` and ``(organic)`` as null.
- ``device`` = device.category; ``revenue`` = ecommerce.purchase_revenue (else the ``value`` parameter)
  on ``purchase`` events only.
- ``properties``: the event parameters not used above (page_location, currency, transaction_id, ...)
  with their types, plus ``source`` / ``medium`` used for the channel, ``channel_from``, ``transaction_id``
  and ``refund_value`` from ``ecommerce``, ``items`` ({item_id, item_name, price, quantity}), ``country``
  (geo.country, a name in GA4) and ``ga4_event`` when the event was renamed.

Rows are numbered per file from 1 (a JSON Lines file: its line; Parquet: its record).  Bad input raises
:class:`ImporterError`: a file without the GA4 columns ``event_timestamp``, ``event_name``, ``event_params``
and ``user_pseudo_id``; or rows with a missing or non-integer event_timestamp, no event_name, or neither
user_pseudo_id nor user_id (``file:row: field: problem``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cxlab.privacy.keys import hmac_sql
from cxlab.store.importers.common import (
    MAX_ERRORS,
    ImporterError,
    ImportResult,
    RowProblem,
    connection,
    format_problems,
    quote_ident,
    sql_list,
    sql_literal,
    to_canonical,
)
from cxlab.store.importers.ga4_channels import channel_sql

__all__ = ["EVENT_NAMES", "REQUIRED_COLUMNS", "TOUCHPOINTS", "import_ga4"]

REQUIRED_COLUMNS = ("event_timestamp", "event_name", "event_params", "user_pseudo_id")
"""Top-level columns without which a file is not a GA4 events export."""

EVENT_NAMES: dict[str, str] = {"begin_checkout": "checkout"}
"""GA4 event names that differ from cxlab's vocabulary; all others are kept as they are."""

TOUCHPOINTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "page_view",
            "session_start",
            "first_visit",
            "user_engagement",
            "scroll",
            "click",
            "search",
            "view_search_results",
            "view_item_list",
            "select_item",
            "view_promotion",
            "select_promotion",
            "login",
            "sign_up",
            "generate_lead",
            "file_download",
            "form_start",
            "form_submit",
            "video_start",
            "video_progress",
            "video_complete",
        ),
        "site",
    ),
    **dict.fromkeys(("view_item", "add_to_wishlist"), "product_page"),
    **dict.fromkeys(("add_to_cart", "remove_from_cart", "view_cart"), "cart"),
    **dict.fromkeys(("begin_checkout", "add_shipping_info", "add_payment_info", "purchase"), "checkout"),
    "refund": "returns",
}
"""GA4 event name → cxlab touchpoint."""

_CAMPAIGN_PLACEHOLDERS = (
    "(not set)",
    "(direct)",
    "(organic)",
    "(referral)",
    "(none)",
    "(data deleted)",
    "(cross-network)",
    "(not provided)",
)
_USED_PARAMS = ("ga_session_id", "source", "medium", "campaign")
_SUFFIXES = {".parquet": "parquet", ".parq": "parquet", ".jsonl": "json", ".ndjson": "json", ".json": "json"}

_V = "STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE, double_value DOUBLE)"
_ITEM = "STRUCT(item_id VARCHAR, item_name VARCHAR, price DOUBLE, quantity BIGINT)"

# Leaves read from a file: path → canonical DuckDB type.  ``event_params.*`` and ``items.*`` are fields
# of list elements.
_LEAVES: dict[str, str] = {
    "event_timestamp": "BIGINT",
    "event_name": "VARCHAR",
    "user_pseudo_id": "VARCHAR",
    "user_id": "VARCHAR",
    "device.category": "VARCHAR",
    "geo.country": "VARCHAR",
    "traffic_source.source": "VARCHAR",
    "traffic_source.medium": "VARCHAR",
    "traffic_source.name": "VARCHAR",
    "collected_traffic_source.manual_source": "VARCHAR",
    "collected_traffic_source.manual_medium": "VARCHAR",
    "collected_traffic_source.manual_campaign_name": "VARCHAR",
    "collected_traffic_source.gclid": "VARCHAR",
    "session_traffic_source_last_click.manual_campaign.source": "VARCHAR",
    "session_traffic_source_last_click.manual_campaign.medium": "VARCHAR",
    "session_traffic_source_last_click.manual_campaign.campaign_name": "VARCHAR",
    "ecommerce.purchase_revenue": "DOUBLE",
    "ecommerce.refund_value": "DOUBLE",
    "ecommerce.transaction_id": "VARCHAR",
    "batch_event_index": "BIGINT",
    "batch_page_id": "BIGINT",
    "batch_ordering_id": "BIGINT",
}
_PARAM_LEAVES = {
    "key": "VARCHAR",
    "value.string_value": "VARCHAR",
    "value.int_value": "BIGINT",
    "value.float_value": "DOUBLE",
    "value.double_value": "DOUBLE",
}
_ITEM_LEAVES = {"item_id": "VARCHAR", "item_name": "VARCHAR", "price": "DOUBLE", "quantity": "BIGINT"}


def _json_columns() -> dict[str, str]:
    """``columns=`` for ``read_json``: every leaf read as text (INT64 arrive as strings), cast later."""
    tree: dict[str, object] = {}
    for path in _LEAVES:
        node = tree
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})  # type: ignore[assignment]
        node[leaf] = "VARCHAR"

    def render(t: object) -> str:
        if isinstance(t, str):
            return t
        assert isinstance(t, dict)
        return "STRUCT(" + ", ".join(f"{quote_ident(k)} {render(v)}" for k, v in t.items()) + ")"

    cols = {k: render(v) for k, v in tree.items()}
    cols["event_params"] = (
        "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value VARCHAR, "
        "float_value VARCHAR, double_value VARCHAR))[]"
    )
    cols["items"] = "STRUCT(item_id VARCHAR, item_name VARCHAR, price VARCHAR, quantity VARCHAR)[]"
    return cols


def _arrow_paths(schema: pa.Schema) -> dict[str, pa.DataType]:
    """Every field path of a schema (``a.b.c``), lists looked through, with its Arrow type."""
    out: dict[str, pa.DataType] = {}

    def walk(prefix: str, t: pa.DataType) -> None:
        out[prefix] = t
        if pa.types.is_struct(t):
            for f in t:
                walk(f"{prefix}.{f.name}", f.type)
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            walk(prefix, t.value_type)
            out[prefix] = t

    for f in schema:
        walk(f.name, f.type)
    return out


def _access(root: str, path: list[str]) -> str:
    expr = root
    for p in path:
        expr = f"struct_extract({expr}, {sql_literal(p)})"
    return expr


def _normalise_sql(source: str, has: Callable[[str], bool], is_ts: Callable[[str], bool]) -> str:
    """``SELECT`` over ``source`` giving canonical columns; ``has(path)`` says whether a field exists."""

    def leaf(root: str, prefix: str, path: str, typ: str) -> str:
        full = f"{prefix}.{path}" if prefix else path
        if not has(full):
            return f"CAST(NULL AS {typ})"
        parts = path.split(".")
        base = quote_ident(parts[0]) if root == "" else _access(root, parts[:1])
        expr = _access(base, parts[1:])
        if typ == "BIGINT" and is_ts(full):
            return f"epoch_us({expr})"
        return f"TRY_CAST({expr} AS {typ})"

    def lst(name: str, leaves: dict[str, str]) -> str:
        if not has(name):
            return "CAST(NULL AS VARCHAR[])"
        fields: dict[str, object] = {}
        for path, typ in leaves.items():
            node = fields
            *parents, last = path.split(".")
            for p in parents:
                node = node.setdefault(p, {})  # type: ignore[assignment]
            node[last] = leaf("x", name, path, typ)

        def render(t: object) -> str:
            if isinstance(t, str):
                return t
            assert isinstance(t, dict)
            return "{" + ", ".join(f"{sql_literal(k)}: {render(v)}" for k, v in t.items()) + "}"

        return f"list_transform({quote_ident(name)}, lambda x: {render(fields)})"

    cols = [f"CAST({leaf('', '', 'event_timestamp', 'VARCHAR')} AS VARCHAR) AS event_timestamp_raw"]
    cols += [f"{leaf('', '', p, t)} AS {quote_ident(p.replace('.', '__'))}" for p, t in _LEAVES.items()]
    cols.append(f"CAST({lst('event_params', _PARAM_LEAVES)} AS STRUCT(key VARCHAR, value {_V})[]) AS params")
    cols.append(f"CAST({lst('items', _ITEM_LEAVES)} AS {_ITEM}[]) AS items")
    return f"SELECT {', '.join(cols)} FROM {source}"


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = _SUFFIXES.get(Path(name).suffix)
    if fmt is None or (fmt == "parquet" and path.name.lower().endswith(".gz")):
        raise ImporterError(
            f"{path}: unknown format (expected .parquet, or .jsonl / .ndjson / .json, "
            "optionally .gz, from GA4's BigQuery export)"
        )
    return fmt


def _expand(paths: Iterable[str | Path] | str | Path) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    for p in map(Path, items):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            out += [f for f in found if Path(f.name.lower().removesuffix(".gz")).suffix in _SUFFIXES]
        elif p.is_file():
            out.append(p)
        else:
            raise ImporterError(f"{p}: no such file")
    return out


def _missing(name: str, present: Iterable[str]) -> None:
    have = set(present)
    missing = [c for c in REQUIRED_COLUMNS if c not in have]
    if missing:
        raise ImporterError(
            f"{name}: not a GA4 BigQuery events export: missing column{'s' if len(missing) > 1 else ''} "
            + ", ".join(missing)
        )


def _load(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> int:
    """Read one file into temp ``table`` with canonical columns; return its row count."""
    name = str(path)
    fmt = _format(path)
    try:
        if fmt == "parquet":
            try:
                schema = pq.read_schema(path)
            except (pa.ArrowException, OSError) as e:
                raise ImporterError(f"{name}: cannot read as Parquet: {e}") from e
            _missing(name, schema.names)
            paths = _arrow_paths(schema)
            sql = _normalise_sql(
                f"read_parquet({sql_literal(name)})",
                lambda p: p in paths,
                lambda p: pa.types.is_timestamp(paths.get(p, pa.null())),
            )
        else:
            keys = con.execute(
                "SELECT DISTINCT unnest(json_keys(json)) FROM (SELECT json FROM read_ndjson_objects(?) "
                "LIMIT 10000)",
                [name],
            ).fetchall()
            n = con.execute(
                "SELECT count(*) FROM (SELECT 1 FROM read_ndjson_objects(?) LIMIT 1)", [name]
            ).fetchone()
            if n and n[0] == 0:
                return 0
            _missing(name, (k for (k,) in keys))
            src = (
                f"read_json({sql_literal(name)}, format = 'newline_delimited', columns = {_json_columns()!r})"
            )
            sql = _normalise_sql(src, lambda p: True, lambda p: False)
        # insertion order is kept, so rowid + 1 is the row's number in the file
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
    except duckdb.Error as e:
        raise ImporterError(f"{name}: cannot read as a GA4 export ({fmt}): {str(e).splitlines()[0]}") from e
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


_MIN_US, _MAX_US = 946_684_800_000_000, 4_102_444_800_000_000  # 2000-01-01, 2100-01-01

# (field, problem, SQL true for a bad row, SQL of the value shown)
_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    ("event_timestamp", "missing", "event_timestamp_raw IS NULL", "NULL"),
    (
        "event_timestamp",
        "not an integer (microseconds since 1970, UTC)",
        "event_timestamp_raw IS NOT NULL AND event_timestamp IS NULL",
        "event_timestamp_raw",
    ),
    (
        "event_timestamp",
        "out of range: expected microseconds since 1970 between years 2000 and 2100",
        f"event_timestamp NOT BETWEEN {_MIN_US} AND {_MAX_US}",
        "event_timestamp_raw",
    ),
    ("event_name", "missing", "event_name IS NULL OR trim(event_name) = ''", "NULL"),
    (
        "user_pseudo_id",
        "missing (and no user_id)",
        "coalesce(trim(user_pseudo_id), '') = '' AND coalesce(trim(user_id), '') = ''",
        "NULL",
    ),
)


def _check(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], what: str) -> None:
    items = ", ".join(
        f"CASE WHEN coalesce({bad}, FALSE) THEN {{'i': {i}, 'v': CAST({value} AS VARCHAR)}} END"
        for i, (_, _, bad, value) in enumerate(_CHECKS)
    )
    base = " UNION ALL ".join(
        f"SELECT {k} AS _f, rowid + 1 AS _row, list_filter([{items}], lambda e: e IS NOT NULL) AS errs "
        f"FROM {t}"
        for k, (t, _) in enumerate(tables)
    )
    # materialised first: DuckDB 1.5 can drop rows when ORDER BY ... LIMIT runs straight over an unnest
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ga4_errors AS "
        f"SELECT _f, _row, unnest(errs, recursive := true) FROM ({base}) WHERE len(errs) > 0"
    )
    total = con.execute("SELECT count(*) FROM ga4_errors").fetchone()
    if not total or not total[0]:
        return
    first = f"SELECT _f, _row, i, v FROM ga4_errors ORDER BY _f, _row, i LIMIT {MAX_ERRORS}"
    rows = con.execute(first).fetchall()
    problems = [
        RowProblem(int(row), _CHECKS[i][0], _CHECKS[i][1], v, file=tables[f][1]) for f, row, i, v in rows
    ]
    raise ImporterError(format_problems(what, problems, int(total[0])))


_PARAMS_PULLED = {
    "source": "pv_source",
    "medium": "pv_medium",
    "campaign": "pv_campaign",
    "ga_session_id": "pv_sid",
    "transaction_id": "pv_tid",
    "value": "pv_value",
}
"""Event parameters looked up once per row, as columns (their ``value`` structs)."""


def _text(v: str) -> str:
    """SQL of a parameter value struct ``v`` as text (NULL when absent or empty)."""
    return (
        f"nullif(trim(coalesce({v}.string_value, CAST({v}.int_value AS VARCHAR), "
        f"CAST(coalesce({v}.double_value, {v}.float_value) AS VARCHAR))), '')"
    )


def _case(expr: str, mapping: dict[str, str], default: str) -> str:
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default} END"


def _level(prefix: str, origin: str) -> str:
    """A {source, medium, campaign, origin} struct from columns ``<prefix>_s/_m/_c``, or NULL."""
    s, m, c = (f"{prefix}_{x}" for x in "smc")
    return (
        f"CASE WHEN {s} IS NOT NULL OR {m} IS NOT NULL THEN "
        f"{{'source': {s}, 'medium': {m}, 'campaign': {c}, 'origin': {sql_literal(origin)}}} END"
    )


def _events_sql(tables: list[str], secret: bytes) -> str:
    """One query from the loaded, checked tables to the canonical events (plus ``_dups``, ``revenue_raw``)."""
    union = " UNION ALL ".join(
        f"SELECT {k} AS _f, rowid + 1 AS _row, * FROM {t}" for k, t in enumerate(tables)
    )
    pulled = ", ".join(
        f"list_filter(params, lambda p: p.key = {sql_literal(k)})[1].value AS {col}"
        for k, col in _PARAMS_PULLED.items()
    )

    def norm(x: str) -> str:
        return f"nullif(trim({x}), '')"

    gclid = "nullif(trim(collected_traffic_source__gclid), '') IS NOT NULL"
    lc = "session_traffic_source_last_click__manual_campaign__"
    sources = ", ".join(
        [
            f"{_text('pv_source')} AS ev_s",
            f"{_text('pv_medium')} AS ev_m",
            f"{_text('pv_campaign')} AS ev_c",
            f"coalesce({norm('collected_traffic_source__manual_source')}, CASE WHEN {gclid} THEN 'google' END)"
            " AS co_s",
            f"coalesce({norm('collected_traffic_source__manual_medium')}, CASE WHEN {gclid} THEN 'cpc' END)"
            " AS co_m",
            f"{norm('collected_traffic_source__manual_campaign_name')} AS co_c",
            f"{norm(lc + 'source')} AS lc_s",
            f"{norm(lc + 'medium')} AS lc_m",
            f"{norm(lc + 'campaign_name')} AS lc_c",
            f"{norm('traffic_source__source')} AS ft_s",
            f"{norm('traffic_source__medium')} AS ft_m",
            f"{norm('traffic_source__name')} AS ft_c",
        ]
    )
    sid = (
        "coalesce(CAST(pv_sid.int_value AS VARCHAR), nullif(trim(pv_sid.string_value), ''), "
        "CAST(TRY_CAST(coalesce(pv_sid.double_value, pv_sid.float_value) AS BIGINT) AS VARCHAR))"
    )
    order = "ORDER BY event_timestamp, _f, _row"
    inherited = (
        f"CASE WHEN session_id IS NOT NULL THEN coalesce("
        f"last_value(own IGNORE NULLS) OVER (PARTITION BY session_id {order} "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), "
        f"first_value(own IGNORE NULLS) OVER (PARTITION BY session_id {order} "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) END"
    )
    value_json = (
        "CASE WHEN p.value.string_value IS NOT NULL THEN to_json(p.value.string_value) "
        "WHEN p.value.int_value IS NOT NULL THEN to_json(p.value.int_value) "
        "WHEN p.value.double_value IS NOT NULL THEN to_json(p.value.double_value) "
        "WHEN p.value.float_value IS NOT NULL THEN to_json(p.value.float_value) ELSE 'null' END"
    )
    params_json = (
        "CAST('{' || coalesce(array_to_string(list_transform("
        f"list_filter(params, lambda p: p.key IS NOT NULL AND p.key NOT IN ({sql_list(_USED_PARAMS)})), "
        f"lambda p: CAST(to_json(p.key) AS VARCHAR) || ':' || CAST({value_json} AS VARCHAR)), ','), '') "
        "|| '}' AS JSON)"
    )
    extras = (
        "json_merge_patch('{}', json_object("
        "'source', src.source, 'medium', src.medium, 'channel_from', coalesce(src.origin, 'none'), "
        f"'transaction_id', coalesce(ecommerce__transaction_id, {_text('pv_tid')}), "
        "'refund_value', ecommerce__refund_value, "
        "'items', CASE WHEN len(items) > 0 THEN to_json(items) END, "
        "'country', nullif(trim(geo__country), ''), "
        f"'ga4_event', CASE WHEN event_name IN ({sql_list(EVENT_NAMES)}) THEN event_name END))"
    )
    key = " || '|' || ".join(
        f"coalesce(CAST({c} AS VARCHAR), '')"
        for c in (
            "user_pseudo_id",
            "user_id",
            "event_timestamp",
            "event_name",
            "ga_session_id",
            "batch_page_id",
            "batch_ordering_id",
            "batch_event_index",
        )
    )
    campaign = (
        f"CASE WHEN lower(src.campaign) IN ({sql_list(_CAMPAIGN_PLACEHOLDERS)}) THEN NULL "
        "ELSE src.campaign END"
    )
    value = (
        "coalesce(pv_value.double_value, pv_value.float_value, CAST(pv_value.int_value AS DOUBLE), "
        "TRY_CAST(pv_value.string_value AS DOUBLE))"
    )
    revenue = f"CASE WHEN event_name = 'purchase' THEN coalesce(ecommerce__purchase_revenue, {value}) END"
    return f"""
        WITH a AS (
            SELECT * REPLACE (trim(event_name) AS event_name,
                nullif(trim(user_pseudo_id), '') AS user_pseudo_id,
                CASE WHEN contains(user_id, '@') THEN 'email_' || left(sha256(lower(trim(user_id))), 16)
                     ELSE nullif(trim(user_id), '') END AS user_id),
                contains(user_id, '@') AS _uid_email,
                {pulled}
            FROM ({union})
        ), b AS (
            SELECT *, {sid} AS ga_session_id, {sources} FROM a
        ), c AS (
            SELECT *, CASE WHEN user_pseudo_id IS NOT NULL AND ga_session_id IS NOT NULL
                           THEN user_pseudo_id || '.' || ga_session_id END AS session_id,
                coalesce({_level("ev", "event")}, {_level("co", "event")}) AS own
            FROM b
        ), d AS (
            SELECT *, {inherited} AS inh FROM c
        ), e AS (
            SELECT *, coalesce(own, CASE WHEN inh IS NOT NULL THEN {{'source': inh.source,
                'medium': inh.medium, 'campaign': inh.campaign, 'origin': 'session'}} END,
                {_level("lc", "session_last_click")}, {_level("ft", "first_user_touch")}) AS src
            FROM d
        ), f AS (
            SELECT *, 'ga4:' || left(sha256({key}), 32) AS event_id, {revenue} AS revenue_raw,
                nullif(lower(src.source), '') AS s_n, nullif(lower(src.medium), '') AS m_n,
                nullif(lower(src.campaign), '') AS c_n
            FROM e
        ), g AS (
            SELECT *, count(*) OVER (PARTITION BY event_id) AS _dups FROM f
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _f, _row) = 1
        )
        SELECT event_id,
            make_timestamp(event_timestamp) AS ts,
            CASE WHEN _uid_email THEN {_keyed_legacy_id(secret)} ELSE user_id END AS customer_id,
            user_pseudo_id AS anonymous_id,
            session_id,
            {_case("event_name", EVENT_NAMES, "event_name")} AS event,
            {channel_sql("s_n", "m_n", "c_n", normalized=True)} AS channel,
            {_case("event_name", TOUCHPOINTS, "NULL")} AS touchpoint,
            {campaign} AS campaign,
            nullif(lower(trim(device__category)), '') AS device,
            CASE WHEN revenue_raw >= 0 THEN revenue_raw END AS revenue,
            CAST(json_merge_patch({params_json}, {extras}) AS VARCHAR) AS properties,
            _dups, revenue_raw, _uid_email
        FROM g
        {order}
    """


def _keyed_legacy_id(secret: bytes) -> str:
    """SQL of the keyed id of ``user_id`` holding the id derived from an e-mail before keyed hashing."""
    return f"'email_' || left({hmac_sql(secret, 'user_id')}, 16)"


_EMPTY_EVENTS = (
    "SELECT "
    + ", ".join(
        f"CAST(NULL AS {'TIMESTAMP' if c == 'ts' else 'DOUBLE' if c == 'revenue' else 'VARCHAR'}) AS {c}"
        for c in (
            "event_id",
            "ts",
            "customer_id",
            "anonymous_id",
            "session_id",
            "event",
            "channel",
            "touchpoint",
            "campaign",
            "device",
            "revenue",
            "properties",
        )
    )
    + " WHERE FALSE"
)


def import_ga4(
    paths: Iterable[str | Path] | str | Path,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    secret: bytes,
) -> ImportResult:
    """Convert GA4 BigQuery export files (Parquet, JSON Lines, ``.gz``; a folder means its files) into
    canonical ``events``.  ``con``: a DuckDB connection to work in (a cursor of it); in memory by default.
    ``secret``: the store's secret (:func:`cxlab.privacy.keys.load_secret`) for ids derived from e-mails.

    Raises :class:`ImporterError` naming the file (and row and field) for input that can't be converted.
    """
    files = _expand(paths)
    if not files:
        raise ImporterError("no GA4 export files given")
    warnings: list[str] = []
    with connection(con) as cur:
        loaded: list[tuple[str, str]] = []
        for k, path in enumerate(files):
            table = f"ga4_in_{k}"
            if _load(cur, path, table) == 0:
                warnings.append(f"{path}: no rows")
                continue
            loaded.append((table, str(path)))
        if not loaded:
            return ImportResult(
                tables={"events": to_canonical(cur.sql(_EMPTY_EVENTS), "events")}, warnings=warnings
            )
        _check(cur, loaded, loaded[0][1] if len(loaded) == 1 else f"GA4 export ({len(loaded)} files)")
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE ga4_events AS {_events_sql([t for t, _ in loaded], secret)}"
        )
        events = to_canonical(
            cur.sql("SELECT * EXCLUDE (_dups, revenue_raw, _uid_email) FROM ga4_events"), "events"
        )
        row = cur.execute(
            "SELECT coalesce(sum(_dups - 1), 0), count(*) FILTER (WHERE revenue_raw < 0), "
            "count(DISTINCT customer_id) FILTER (WHERE _uid_email) FROM ga4_events"
        ).fetchone()
        dups, negative, emails = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
    if dups:
        warnings.append(
            f"{dups} duplicate event(s) dropped (same user, timestamp, name, session and batch ids)"
        )
    if negative:
        warnings.append(f"{negative} purchase(s) with a negative revenue: revenue left empty")
    if emails:
        warnings.append(
            f"{emails} user_id value(s) look like e-mail addresses: stored as email_ + 16 hex digits of "
            "a keyed hash, never in clear"
        )
    return ImportResult(tables={"events": events}, warnings=warnings)
