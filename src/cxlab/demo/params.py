"""The fixed parameters of the demo shop: window, vocabularies (as code tables) and planted effect sizes.

Everything the simulation draws from lives here, so ``truth.json`` can report the planted values verbatim.
Times inside the simulation are integer seconds since the Unix epoch (UTC); codes are small integers that
index the name tuples below (``-1`` means null).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

DAY = 86_400
HOUR = 3_600
WEEK = 7 * DAY

WINDOW_START = datetime(2024, 1, 1)
WINDOW_END_EXCL = datetime(2026, 1, 1)
START_S = int(np.datetime64(WINDOW_START, "s").astype(np.int64))
END_S = int(np.datetime64(WINDOW_END_EXCL, "s").astype(np.int64))
"""Exclusive end: every timestamp is ``< END_S``, i.e. on or before 2025-12-31 23:59:59."""

BATCH_SIZE = 5_000
"""Customers simulated together (each batch has its own random stream, keyed by its number)."""
CHUNK_SIZE = 50_000
"""Customers per part file (about 4 million events); chunks run in parallel processes."""

# --- vocabularies -------------------------------------------------------------------------------------

COUNTRIES = ("NL", "DE", "DK", "GB")
COUNTRY_P = np.array([0.40, 0.25, 0.15, 0.20])
LANGUAGES = ("nl", "de", "da", "en")
LANGUAGE_OF_COUNTRY = np.array([0, 1, 2, 3])
ENGLISH_SHARE = 0.05
"""Share of customers outside GB who shop (and write) in English."""

DEVICES = ("desktop", "mobile", "tablet", "app")
DEVICE_P = np.array([0.35, 0.50, 0.07, 0.08])
DEVICE_LOYALTY = 0.75

CHANNELS = (
    "paid_search",
    "social_ads",
    "display",
    "paid_shopping",
    "affiliate",
    "organic_search",
    "organic_social",
    "referral",
    "direct",
    "email",
    "sms",
)
CH = {name: i for i, name in enumerate(CHANNELS)}
ACQUISITION_P = np.array([0.20, 0.20, 0.08, 0.08, 0.08, 0.17, 0.05, 0.05, 0.09, 0.0, 0.0])
PAID = ("paid_search", "social_ads", "display", "paid_shopping", "affiliate")

TOUCHPOINTS = (
    "search_ad",
    "social_ad",
    "display_ad",
    "organic_search",
    "affiliate",
    "retargeting_ad",
    "site",
    "newsletter",
    "product_page",
    "cart",
    "abandoned_cart_email",
    "checkout",
    "order_confirmation_email",
    "shipping_confirmation_email",
    "shipping_sms",
    "delivery",
    "unboxing",
    "product",
    "customer_service",
    "returns",
    "review_request",
    "review",
    "nps_survey",
    "loyalty",
)
TP = {name: i for i, name in enumerate(TOUCHPOINTS)}

EVENTS = (
    "ad_click",
    "organic_click",
    "affiliate_click",
    "email_sent",
    "email_open",
    "email_click",
    "sms_sent",
    "page_view",
    "view_item",
    "sign_up",
    "add_to_cart",
    "checkout",
    "purchase",
    "shipment_sent",
    "delivered",
    "unboxing",
    "support_contact",
    "return_requested",
    "refund",
    "review",
    "survey_response",
)
EV = {name: i for i, name in enumerate(EVENTS)}

CAMPAIGNS_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "paid_search": (
        "ps_brand",
        "ps_generic_apparel",
        "ps_generic_shoes",
        "ps_generic_home",
        "ps_generic_beauty",
    ),
    "social_ads": ("social_prospecting_video", "social_prospecting_carousel", "social_lookalike"),
    "display": ("display_prospecting",),
    "paid_shopping": ("shopping_all_products", "shopping_bestsellers"),
    "affiliate": ("aff_cashback", "aff_voucher_sites", "aff_blogs"),
}
OTHER_CAMPAIGNS = (
    "display_retargeting",
    "newsletter",
    "abandoned_cart",
    "order_confirmation",
    "shipping_confirmation",
    "review_request",
    "nps_survey",
    "shipping_sms",
    "birthday",
)
CAMPAIGNS: tuple[str, ...] = tuple(c for cs in CAMPAIGNS_BY_CHANNEL.values() for c in cs) + OTHER_CAMPAIGNS
CAMP = {name: i for i, name in enumerate(CAMPAIGNS)}
CAMPAIGN_FIRST = np.full(len(CHANNELS), -1)
CAMPAIGN_COUNT = np.zeros(len(CHANNELS), dtype=np.int64)
for _ch, _cs in CAMPAIGNS_BY_CHANNEL.items():
    CAMPAIGN_FIRST[CH[_ch]] = CAMP[_cs[0]]
    CAMPAIGN_COUNT[CH[_ch]] = len(_cs)

ENTRY_TP_OF_CHANNEL = np.full(len(CHANNELS), -1)
for _ch, _tp in (
    ("paid_search", "search_ad"),
    ("paid_shopping", "search_ad"),
    ("social_ads", "social_ad"),
    ("display", "display_ad"),
    ("affiliate", "affiliate"),
    ("organic_search", "organic_search"),
    ("email", "newsletter"),
):
    ENTRY_TP_OF_CHANNEL[CH[_ch]] = TP[_tp]
ENTRY_EVENT_OF_TP = np.full(len(TOUCHPOINTS), -1)
for _tp, _ev in (
    ("search_ad", "ad_click"),
    ("social_ad", "ad_click"),
    ("display_ad", "ad_click"),
    ("retargeting_ad", "ad_click"),
    ("organic_search", "organic_click"),
    ("affiliate", "affiliate_click"),
    ("newsletter", "email_click"),
    ("abandoned_cart_email", "email_click"),
    ("loyalty", "email_click"),
):
    ENTRY_EVENT_OF_TP[TP[_tp]] = EV[_ev]

PAGES = (
    "home",
    "category/apparel",
    "category/shoes",
    "category/accessories",
    "category/home",
    "category/beauty",
    "search",
    "sale",
    "faq",
    "account",
)

# --- prospects: sessions until the first purchase ----------------------------------------------------

WEAK_CHANNEL = "social_ads"
SESSION_PURCHASE_P = np.array(
    [
        0.035,  # paid_search
        0.030,  # social_ads: the planted weak channel (with WEAK_CHANNEL_INTENT: about half its peers)
        0.035,  # display (prospecting and retargeting)
        0.035,  # paid_shopping
        0.035,  # affiliate
        0.040,  # organic_search
        0.025,  # organic_social
        0.035,  # referral
        0.045,  # direct
        0.050,  # email (newsletter)
        0.0,  # sms
    ]
)
"""Per-session purchase probability of a prospect with intent 1, by the session's channel."""
ABANDONED_CART_PURCHASE_P = 0.10
RETARGETING_PURCHASE_P = 0.06
"""Retargeting reaches prospects who already looked around (and didn't buy yet): a higher base."""
WEAK_CHANNEL_INTENT = 0.45
"""Intent multiplier of prospects the weak channel brings (lower-intent traffic)."""
INTENT_SHAPE = 2.0
"""Intent ~ Gamma(shape, 1/shape): mean 1, multiplies the per-session purchase probability."""
MAX_PURCHASE_P = 0.9
LEAVE_P = 0.07
"""Chance a prospect never comes back after a session without a purchase."""
MAX_PROSPECT_SESSIONS = 150
SIGNUP_P = 0.04
RETURN_CHANNEL_P = np.array([0.75, 0.12, 0.08, 0.05])
"""Channel of a returning prospect's session: primary, secondary, direct, organic_search."""
NEWSLETTER_SESSION_P = 0.15
RETARGETING_P = 0.12
SESSION_GAP_MEDIAN_DAYS = 2.0
SESSION_GAP_SIGMA = 1.2
ARRIVAL_GROWTH = 0.6
"""First visits have density proportional to ``1 + growth * x`` over the window (x from 0 to 1)."""

ABANDONED_CART_DELAY = 4 * HOUR
"""The abandoned-cart flow's delay after the abandoned session's start (its ``trigger.delay``)."""
ABANDONED_CART_SEND_SPREAD = HOUR
"""Sends spread over this much after the delay (the planner's runs and the queue)."""
ABANDONED_CART_OPEN_P = 0.45
ABANDONED_CART_CLICK_P = 0.35
"""Click probability given an open."""

# session types
BOUNCE, BROWSE, CART, CHECKOUT_ABANDON, PURCHASE = range(5)
NON_PURCHASE_TYPE_P_BEFORE = np.array([0.35, 0.33, 0.20, 0.12])
NON_PURCHASE_TYPE_P_AFTER = np.array([0.35, 0.33, 0.26, 0.06])
"""Session type of a session without purchase, before / after the checkout redesign."""

# --- customers: repeat purchases and spend -----------------------------------------------------------

BGNBD = {"r": 0.8, "alpha": 10.0, "a": 0.7, "b": 3.5}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 50.0}
REPEAT_CHANNEL_P = np.array([0.30, 0.25, 0.25, 0.10, 0.10])
"""Channel of a repeat purchase session: email, direct, primary, organic_search, secondary."""
BROWSE_CHANNEL_P = np.array([0.15, 0.20, 0.35, 0.10, 0.20])
"""Channel of a customer's browse-only session, same order as above."""
BROWSE_PER_ORDER = 2.5
CONSENT_EMAIL_P = 0.6
CONSENT_SMS_P = 0.35
PHONE_P = 0.7
BIRTHDAY_P = 0.65
NEWSLETTER_OPEN_P = 0.22
NEWSLETTER_EVERY_DAYS = 14

DISCOUNT_CODES = ("WELCOME10", "NEWS15", "SALE20", "FRIENDS10")
DISCOUNT_PCT = np.array([0.10, 0.15, 0.20, 0.10])
DISCOUNT_BASE_P = 0.05
DISCOUNT_SENSITIVITY_P = 0.5
"""An order uses a code with probability base + this * price sensitivity (Beta(1.5, 4))."""
SHIPPING_FEE = 4.95
FREE_SHIPPING_FROM = 50.0
PAIR_ORDER_P = 0.08
N_PAIRS = 5

# --- fulfilment: the planted weak touchpoint (delivery) ----------------------------------------------

WEAK_TOUCHPOINT = "delivery"
CARRIERS = ("PostNL", "DHL", "PostNord", "Royal Mail")
PROMISED_DAYS = np.array([1, 2, 2, 2])
LATE_P = np.array([0.06, 0.24, 0.30, 0.10])
DAMAGED_P = np.array([0.025, 0.05, 0.05, 0.03])
REVIEW_P_ON_TIME = 0.22
REVIEW_P_LATE = 0.10
REVIEW_P_DAMAGED = 0.16
NPS_INVITE_P = 0.45
NPS_RESPONSE_P_ON_TIME = 0.30
NPS_RESPONSE_P_LATE = 0.18
CES_P = 0.12
SUPPORT_P = {"late": 0.35, "damaged": 0.55, "other": 0.04}
CSAT_P = 0.45
RETURN_P = 0.10
RETURN_P_DAMAGED = 0.55

# --- automated flows: holdouts and planted effects ------------------------------------------------

FLOW_HOLDOUT = 0.1
"""Holdout share of every demo flow (drawn with :func:`cxlab.automate.holdout.assign`)."""
FLOW_NAMES = ("abandoned_cart", "review_request", "birthday")
AC_WINDOW_DAYS = 7
AC_BONUS_Q = 0.15
"""Chance that an abandoned-cart e-mail which did not bring the prospect back anyway brings their first
purchase (if they buy later) forward to a session from the e-mail, per e-mail."""
REVIEW_WINDOW_DAYS = 14
REVIEW_WITHOUT_REQUEST = 0.75
REVIEW_WITH_REQUEST = 1.25
"""A customer's chance of reviewing an order without and with a request, as multiples of the planted review
probability (``REVIEW_P_*``): about half the orders get a request, so the planted one stays the average."""
BIRTHDAY_WINDOW_DAYS = 14
BIRTHDAY_BONUS_Q = 0.25
"""Chance that a birthday e-mail brings a customer's next purchase (if they buy again) forward to it."""
BIRTHDAY_HOUR = 9
"""The birthday e-mail goes out at 09:00 in the customer's time zone."""
BIRTHDAY_OPEN_P = 0.4

# --- experiment and changes --------------------------------------------------------------------------

EXPERIMENT_ID = "shipping_email_festive"
EXPERIMENT_START = datetime(2024, 6, 1)
EXPERIMENT_START_S = int(np.datetime64(EXPERIMENT_START, "s").astype(np.int64))
SHIPPING_EMAIL_OPEN_P = 0.55
SHIPPING_CLICK_BASE = 0.10
SHIPPING_CLICK_LIFT = 0.30
"""Relative lift of the festive variant on the same-day click rate of the shipping e-mail."""

CHECKOUT_REDESIGN = datetime(2025, 3, 3)
CHECKOUT_REDESIGN_S = int(np.datetime64(CHECKOUT_REDESIGN, "s").astype(np.int64))
SMS_TRACKING_LINK = datetime(2024, 10, 14)
SMS_TRACKING_LINK_S = int(np.datetime64(SMS_TRACKING_LINK, "s").astype(np.int64))
REVIEW_REQUEST_EARLIER = datetime(2025, 9, 1)
REVIEW_REQUEST_EARLIER_S = int(np.datetime64(REVIEW_REQUEST_EARLIER, "s").astype(np.int64))
REVIEW_REQUEST_DAYS_BEFORE = 7
REVIEW_REQUEST_DAYS_AFTER = 5
CES_GOOD_P_BEFORE = 0.55
CES_GOOD_P_AFTER = 0.80

HOUR_WEIGHTS = np.array(
    [
        0.4,
        0.25,
        0.15,
        0.1,
        0.1,
        0.2,
        0.5,
        1.0,
        1.6,
        2.0,
        2.2,
        2.3,
        2.5,
        2.4,
        2.2,
        2.2,
        2.4,
        2.8,
        3.2,
        3.6,
        3.8,
        3.4,
        2.4,
        1.2,
    ]
)
"""Relative session starts by hour of day (UTC)."""
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()


def iso(s: int) -> str:
    """Seconds since the epoch as ``YYYY-MM-DDTHH:MM:SS``."""
    return str(np.datetime64(int(s), "s"))


# Media spend: every session a paid channel brings is a paid click, bought at this cost per click (EUR),
# with day-to-day noise (lognormal, sigma below). The weak channel costs as much per click as its peers,
# so its worse conversion shows as worse ROAS.
CPC = {"paid_search": 0.85, "social_ads": 0.75, "display": 0.45, "paid_shopping": 0.65, "affiliate": 0.55}
CPC_NOISE_SIGMA = 0.15
N_DAYS = (END_S - START_S) // DAY
SPEND_STREAM = 2**31 + 1
"""Spawn key of the spend noise's random stream."""
