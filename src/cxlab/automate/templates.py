"""Flow messages: Jinja2 templates rendered per customer, and the tone check every message passes first.

Templates run in Jinja2's ``ImmutableSandboxedEnvironment`` (a template can neither reach Python internals
nor change the data it is given) with ``StrictUndefined``, so a typo such as ``{{ frist_name }}`` is an error
naming the flow, variant, language and template instead of an empty gap in a sent e-mail. HTML messages are autoescaped: customer data such as
a first name ``<script>`` arrives as text. Their plain-text part is the rendered HTML without tags; the
subject is one line (newlines in data can't add mail headers).

Context keys (:func:`context` builds them all): ``first_name`` (None when the shop keeps no first names:
templates write ``{{ first_name or 'there' }}``), ``shop``, ``order_id``, ``recommendations`` (a list of
``{product_id, name, reason}``) and ``unsubscribe``. ``order_id`` is only ever an order of the customer's
from the ``orders`` table (never text from events); still, write ``{{ order_id | urlencode }}`` (and
``{{ r.product_id | urlencode }}``) where an id goes into a URL, so an id with ``/``, ``?`` or ``#`` in it
stays one path segment.

A message's ``template`` file must lie inside the project folder (after resolving ``..`` and links) and
must not be one of the ``cxlab.*`` files (the store, its secret, its config): a template is mailed to
customers, so it must never be able to read anything else; otherwise a :class:`cxlab.config.ConfigError`
names the flow and the path.

The tone check (:func:`tone_check`) scores every message with :func:`cxlab.voice.tone.tone`, rendered with a
neutral sample context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from jinja2.sandbox import ImmutableSandboxedEnvironment

from cxlab.automate.flows import Flow, MessageTemplate
from cxlab.config import CONFIG_NAME, Config, ConfigError

PRESSURE_FLAG = 0.5
"""A message whose pressure (probability of urgency copy) reaches this is flagged as pushy."""
MIN_FOR_OUTLIERS = 8
"""Messages needed before the tone module's outlier rule (modified z > 3.5) flags any: with fewer, the
median absolute deviation is too unstable to call one of them an outlier."""

DEFAULT_UNSUBSCRIBE = "Reply STOP or use the link in your account settings to stop these messages."


class TemplateError(ValueError):
    """A message template that does not parse or render; the text names flow, variant, language, template."""


def context(
    config: Config,
    *,
    first_name: str | None = None,
    order_id: str | None = None,
    recommendations: Sequence[Mapping[str, Any]] = (),
    unsubscribe: str = DEFAULT_UNSUBSCRIBE,
    unsubscribe_url: str | None = None,
) -> dict[str, Any]:
    """Every key a template may use (see the module docstring)."""
    return {
        "first_name": first_name,
        "shop": config.shop.name,
        "order_id": order_id,
        "recommendations": [dict(r) for r in recommendations],
        "unsubscribe": unsubscribe,
        "unsubscribe_url": unsubscribe_url,
    }


def sample_context(config: Config) -> dict[str, Any]:
    """A neutral context for checking templates (the tone check, ``flows plan``)."""
    return context(
        config,
        first_name="Alex",
        order_id="1001",
        recommendations=[{"product_id": "P1", "name": "a product", "reason": "often bought together"}],
        unsubscribe_url="https://shop.example/unsubscribe",
    )


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=autoescape, keep_trailing_newline=False
    )


@lru_cache(maxsize=1024)
def _compile(source: str, autoescape: bool) -> jinja2.Template:
    return _env(autoescape).from_string(source)


def template_path(flow: Flow, template: str, project_dir: Path) -> Path:
    """The file of ``flow``'s ``template``; a :class:`ConfigError` when it resolves outside ``project_dir``
    (an absolute path, ``..``, a link out) or to a ``cxlab.*`` file (see the module docstring)."""
    root = project_dir.resolve()
    path = (root / template).resolve()
    if not path.is_relative_to(root) or path.name.lower().startswith("cxlab."):
        raise ConfigError(
            f"{CONFIG_NAME}: flows.{flow.name}: template {template!r} ({path}) must be a file inside the "
            f"project folder {root} and not a cxlab.* file"
        )
    return path


def _source(flow: Flow, msg: MessageTemplate, project_dir: Path) -> tuple[str | None, str, str]:
    """Subject source, body source, and where the body comes from (for errors)."""
    if msg.template is None:
        return msg.subject, msg.body or "", "inline body"
    path = template_path(flow, msg.template, project_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TemplateError(f"{path}: cannot read the template: {e}") from e
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest, str(path)
    return msg.subject, text, str(path)


class _Text(HTMLParser):
    """Text of an HTML fragment; block elements become line breaks."""

    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The plain text of rendered HTML (escaped customer data comes back as the characters they typed)."""
    p = _Text()
    p.feed(fragment)
    p.close()
    return "".join(p.parts)


def normalise(text: str) -> str:
    """Runs of spaces collapsed, lines trimmed, at most one blank line in a row, no leading/trailing blanks."""
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _where(flow: Flow, variant: str, language: str, template: str) -> str:
    return f"flow {flow.name}, variant {variant}, language {language}, template {template}"


def _render(source: str, autoescape: bool, ctx: Mapping[str, Any], where: str) -> str:
    try:
        return _compile(source, autoescape).render(**ctx)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{where}: line {e.lineno}: {e.message}") from e
    except jinja2.UndefinedError as e:
        raise TemplateError(f"{where}: {e.message} (context keys: {', '.join(sorted(ctx))})") from e
    except jinja2.TemplateError as e:  # SecurityError from the sandbox, and the rest
        raise TemplateError(f"{where}: {e}") from e


def message_template(flow: Flow, variant: str, language: str) -> MessageTemplate:
    """The declared message of ``flow``'s arm ``variant`` in ``language``; ``KeyError`` naming what is absent."""
    arms = flow.arms
    if variant not in arms:
        raise KeyError(f"flow {flow.name}: no variant {variant!r} (variants: {', '.join(arms)})")
    msgs = arms[variant].messages
    if language not in msgs:
        raise KeyError(f"flow {flow.name}, variant {variant}: no message in {language!r} ({', '.join(msgs)})")
    return msgs[language]


def render(
    flow: Flow, variant: str, language: str, context: Mapping[str, Any], project_dir: Path
) -> tuple[str | None, str, str | None]:
    """``flow``'s message for arm ``variant`` in ``language`` rendered with ``context``: subject (one line,
    or None), plain-text body (whitespace normalised) and HTML body (None unless the message is HTML)."""
    msg = message_template(flow, variant, language)
    subject_src, body_src, origin = _source(flow, msg, project_dir)
    subject = None
    if subject_src is not None:
        where = _where(flow, variant, language, f"{origin} (subject)" if msg.template else "inline subject")
        subject = " ".join(_render(subject_src, False, context, where).split()) or None
    body = _render(body_src, msg.html, context, _where(flow, variant, language, origin))
    if msg.html:
        return subject, normalise(html_to_text(body)), body
    return subject, normalise(body), None


def message_texts(flows: Sequence[Flow], config: Config, project_dir: Path) -> pd.DataFrame:
    """Every message of ``flows`` rendered with :func:`sample_context`: flow, variant, language, channel,
    text (subject and body)."""
    ctx = sample_context(config)
    rows = []
    for flow in flows:
        for variant, arm in flow.arms.items():
            for language in arm.messages:
                subject, text, _ = render(flow, variant, language, ctx, project_dir)
                rows.append(
                    {
                        "flow": flow.name,
                        "variant": variant,
                        "language": language,
                        "channel": flow.channel,
                        "text": f"{subject}\n{text}" if subject else text,
                    }
                )
    return pd.DataFrame(rows, columns=["flow", "variant", "language", "channel", "text"])


TONE_COLUMNS = ["flow", "variant", "language", "pressure", "brand_distance", "flagged", "finding"]


def _finding(pressure: float, distance: float, outlier: bool) -> str:
    found = []
    if pressure >= PRESSURE_FLAG:
        found.append(f"reads as pushy: pressure {pressure:.2f}")
    if outlier:
        found.append(
            f"stands out from the shop's other messages (pressure {pressure:.2f}, "
            f"distance from the brand {distance:.2f})"
        )
    return "; ".join(found) or f"calm: pressure {pressure:.2f}, distance from the brand {distance:.2f}"


_TONE_CACHE: dict[tuple[Any, ...], pd.DataFrame] = {}


def _scored(texts: pd.DataFrame, config: Config) -> pd.DataFrame:
    """:func:`cxlab.voice.tone.tone` messages of ``texts``; the same texts, brand and embedder are scored
    once per process (``flows run --every`` plans again every few minutes)."""
    from cxlab.voice.settings import voice_settings
    from cxlab.voice.tone import tone  # the embedder stack is heavy: loaded only when a check runs

    vs = voice_settings(config)
    key = (tuple(map(tuple, texts.to_numpy().tolist())), tuple(vs.brand), vs.embedder)
    if key not in _TONE_CACHE:
        if len(_TONE_CACHE) > 16:
            _TONE_CACHE.clear()
        _TONE_CACHE[key] = tone(texts, config).messages
    return _TONE_CACHE[key].copy()


def tone_check(flows: Sequence[Flow], config: Config, project_dir: Path) -> pd.DataFrame:
    """Tone of every message of ``flows`` (per flow × variant × language): pressure, brand distance,
    ``flagged`` (pressure ≥ :data:`PRESSURE_FLAG`, or an outlier by the tone module's rule once there are
    :data:`MIN_FOR_OUTLIERS` messages) and ``finding`` in plain words. Loads the text embedder."""
    texts = message_texts(flows, config, project_dir)
    if texts.empty:
        return pd.DataFrame(columns=TONE_COLUMNS)
    m = _scored(texts, config)
    outlier = m["outlier"].astype(bool) & (len(m) >= MIN_FOR_OUTLIERS)
    out = m[["flow", "variant", "language"]].copy()
    out["pressure"] = m["pressure"].astype(float)
    out["brand_distance"] = m["brand_distance"].astype(float)
    out["flagged"] = (out["pressure"] >= PRESSURE_FLAG) | outlier
    out["finding"] = [
        _finding(p, d, o) for p, d, o in zip(out["pressure"], out["brand_distance"], outlier, strict=True)
    ]
    return out.reset_index(drop=True)[TONE_COLUMNS]
