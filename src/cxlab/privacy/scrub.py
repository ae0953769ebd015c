"""Scrub personal data from free JSON properties on ingest, in DuckDB SQL.

:func:`scrub_json_sql` rewrites a JSON text expression (``events.properties``) so that no clear contact
data is stored: values of keys named in ``[privacy] personal_properties`` are dropped (any nesting, any case),
query parameters named in ``[privacy] url_params`` are removed from URLs inside any string (``page_location``,
``page_referrer``, ...), and e-mail addresses and phone numbers in any string are removed.

Cost: one ``regexp_matches`` per row over the text; the rewrite runs only on the rows that matched.

Phone numbers are recognised only in shapes people write them: a ``+`` country code (``+31 6 1234 5678``,
``%2B316...`` in a URL) followed by 9–15 digits with optional separators, or a national number with a trunk
``0`` and separators (``06-12345678``, ``020 7946 0958``, ``(030) 1234567``). Order numbers, timestamps,
prices and product ids (no ``+``, no leading ``0`` group with separators) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cxlab.schema.checks import sql_literal

EMAIL_RE = r"(\\u[0-9A-Fa-f]{4}|\\.)?[\pL\pN._%+\-]+(?:@|%40)[\pL\pN\-]+(?:\.[\pL\pN\-]+)*\.\pL{2,}"
"""An e-mail address, also URL-encoded (``%40`` for ``@``) and with letters beyond ASCII (``søren@ærø.dk``). A JSON escape right before it (``\\n``,
``\\u00e9``) is matched as group 1, to be kept: the address's first letters must not split it."""

PHONE_RE = (
    r"(?:\+|%2[Bb])[1-9](?:[ .\-/()]{0,2}[0-9]){8,14}"
    r"|\b0[1-9][0-9]{0,3}[ \-/][0-9]{6,8}\b"
    r"|\b0[1-9][0-9]{0,3}[ \-/][0-9]{3,4}[ \-][0-9]{3,4}\b"
    r"|\(0[1-9][0-9]{0,3}\) ?[0-9]{3,8}(?:[ \-][0-9]{2,4})?\b"
)
"""A phone number: international with ``+`` and 9–15 digits, or national with a trunk 0 and separators."""

_MARK = "\x01"
"""Where a query parameter was removed (a raw control character never occurs in JSON text)."""


def _names(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted({n.strip().lower() for n in names if n.strip()}))


def _key_re(keys: str) -> str:
    value = r'"(?:[^"\\]|\\.)*"|\{[^{}]*\}|\[[^\[\]]*\]|true|false|null|-?[0-9][0-9.eE+\-]*'
    return rf'("(?i:{keys})")\s*:\s*(?:{value})'


def _param_re(params: str) -> str:
    return rf'([?&])(?i:{params})=[^&#"\\\s]*'


def scrub_json_sql(expr: str, url_params: Iterable[str], personal_properties: Iterable[str]) -> str:
    """DuckDB SQL of the JSON text ``expr`` with personal data removed (NULL stays NULL)."""
    keys, params = _names(personal_properties), _names(url_params)
    patterns = [
        EMAIL_RE,
        PHONE_RE,
        *([_key_re(keys)] if keys else []),
        *([_param_re(params)] if params else []),
    ]
    detect = "|".join(f"(?:{p})" for p in patterns)
    s = expr
    if keys:
        s = f"regexp_replace({s}, {sql_literal(_key_re(keys))}, '\\1:null', 'g')"
    if params:
        s = f"regexp_replace({s}, {sql_literal(_param_re(params))}, '\\1{_MARK}', 'g')"
        s = f"regexp_replace({s}, '&{_MARK}', '', 'g')"
        s = f"regexp_replace({s}, '\\?{_MARK}&', '?', 'g')"
        s = f"regexp_replace({s}, '\\?{_MARK}', '', 'g')"
    s = f"regexp_replace({s}, {sql_literal(EMAIL_RE)}, '\\1', 'g')"
    s = f"regexp_replace({s}, {sql_literal(PHONE_RE)}, '', 'g')"
    # a merge patch into {} drops the keys set to null above (at every level of nested objects)
    rewritten = f"CAST(json_merge_patch('{{}}', {s}) AS VARCHAR)" if keys else s
    return f"CASE WHEN regexp_matches({expr}, {sql_literal(detect)}) THEN {rewritten} ELSE {expr} END"
