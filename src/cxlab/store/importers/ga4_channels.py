"""GA4's default channel grouping, as one rule table compiled to a SQL ``CASE`` expression.

The rules follow Google's definitions for manual traffic ("[GA4] Default channel group",
https://support.google.com/analytics/answer/9756891), evaluated in this order, first match wins:

==========================  =============================================================================
Direct                      source is ``(direct)`` and medium is ``(not set)`` or ``(none)``; also no
                            source and no medium at all (GA4 reports that as ``(direct) / (none)``)
Cross-network               campaign contains ``cross-network``
Paid Shopping               (source is a shopping site or campaign matches
                            ``^(.*(([^a-df-z]|^)shop|shopping).*)$``) and medium matches
                            ``^(.*cp.*|ppc|retargeting|paid.*)$`` (the paid regex)
Paid Search                 source is a search site and medium matches the paid regex
Paid Social                 source is a social site and medium matches the paid regex
Paid Video                  source is a video site and medium matches the paid regex
Display                     medium is one of display, banner, expandable, interstitial, cpm
Paid Other                  medium matches the paid regex
Organic Shopping            source is a shopping site or campaign matches the shopping regex
Organic Social              source is a social site or medium is one of social, social-network,
                            social-media, sm, social network, social media
Organic Video               source is a video site or medium matches ``^(.*video.*)$``
Organic Search              source is a search site or medium is ``organic``
Referral                    medium is one of referral, app, link
Email                       source or medium is one of email, e-mail, e_mail, e mail
Affiliates                  medium is ``affiliate``
Audio                       medium is ``audio``
SMS                         source or medium is ``sms``
Mobile Push Notifications   medium ends with ``push``, or contains ``mobile`` or ``notification``, or
                            source is ``firebase``
Unassigned                  anything else
==========================  =============================================================================

Matching ignores case and surrounding blanks, as GA4 does.  "A list of shopping/search/social/video sites"
is Google's source-category list (a spreadsheet linked from the page above, several hundred entries);
:data:`SOURCE_CATEGORIES` holds a representative subset of it: the large sites and their common host names,
copied from that list, not invented.  A source missing from the subset falls through to a later rule (for
example ``somesite.example / cpc`` is Paid Other, not Paid Search).

Each group maps to a cxlab channel name from ``default.toml`` (Paid Social → ``social_ads``, Affiliates →
``affiliate``, Mobile Push Notifications → ``push``, ...).  :func:`ga4_default_channel` answers for single
values by running the same SQL, so there is one implementation of the rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import duckdb

from cxlab.schema.checks import sql_literal

SOURCE_CATEGORIES: dict[str, frozenset[str]] = {
    "shopping": frozenset(
        {
            "google shopping",
            "igshopping",
            "amazon",
            "amazon.com",
            "amazon.co.uk",
            "aax.amazon-adsystem.com",
            "aax-us-east.amazon-adsystem.com",
            "s3.amazonaws.com",
            "ebay",
            "ebay.com",
            "ebay.co.uk",
            "ebay.de",
            "ebay.com.au",
            "etsy",
            "etsy.com",
            "alibaba",
            "alibaba.com",
            "m.alibaba.com",
            "walmart",
            "walmart.com",
            "one.walmart.com",
            "shopify",
            "shopify.com",
            "apps.shopify.com",
            "checkout.shopify.com",
            "partners.shopify.com",
            "shop.app",
            "stripe",
            "stripe.com",
            "checkout.stripe.com",
            "mercadolibre",
            "mercadolibre.com",
            "shopzilla",
            "shopzilla.com",
            "shopping.naver.com",
            "shopping.yahoo.com",
            "shopping.yahoo.co.jp",
            "nl.shopping.net",
            "uk.shopping.net",
            "se.shopping.net",
            "no.shopping.net",
        }
    ),
    "search": frozenset(
        {
            "google",
            "google.com",
            "search.google.com",
            "cse.google.com",
            "news.google.com",
            "google-play",
            "googlemybusiness",
            "bing",
            "cn.bing.com",
            "yahoo",
            "yahoo.com",
            "yahoo.co.jp",
            "nl.search.yahoo.com",
            "dk.search.yahoo.com",
            "de.search.yahoo.com",
            "uk.search.yahoo.com",
            "us.search.yahoo.com",
            "duckduckgo",
            "ecosia.org",
            "baidu",
            "m.baidu.com",
            "yandex",
            "yandex.ru",
            "yandex.com",
            "naver",
            "naver.com",
            "m.naver.com",
            "seznam",
            "seznam.cz",
            "qwant",
            "qwant.com",
            "msn",
            "msn.com",
            "ntp.msn.com",
            "aol",
            "search.aol.com",
            "ask",
            "startsiden",
            "startsiden.no",
            "kvasir",
            "eniro",
            "dogpile",
            "dogpile.com",
            "lycos",
            "sogou",
            "sogou.com",
            "so.com",
            "360.cn",
            "daum",
            "daum.net",
            "rakuten",
            "rakuten.co.jp",
            "onet",
            "onet.pl",
        }
    ),
    "social": frozenset(
        {
            "facebook",
            "facebook.com",
            "fb",
            "fb.me",
            "m.facebook.com",
            "l.facebook.com",
            "lm.facebook.com",
            "web.facebook.com",
            "business.facebook.com",
            "instagram",
            "instagram.com",
            "l.instagram.com",
            "ig",
            "twitter",
            "twitter.com",
            "t.co",
            "linkedin",
            "linkedin.com",
            "lnkd.in",
            "pinterest",
            "pinterest.com",
            "nl.pinterest.com",
            "pinterest.de",
            "pinterest.co.uk",
            "reddit",
            "reddit.com",
            "old.reddit.com",
            "out.reddit.com",
            "tiktok",
            "tiktok.com",
            "snapchat",
            "snapchat.com",
            "whatsapp",
            "whatsapp.com",
            "messenger",
            "messenger.com",
            "l.messenger.com",
            "t.me",
            "quora",
            "quora.com",
            "tumblr",
            "tumblr.com",
            "vk.com",
            "weibo",
            "weibo.com",
            "wechat",
            "line",
            "line.me",
            "medium.com",
            "yelp",
            "yelp.com",
            "tripadvisor",
            "tripadvisor.com",
            "news.ycombinator.com",
            "slideshare.net",
            "flipboard",
            "flipboard.com",
            "hyves.nl",
            "xing",
            "xing.com",
        }
    ),
    "video": frozenset(
        {
            "youtube",
            "youtube.com",
            "m.youtube.com",
            "music.youtube.com",
            "vimeo",
            "vimeo.com",
            "player.vimeo.com",
            "dailymotion",
            "dailymotion.com",
            "twitch",
            "twitch.tv",
            "m.twitch.tv",
            "netflix",
            "netflix.com",
            "hulu",
            "hulu.com",
            "disneyplus",
            "disneyplus.com",
            "wistia",
            "wistia.com",
            "fast.wistia.net",
            "ted",
            "ted.com",
            "iqiyi",
            "iqiyi.com",
            "youku",
            "youku.com",
            "crackle",
            "crackle.com",
            "veoh",
            "veoh.com",
        }
    ),
}
"""Representative subset of Google's source-category list (lower case, matched exactly)."""

PAID_MEDIUM = r"^(.*cp.*|ppc|retargeting|paid.*)$"
SHOPPING_CAMPAIGN = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"
VIDEO_MEDIUM = r"^(.*video.*)$"
DISPLAY_MEDIUMS = ("display", "banner", "expandable", "interstitial", "cpm")
SOCIAL_MEDIUMS = ("social", "social-network", "social-media", "sm", "social network", "social media")
EMAIL_VALUES = ("email", "e-mail", "e_mail", "e mail")


@dataclass(frozen=True)
class ChannelRule:
    """One default channel group: GA4's name, cxlab's channel name and the condition as a SQL template.

    ``when`` uses ``{s}``, ``{m}`` and ``{c}`` for the lower-cased, trimmed source, medium and campaign
    (NULL when empty); a NULL condition counts as false.
    """

    group: str
    channel: str
    when: str


def _in(x: str, values: tuple[str, ...] | frozenset[str]) -> str:
    return f"{x} IN ({', '.join(sql_literal(v) for v in sorted(values))})"


def _site(category: str) -> str:
    return _in("{s}", SOURCE_CATEGORIES[category])


def _re(x: str, pattern: str) -> str:
    return f"regexp_matches({x}, {sql_literal(pattern)})"


_PAID = _re("{m}", PAID_MEDIUM)
_SHOP = f"({_site('shopping')} OR {_re('{c}', SHOPPING_CAMPAIGN)})"

RULES: tuple[ChannelRule, ...] = (
    ChannelRule(
        "Direct",
        "direct",
        "({s} = '(direct)' AND {m} IN ('(not set)', '(none)')) OR ({s} IS NULL AND {m} IS NULL)",
    ),
    ChannelRule("Cross-network", "cross_network", "contains({c}, 'cross-network')"),
    ChannelRule("Paid Shopping", "paid_shopping", f"{_SHOP} AND {_PAID}"),
    ChannelRule("Paid Search", "paid_search", f"{_site('search')} AND {_PAID}"),
    ChannelRule("Paid Social", "social_ads", f"{_site('social')} AND {_PAID}"),
    ChannelRule("Paid Video", "paid_video", f"{_site('video')} AND {_PAID}"),
    ChannelRule("Display", "display", _in("{m}", DISPLAY_MEDIUMS)),
    ChannelRule("Paid Other", "paid_other", _PAID),
    ChannelRule("Organic Shopping", "organic_shopping", _SHOP),
    ChannelRule("Organic Social", "organic_social", f"{_site('social')} OR {_in('{m}', SOCIAL_MEDIUMS)}"),
    ChannelRule("Organic Video", "organic_video", f"{_site('video')} OR {_re('{m}', VIDEO_MEDIUM)}"),
    ChannelRule("Organic Search", "organic_search", f"{_site('search')} OR {{m}} = 'organic'"),
    ChannelRule("Referral", "referral", _in("{m}", ("referral", "app", "link"))),
    ChannelRule("Email", "email", f"{_in('{s}', EMAIL_VALUES)} OR {_in('{m}', EMAIL_VALUES)}"),
    ChannelRule("Affiliates", "affiliate", "{m} = 'affiliate'"),
    ChannelRule("Audio", "audio", "{m} = 'audio'"),
    ChannelRule("SMS", "sms", "{s} = 'sms' OR {m} = 'sms'"),
    ChannelRule(
        "Mobile Push Notifications",
        "push",
        "ends_with({m}, 'push') OR contains({m}, 'mobile') OR contains({m}, 'notification') "
        "OR {s} = 'firebase'",
    ),
)
UNASSIGNED = ChannelRule("Unassigned", "unassigned", "TRUE")

GA4_TO_CXLAB: dict[str, str] = {r.group: r.channel for r in (*RULES, UNASSIGNED)}
"""GA4 default channel group name → cxlab channel name."""


def _norm(expr: str) -> str:
    return f"nullif(lower(trim(CAST({expr} AS VARCHAR))), '')"


def channel_sql(
    source: str, medium: str, campaign: str, *, names: str = "cxlab", normalized: bool = False
) -> str:
    """SQL ``CASE`` giving the default channel group of the SQL expressions ``source``, ``medium`` and
    ``campaign``; ``names="cxlab"`` yields cxlab channel names, ``names="ga4"`` GA4's group names.

    The expressions are repeated inside the ``CASE``: pass column references, not costly expressions.
    ``normalized=True`` promises they are already trimmed, lower-cased VARCHARs with NULL for empty.
    """
    if names not in ("cxlab", "ga4"):
        raise ValueError(f"names must be 'cxlab' or 'ga4', not {names!r}")
    s, m, c = (source, medium, campaign) if normalized else (_norm(source), _norm(medium), _norm(campaign))
    whens = "\n  ".join(
        f"WHEN coalesce(({r.when.format(s=s, m=m, c=c)}), FALSE) "
        f"THEN {sql_literal(r.channel if names == 'cxlab' else r.group)}"
        for r in RULES
    )
    other = UNASSIGNED.channel if names == "cxlab" else UNASSIGNED.group
    return f"CASE\n  {whens}\n  ELSE {sql_literal(other)}\nEND"


_lock = threading.Lock()


@cache
def _con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@cache
def _query(names: str) -> str:
    case = channel_sql("s", "m", "c", names=names)
    return f"SELECT {case} FROM (SELECT ?::VARCHAR AS s, ?::VARCHAR AS m, ?::VARCHAR AS c)"


def _run(source: str | None, medium: str | None, campaign: str | None, names: str) -> str:
    with _lock:
        row = _con().execute(_query(names), [source, medium, campaign]).fetchone()
    assert row is not None
    return str(row[0])


def ga4_default_channel(source: str | None, medium: str | None, campaign: str | None = None) -> str:
    """The cxlab channel name of one source / medium / campaign under GA4's default channel grouping.

    >>> ga4_default_channel("google", "cpc")
    'paid_search'
    """
    return _run(source, medium, campaign, "cxlab")


def ga4_default_channel_group(source: str | None, medium: str | None, campaign: str | None = None) -> str:
    """GA4's own name of the default channel group (``"Paid Social"``, ``"Unassigned"``, ...)."""
    return _run(source, medium, campaign, "ga4")
