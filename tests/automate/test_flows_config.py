"""Flow declarations: what parses, and the errors that name the file, flow and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab.automate.flows import (
    DEFAULT_VARIANT,
    DateTrigger,
    EventTrigger,
    ScoreTrigger,
    automate_settings,
    load_flows,
    parse_cap,
    parse_delay,
)
from cxlab.config import Config, ConfigError, default_toml

CART = """
[flows.abandoned_cart]
channel = "email"
priority = 10
trigger = { event = "add_to_cart", delay = "4h", cancel = ["purchase"] }
window = "7d"
[flows.abandoned_cart.messages.en]
subject = "Your cart"
body = "Hi {{ first_name or 'there' }}"
"""


def config(extra: str) -> Config:
    return Config.parse_toml(default_toml() + extra)


def test_a_flow_in_cxlab_toml_parses_with_its_defaults(tmp_path: Path) -> None:
    (flow,) = load_flows(config(CART), tmp_path)
    assert flow.name == "abandoned_cart" and flow.channel == "email"
    assert isinstance(flow.trigger, EventTrigger)
    assert flow.trigger.delay_td.total_seconds() == 4 * 3600 and flow.trigger.cancel == ["purchase"]
    assert flow.holdout == 0.1 and flow.metric == "conversion"
    assert list(flow.arms) == [DEFAULT_VARIANT] and flow.languages == ["en"]
    assert flow.experiment_id == "flow:abandoned_cart"
    assert flow.message_touchpoint == "abandoned_cart_email"


def test_trigger_kinds_are_told_apart_by_their_key(tmp_path: Path) -> None:
    extra = """
[flows.bday]
channel = "sms"
trigger = { date = "birthday", at = "10:30" }
messages.nl.body = "Gefeliciteerd"
[flows.winback]
channel = "email"
trigger = { score = "churn_risk", above = 0.7 }
messages.en.body = "We miss you"
[flows.detractor]
channel = "email"
trigger = { score = "nps", below = 7 }
messages.en.body = "Sorry"
"""
    flows = {f.name: f for f in load_flows(config(extra), tmp_path)}
    assert isinstance(flows["bday"].trigger, DateTrigger) and flows["bday"].trigger.at == "10:30"
    assert isinstance(flows["winback"].trigger, ScoreTrigger) and flows["winback"].trigger.above == 0.7
    assert isinstance(flows["detractor"].trigger, ScoreTrigger) and flows["detractor"].trigger.below == 7


def test_flows_folder_adds_flows_and_a_name_declared_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "more.toml").write_text(
        '[flows.review]\nchannel = "email"\ntrigger = { event = "delivered", delay = "7d" }\n'
        'messages.en.body = "How was it?"\n',
        encoding="utf-8",
    )
    assert sorted(f.name for f in load_flows(config(CART), tmp_path)) == ["abandoned_cart", "review"]
    (tmp_path / "flows" / "dup.toml").write_text(CART, encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"dup\.toml: flows\.abandoned_cart: already declared in cxlab\.toml"
    ):
        load_flows(config(CART), tmp_path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'channel = "email"\ntrigger = { event = "a", delay = "4x" }\nmessages.en.body = "b"',
            "trigger.delay",
        ),
        ('channel = "fax"\ntrigger = { event = "a" }\nmessages.en.body = "b"', "flows.f.channel"),
        ('channel = "email"\ntrigger = { event = "a" }', "needs messages"),
        (
            'channel = "email"\ntrigger = { score = "nps" }\nmessages.en.body = "b"',
            "exactly one of above or below",
        ),
        (
            'channel = "email"\ntrigger = { event = "a" }\nholdout = 1.5\nmessages.en.body = "b"',
            "flows.f.holdout",
        ),
        ('channel = "email"\ntrigger = { event = "a" }\nmessages.english.body = "b"', "ISO 639-1"),
        (
            'channel = "email"\ntrigger = { event = "a" }\nvariants.holdout.messages.en.body = "b"',
            "control arm",
        ),
    ],
)
def test_bad_flows_name_the_flow_and_field(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        load_flows(config(f"\n[flows.f]\n{body}\n"), tmp_path)
    assert str(e.value).startswith("cxlab.toml: flows.f")


def test_automate_settings_parse_and_check_caps_and_adapters() -> None:
    s = automate_settings(
        config(
            '\n[automate]\ncaps = { email = "2/3d" }\n[automate.delivery.email]\nadapter = "file"\npath = "out"\n'
        )
    )
    assert s.caps == {"email": "2/3d"} and s.delivery["email"].adapter == "file"
    assert parse_cap("2/3d") == (2, parse_delay("3d"))
    with pytest.raises(ConfigError, match=r"automate\.delivery\.email.*sender"):
        automate_settings(config('\n[automate.delivery.email]\nadapter = "smtp"\n'))
    with pytest.raises(ConfigError, match="not a message channel"):
        automate_settings(config('\n[automate]\ncaps = { fax = "1/1d" }\n'))


def test_the_version_hash_changes_with_the_declaration(tmp_path: Path) -> None:
    (a,) = load_flows(config(CART), tmp_path)
    (b,) = load_flows(config(CART.replace('"4h"', '"6h"')), tmp_path)
    (c,) = load_flows(config(CART), tmp_path)
    assert a.version_hash() == c.version_hash() != b.version_hash()
