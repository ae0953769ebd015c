"""Tone of the shop's own messages: pressure and distance from the brand, per message and per channel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import Config
from cxlab.voice.tone import modified_z, read_messages, tone

EMAILS = [
    "Thanks for your order! Your new lamp is being packed with care.",
    "Your parcel is on its way and should arrive on Friday.",
    "We hope you're enjoying your purchase. Tell us how it went?",
    "Bedankt voor je bestelling, we pakken hem met zorg in.",
    "Tak for din ordre, vi sender den i morgen.",
    "Need a different size? Returns are free for 30 days.",
    "Our new linen collection is in, have a look when you like.",
    "Your order has been delivered. Enjoy!",
]
SMS = [
    "FINAL HOURS!!! 70% OFF EVERYTHING, BUY NOW!",
    "Only 1 left!! Order in the next 10 minutes or lose it!",
    "LAATSTE KANS! Vandaag nog bestellen, morgen is het te laat!",
    "SIDSTE CHANCE!!! Køb nu før det er for sent!",
    "Hurry hurry hurry, the sale ends at midnight!!!",
]
OFF_BRAND = "EBITDA margin improved by 3 basis points in the third quarter."


def _messages() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel": ["email"] * len(EMAILS) + ["sms"] * len(SMS) + ["site"],
            "text": EMAILS + SMS + [OFF_BRAND],
        }
    )


def test_pushy_channel_and_off_brand_message_are_flagged() -> None:
    res = tone(_messages(), Config.default())
    m = res.messages
    assert m.loc[m["channel"] == "sms", "pressure"].min() > m.loc[m["channel"] == "email", "pressure"].max()
    assert m["brand_distance"].idxmax() == len(m) - 1  # the off-topic message is furthest from the brand
    ch = res.channels.set_index("channel")
    assert "more pressure" in ch.loc["sms", "flag"] and ch.loc["email", "flag"] == ""
    # the channel test is Welch's t-test of the channel against the rest
    p = stats.ttest_ind(
        m.loc[m["channel"] == "sms", "pressure"], m.loc[m["channel"] != "sms", "pressure"], equal_var=False
    ).pvalue
    assert ch.loc["sms", "pressure_p"] == pytest.approx(p)
    assert "messages in 3 channels" in res.summary()


def test_modified_z_matches_the_definition() -> None:
    x = np.array([1.0, 2.0, 2.0, 3.0, 10.0])
    mad = np.median(np.abs(x - 2.0))
    assert modified_z(x) == pytest.approx(0.6745 * (x - 2.0) / mad)
    assert (modified_z(np.ones(4)) == 0).all()


def test_missing_brand_is_a_clear_error() -> None:
    cfg = Config.default()
    extra = dict(cfg.model_extra or {})
    extra["voice"] = {**extra["voice"], "brand": [" "]}
    bad = Config.model_validate({**cfg.model_dump(), **extra})
    with pytest.raises(ValueError, match=r"voice\.brand"):
        tone(_messages(), bad)


def test_read_messages_errors_name_file_row_and_field(tmp_path: Path) -> None:
    f = tmp_path / "copy.csv"
    f.write_text("channel,body\nemail,hi\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"copy.csv: no column 'text'"):
        read_messages(f)
    f.write_text("channel,text\nemail,hi\nsms,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"copy.csv:3: text: missing required value"):
        read_messages(f)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.csv: file is empty"):
        read_messages(empty)


def test_cli_tone_json(tmp_path: Path) -> None:
    f = tmp_path / "copy.csv"
    _messages().to_csv(f, index=False)
    r = CliRunner().invoke(app, ["voice", "tone", str(f), "--db", str(tmp_path / "x.duckdb"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["messages"]) == len(_messages()) and {c["channel"] for c in doc["channels"]} == {
        "email",
        "sms",
        "site",
    }
