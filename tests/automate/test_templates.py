"""Message templates: escaping of customer data, strict undefined names, files, whitespace; the tone check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cxlab.automate.plan import plan
from cxlab.automate.templates import TemplateError, context, html_to_text, render, tone_check
from cxlab.config import Config, ConfigError
from cxlab.store import Store
from tests.automate.conftest import at, flow, settings

CFG = Config.default()
HOSTILE = '<script>alert("x")</script> & Bob'


def test_html_messages_escape_customer_data(tmp_path: Path) -> None:
    f = flow(
        messages={
            "en": {
                "subject": "Hello {{ first_name }}",
                "body": "<p>Hi <b>{{ first_name }}</b>,</p><p>order {{ order_id }}</p>",
                "html": True,
            }
        }
    )
    subject, text, html = render(f, "send", "en", context(CFG, first_name=HOSTILE, order_id="7"), tmp_path)
    assert html is not None
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Bob" in html
    assert "<b>" in html  # the template's own markup stays
    assert text == f"Hi {HOSTILE},\n\norder 7"  # plain text shows what they typed, as text
    assert subject == f"Hello {HOSTILE}"


def test_plain_text_and_subject_on_one_line(tmp_path: Path) -> None:
    f = flow(
        messages={
            "en": {
                "subject": "For {{ first_name }}",
                "body": "Hi {{ first_name or 'there' }},\n\n\n\n  see   you  ",
            }
        }
    )
    subject, text, html = render(
        f, "send", "en", context(CFG, first_name="Ann\nBcc: evil@example.com"), tmp_path
    )
    assert subject == "For Ann Bcc: evil@example.com"  # no header injection through a newline
    assert html is None
    subject, text, _ = render(f, "send", "en", context(CFG), tmp_path)
    assert text == "Hi there,\n\nsee you"


def test_undefined_names_are_errors_naming_the_template(tmp_path: Path) -> None:
    f = flow(
        "cart",
        messages={},
        variants={"short": {"messages": {"nl": {"body": "Hoi {{ frist_name }}"}}}},
    )
    with pytest.raises(TemplateError) as e:
        render(f, "short", "nl", context(CFG), tmp_path)
    msg = str(e.value)
    for part in ("flow cart", "variant short", "language nl", "inline body", "frist_name"):
        assert part in msg
    bad = flow(messages={"en": {"body": "{% if %}"}})
    with pytest.raises(TemplateError, match="line 1"):
        render(bad, "send", "en", context(CFG), tmp_path)


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    f = flow(messages={"en": {"body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}})
    with pytest.raises(TemplateError):
        render(f, "send", "en", context(CFG), tmp_path)


def test_template_file_with_subject_line(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "cart.nl.j2").write_text(
        "Subject: Je mandje bij {{ shop }}\n<p>Hoi {{ first_name or 'daar' }}</p>\n"
        "{% for r in recommendations %}<li>{{ r.name }}: {{ r.reason }}</li>{% endfor %}\n{{ unsubscribe }}",
        encoding="utf-8",
    )
    f = flow(messages={"nl": {"template": "mail/cart.nl.j2", "html": True}})
    recs = [{"product_id": "p1", "name": "Mok <groot>", "reason": "vaak samen gekocht"}]
    subject, text, html = render(
        f, "send", "nl", context(CFG, recommendations=recs, unsubscribe="Stop"), tmp_path
    )
    assert subject == "Je mandje bij My shop"
    assert html is not None and "Mok &lt;groot&gt;" in html
    assert text == "Hoi daar\n\nMok <groot>: vaak samen gekocht\n\nStop"
    missing = flow(messages={"nl": {"template": "mail/none.j2"}})
    with pytest.raises(TemplateError, match=r"none\.j2"):
        render(missing, "send", "nl", context(CFG), tmp_path)
    with pytest.raises(KeyError, match="no message in 'de'"):
        render(f, "send", "de", context(CFG), tmp_path)


def test_html_to_text() -> None:
    assert html_to_text("<p>a &amp; b</p><br>c<script>x()</script>") == "\na & b\n\nc"


@pytest.mark.slow
def test_tone_check_flags_pushy_copy_and_blocks_the_flow(
    tmp_path: Path, flow_store: Callable[..., Store]
) -> None:
    calm = flow(
        "calm",
        messages={"en": {"subject": "Your order is on its way", "body": "Hi {{ first_name or 'there' }}, your "
                         "parcel left our warehouse today. Thank you for shopping with us."}},
    )  # fmt: skip
    pushy = flow(
        "pushy",
        holdout=0,
        messages={"en": {"subject": "LAST CHANCE!!!", "body": "LAST CHANCE!!! BUY NOW before it is gone! "
                         "Only today, hurry, offer ends in 1 hour!!!"}},
    )  # fmt: skip
    tone = tone_check([calm, pushy], CFG, tmp_path).set_index("flow")
    assert list(tone.columns) == ["variant", "language", "pressure", "brand_distance", "flagged", "finding"]
    assert tone.loc["pushy", "pressure"] >= 0.5 > tone.loc["calm", "pressure"]
    assert bool(tone.loc["pushy", "flagged"]) and not bool(tone.loc["calm", "flagged"])
    assert tone.loc["pushy", "finding"].startswith("reads as pushy: pressure 0.")
    s = flow_store(
        customers=[{"customer_id": "c1", "country": "NL", "language": "en"}],
        events=[{"ts": 0, "event": "add_to_cart", "customer_id": "c1"}],
        consent=[{"customer_id": "c1"}],
    )
    cart_pushy = pushy.model_copy(update={"trigger": calm.trigger})
    p = plan(s, [cart_pushy], settings(), at(10))
    assert "tone check flagged send/en: reads as pushy" in p.blocked["pushy"]
    assert p.rows.empty and len(p.tone) == 1
    accepted = plan(s, [cart_pushy.model_copy(update={"accept_tone": True})], settings(), at(10))
    assert accepted.blocked == {} and accepted.rows["status"].tolist() == ["queued"]


def test_templates_cannot_change_their_data(tmp_path: Path) -> None:
    f = flow(messages={"en": {"body": "{{ recommendations.append(1) }}"}})
    ctx = context(CFG)
    with pytest.raises(TemplateError, match="flow cart"):
        render(f, "send", "en", ctx, tmp_path)
    assert ctx["recommendations"] == []


def test_template_files_stay_inside_the_project(tmp_path: Path) -> None:
    """A template is mailed to customers: an absolute path, ``..``, a link out of the project or one of the
    cxlab.* files (the secret, the config) is a ConfigError naming the flow and the path."""
    project = tmp_path / "shop"
    (project / "mail").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("private", encoding="utf-8")
    (project / "cxlab.secret").write_text("s3cret", encoding="utf-8")
    (project / "mail" / "ok.j2").write_text("Hi {{ shop }}", encoding="utf-8")
    (project / "mail" / "out.j2").symlink_to(tmp_path / "outside.txt")
    for bad in (str(tmp_path / "outside.txt"), "../outside.txt", "mail/../../outside.txt", "mail/out.j2"):
        f = flow(name="leaky", messages={"en": {"template": bad}})
        with pytest.raises(ConfigError, match=r"flows\.leaky: template .*outside\.txt") as e:
            render(f, "send", "en", context(CFG), project)
        assert "private" not in str(e.value)
    for secret in ("cxlab.secret", "mail/../cxlab.secret", "./CXLAB.toml"):
        f = flow(name="leaky", messages={"en": {"template": secret}})
        with pytest.raises(ConfigError, match=r"flows\.leaky: .*not a cxlab\.\* file"):
            render(f, "send", "en", context(CFG), project)
    ok = flow(messages={"en": {"template": "mail/../mail/ok.j2"}})
    assert render(ok, "send", "en", context(CFG), project)[1] == "Hi My shop"
