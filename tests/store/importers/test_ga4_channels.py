"""GA4 default channel grouping: every rule with examples from Google's definitions, and rule order."""

from __future__ import annotations

import duckdb
import pytest

from cxlab.config import Config
from cxlab.store.importers.ga4_channels import (
    GA4_TO_CXLAB,
    RULES,
    channel_sql,
    ga4_default_channel,
    ga4_default_channel_group,
)

# (source, medium, campaign) → (GA4 group, cxlab channel)
CASES: list[tuple[str | None, str | None, str | None, str, str]] = [
    # Direct: source (direct) and medium (not set)/(none); nothing at all reads as (direct)/(none)
    ("(direct)", "(none)", None, "Direct", "direct"),
    ("(direct)", "(not set)", None, "Direct", "direct"),
    (None, None, None, "Direct", "direct"),
    # Cross-network: campaign contains cross-network (Performance Max, Smart Shopping)
    ("google", "cpc", "PMax cross-network NL", "Cross-network", "cross_network"),
    # Paid Shopping: shopping site or shop campaign, with a paid medium
    ("amazon", "cpc", None, "Paid Shopping", "paid_shopping"),
    ("Google Shopping", "cpc", None, "Paid Shopping", "paid_shopping"),
    ("partner.example", "ppc", "spring-shop", "Paid Shopping", "paid_shopping"),
    ("partner.example", "paid", "shopping_q2", "Paid Shopping", "paid_shopping"),
    # Paid Search: search site with a paid medium (^(.*cp.*|ppc|retargeting|paid.*)$)
    ("google", "cpc", None, "Paid Search", "paid_search"),
    ("bing", "ppc", None, "Paid Search", "paid_search"),
    ("google", "paidsearch", None, "Paid Search", "paid_search"),
    ("duckduckgo", "retargeting", None, "Paid Search", "paid_search"),
    ("google", "cpm", None, "Paid Search", "paid_search"),  # "cpm" matches .*cp.* before Display is tried
    # Paid Social
    ("facebook", "paid", None, "Paid Social", "social_ads"),
    ("instagram", "cpc", None, "Paid Social", "social_ads"),
    ("linkedin", "paid_social", None, "Paid Social", "social_ads"),
    ("tiktok", "cpm", None, "Paid Social", "social_ads"),
    # Paid Video
    ("youtube", "cpc", None, "Paid Video", "paid_video"),
    ("vimeo", "cpv", None, "Paid Video", "paid_video"),
    # Display: medium display, banner, expandable, interstitial, cpm
    ("adnetwork.example", "display", None, "Display", "display"),
    ("adnetwork.example", "banner", None, "Display", "display"),
    ("adnetwork.example", "expandable", None, "Display", "display"),
    ("adnetwork.example", "interstitial", None, "Display", "display"),
    ("adnetwork.example", "cpm", None, "Display", "display"),
    # Paid Other: paid medium, source in no list
    ("partner.example", "cpc", None, "Paid Other", "paid_other"),
    ("(direct)", "cpc", None, "Paid Other", "paid_other"),
    ("email", "cpc", None, "Paid Other", "paid_other"),  # paid rules come before Email
    # Organic Shopping: shopping site or shop campaign, not paid
    ("ebay", "referral", None, "Organic Shopping", "organic_shopping"),
    ("blog.example.com", "referral", "black-friday-shop", "Organic Shopping", "organic_shopping"),
    # Organic Social: social site or social medium
    ("facebook", "referral", None, "Organic Social", "organic_social"),
    ("l.instagram.com", None, None, "Organic Social", "organic_social"),
    ("newsletter", "social", None, "Organic Social", "organic_social"),
    ("x.example", "sm", None, "Organic Social", "organic_social"),
    ("x.example", "social media", None, "Organic Social", "organic_social"),
    # Organic Video: video site or a medium containing "video"
    ("youtube", "referral", None, "Organic Video", "organic_video"),
    ("x.example", "product-video", None, "Organic Video", "organic_video"),
    # Organic Search: search site or medium organic
    ("google", "organic", None, "Organic Search", "organic_search"),
    ("bing", "referral", None, "Organic Search", "organic_search"),
    ("x.example", "organic", None, "Organic Search", "organic_search"),
    # Referral: medium referral, app or link
    ("blog.example.com", "referral", None, "Referral", "referral"),
    ("partner-app", "app", None, "Referral", "referral"),
    ("forum.example", "link", None, "Referral", "referral"),
    # Email: source or medium email / e-mail / e_mail / e mail
    ("newsletter", "email", None, "Email", "email"),
    ("email", "newsletter", None, "Email", "email"),
    ("klaviyo", "e-mail", None, "Email", "email"),
    ("mailchimp", "e mail", None, "Email", "email"),
    ("e_mail", None, None, "Email", "email"),
    # Affiliates
    ("awin", "affiliate", None, "Affiliates", "affiliate"),
    # Audio
    ("spotify", "audio", None, "Audio", "audio"),
    # SMS: source or medium sms
    ("sms", "text", None, "SMS", "sms"),
    ("twilio", "sms", None, "SMS", "sms"),
    # Mobile Push Notifications: medium ends with push, contains mobile or notification; source firebase
    ("onesignal", "web-push", None, "Mobile Push Notifications", "push"),
    ("app", "mobile", None, "Mobile Push Notifications", "push"),
    ("app", "in-app-notification", None, "Mobile Push Notifications", "push"),
    ("firebase", "(not set)", None, "Mobile Push Notifications", "push"),
    # Unassigned: nothing matches
    ("newsletter", None, None, "Unassigned", "unassigned"),
    ("x.example", "y", None, "Unassigned", "unassigned"),
    ("facebook.example", "posts", None, "Unassigned", "unassigned"),
]


@pytest.mark.parametrize(("source", "medium", "campaign", "group", "channel"), CASES)
def test_documented_examples(
    source: str | None, medium: str | None, campaign: str | None, group: str, channel: str
) -> None:
    assert ga4_default_channel_group(source, medium, campaign) == group
    assert ga4_default_channel(source, medium, campaign) == channel


def test_every_rule_has_an_example() -> None:
    groups = {g for *_, g, _ in CASES}
    assert groups == set(GA4_TO_CXLAB)
    assert len(GA4_TO_CXLAB) == 19


def test_matching_ignores_case_and_blanks() -> None:
    assert ga4_default_channel("Google", "CPC") == "paid_search"
    assert ga4_default_channel(" Facebook ", "Paid") == "social_ads"
    assert ga4_default_channel("NEWSLETTER", "Email") == "email"
    assert ga4_default_channel("", "") == "direct"  # empty means absent


def test_channel_names_are_cxlab_channels() -> None:
    names = set(Config.default().channels.names)
    assert set(GA4_TO_CXLAB.values()) <= names
    assert GA4_TO_CXLAB["Paid Social"] == "social_ads"
    assert GA4_TO_CXLAB["Affiliates"] == "affiliate"
    assert GA4_TO_CXLAB["Mobile Push Notifications"] == "push"
    assert [r.group for r in RULES][:3] == ["Direct", "Cross-network", "Paid Shopping"]


def test_sql_over_a_table_agrees_with_single_values() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (s VARCHAR, m VARCHAR, c VARCHAR, want VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(s, m, c, ch) for s, m, c, _, ch in CASES])
    bad = con.execute(f"SELECT s, m, c, want, {channel_sql('s', 'm', 'c')} AS got FROM t WHERE got <> want")
    assert bad.fetchall() == []
    groups = con.execute(f"SELECT DISTINCT {channel_sql('s', 'm', 'c', names='ga4')} FROM t").fetchall()
    assert {g for (g,) in groups} == set(GA4_TO_CXLAB)
    with pytest.raises(ValueError):
        channel_sql("s", "m", "c", names="other")
