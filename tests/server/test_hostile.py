"""Hostile customer text (markup, ``</script>``, template syntax) in feedback, customer ids, product ids,
touchpoint, campaign, experiment and channel names is shown as text everywhere: on every dashboard page (and no
script runs in Chromium), in the static report, and verbatim in the read API's JSON."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import markupsafe
import pytest
from fastapi.testclient import TestClient

from cxlab.config import default_toml
from cxlab.customers.churn import churn_risk
from cxlab.server.app import create_app
from cxlab.store import Store
from cxlab.voice.analysis import analyze_feedback
from tests.journey.conftest import build_demo_store
from tests.server.conftest import Served, add_keys, copy_store
from tests.server.live import CXLAB, serving
from tests.server.test_dashboard import PATHS, figures, login, no_warming  # noqa: F401 - autouse fixture
from tests.server.test_dashboard_browser import browser_page, check_figures, log_in

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
END = "</script><script>alert(2)</script>"
TEMPLATE = "{{7*7}}"
RAW = "{% raw %}x{% endraw %}"
HOSTILE = (SCRIPT, IMG, END, TEMPLATE, RAW)
MARKUP = (SCRIPT, IMG, END)
CHANNEL = f"mail{IMG}"
TOUCHPOINT = f"site{SCRIPT}"
CAMPAIGN = f"spring{END}"
PRODUCT = f"p{IMG}"
EXPERIMENT = f"exp{SCRIPT}"
CUSTOMERS = (f"c{SCRIPT}", f"c{IMG}", f"c{TEMPLATE}")


def _toml(s: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for these characters)."""
    return json.dumps(s)


def hostile_config() -> str:
    """The default cxlab.toml with the e-mail channel and the site touchpoint renamed to hostile names."""
    text = default_toml()
    for old, new in (
        ('"email"', _toml(CHANNEL)),
        ('\nsite = "consideration"', f'\n{_toml(TOUCHPOINT)} = "consideration"'),
        ("\nsite = 2", f"\n{_toml(TOUCHPOINT)} = 2"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    return text


def make_hostile_store(out: Path) -> Path:
    """A small demo shop rewritten so that customer text everywhere is hostile."""
    db, _ = build_demo_store(out, 400, seed=11)
    (out / "cxlab.toml").write_text(hostile_config(), encoding="utf-8")
    with Store(db, read_only=True) as s:  # the customers the churn table lists first get hostile ids
        at_risk = churn_risk(s.ibis(), config=s.config).top(len(CUSTOMERS))["customer_id"].tolist()
    con = duckdb.connect(str(db))
    try:
        for table in ("events", "orders", "spend"):
            con.execute(f"UPDATE {table} SET channel = ? WHERE channel = 'email'", [CHANNEL])
        for table in ("events", "feedback", "changes"):
            con.execute(f"UPDATE {table} SET touchpoint = ? WHERE touchpoint = 'site'", [TOUCHPOINT])
        con.execute("UPDATE events SET campaign = ? WHERE campaign IS NOT NULL", [CAMPAIGN])
        top = [(c,) for c in at_risk]
        tables = [
            t for (t,) in con.execute("SELECT table_name FROM duckdb_columns() WHERE column_name = 'customer_id'")
            .fetchall() if not t.startswith("_")
        ]  # fmt: skip
        for (old,), new in zip(top, CUSTOMERS, strict=True):
            for t in tables:
                con.execute(f'UPDATE "{t}" SET customer_id = ? WHERE customer_id = ?', [new, old])
        con.execute(
            "UPDATE orders SET items = list_transform(items, x -> struct_pack(product_id := ?, "
            "quantity := x.quantity, price := x.price)) WHERE hash(order_id) % 3 = 0",
            [PRODUCT],
        )
        con.execute(
            "UPDATE feedback SET text = text || ' ' || (?::VARCHAR[])[1 + (hash(feedback_id) % 5)::BIGINT] "
            "WHERE text IS NOT NULL",
            [list(HOSTILE)],
        )
        (first,) = con.execute(
            "SELECT min(experiment_id) FROM exposures WHERE experiment_id NOT LIKE 'flow:%'"
        ).fetchone() or (None,)
        assert first is not None
        for t in ("exposures", "changes"):
            con.execute(f"UPDATE {t} SET experiment_id = ? WHERE experiment_id = ?", [EXPERIMENT, first])
        con.execute("UPDATE changes SET description = description || ' ' || ?", [SCRIPT + TEMPLATE])
    finally:
        con.close()
    with Store(db) as s:
        analyze_feedback(s)
    return db


FIGURE = re.compile(r'<script type="application/json" class="cx-fig"[^>]*>(.*?)</script>', re.S)


def strings(doc: object) -> list[str]:
    """Every string inside a JSON document (keys too)."""
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [*doc, *(s for v in doc.values() for s in strings(v))]
    if isinstance(doc, list):
        return [s for v in doc for s in strings(v)]
    return []


def shown(s: str, text: str) -> bool:
    """Whether ``s`` appears in ``text`` escaped, as Jinja (``&#34;``) or pandas/html.escape (``&quot;``) write it."""
    return html.escape(s) in text or str(markupsafe.escape(s)) in text


class Tags(HTMLParser):
    """Every tag with its attributes (script bodies are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(text: str, where: str, *, plotly_inline: bool = False) -> None:
    """No hostile markup got into the document as markup: no raw string, no injected tag or handler."""
    for s in MARKUP:
        assert s not in text, where
    parser = Tags()
    parser.feed(text)
    assert not [t for t, _ in parser.tags if t == "img"], where
    assert not [(t, a) for t, a in parser.tags if any(k.startswith("on") for k in a)], where
    scripts = [a for t, a in parser.tags if t == "script"]
    if plotly_inline:  # the static report: data blocks (figure JSON, packed Plotly) and its one loader script
        code = [a for a in scripts if a.get("type") not in ("application/json", "application/octet-stream")]
        assert len(code) == 1 and not any(a.get("src") for a in scripts), where
    else:  # the dashboard: scripts from /static only; figures are JSON data blocks
        assert all(a.get("src") or a.get("type") == "application/json" for a in scripts), where


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hostile_store(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def hostile_served(hostile_db: Path, tmp_path: Path) -> Iterator[Served]:
    db = copy_store(hostile_db, tmp_path / "store")
    keys = add_keys(db)
    with TestClient(create_app(db)) as client:
        yield Served(db, client, keys)


def test_every_dashboard_page_shows_hostile_text_as_text(hostile_served: Served) -> None:
    c = hostile_served.client
    login(c, hostile_served.keys["read"])
    seen = ""
    for path in [*PATHS, f"/channels?model=linear&channel={CHANNEL}", "/funnel?by=channel"]:
        r = c.get(path)
        assert r.status_code == 200, path
        assert_inert(r.text, path)
        seen += r.text
    listing = c.get("/experiments").text
    assert shown(EXPERIMENT, listing)
    one = c.get("/experiments", params={"experiment": EXPERIMENT})
    assert_inert(one.text, "one experiment")
    assert "Decision: " in one.text and figures(one.text) >= 1
    seen += one.text
    # the data is there, escaped (in HTML) or \u003c-escaped (in a figure's JSON)
    assert shown(CHANNEL, seen)
    assert shown(TOUCHPOINT, seen)
    assert shown(CUSTOMERS[0], seen)
    assert shown(SCRIPT + TEMPLATE, seen)  # a change's description
    assert TEMPLATE in seen and "{{" not in seen.replace(TEMPLATE, "")  # template syntax shown, not run
    # figures: Plotly renders some strings as HTML, so they hold the text escaped, never raw markup
    texts = [t for block in FIGURE.findall(seen) for t in strings(json.loads(block))]
    assert texts
    assert not [t for t in texts if "<script" in t or "<img" in t]
    assert any("&lt;script&gt;" in t for t in texts) and any("&lt;img src=x" in t for t in texts)
    # the channel filter with a hostile value is echoed escaped
    filtered = c.get("/journey", params={"channel": CHANNEL}).text
    assert_inert(filtered, "filtered")
    assert f'value="{markupsafe.escape(CHANNEL)}" selected' in filtered


def test_read_api_returns_hostile_text_verbatim(hostile_served: Served) -> None:
    r = hostile_served.client.get("/v1/channels/compare", headers=hostile_served.auth("read"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert CHANNEL in strings(r.json())
    assert "&lt;" not in r.text and "&quot;" not in r.text  # JSON-escaped, not HTML-mangled


def test_static_report_shows_hostile_text_as_text(hostile_db: Path, tmp_path: Path) -> None:
    db = copy_store(hostile_db, tmp_path / "store")
    out = tmp_path / "report.html"
    done = subprocess.run(
        [*CXLAB, "report", "--db", str(db), "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    body = text.split("</head>", 1)[1]  # the head inlines plotly.js
    assert_inert(body, "report", plotly_inline=True)
    assert shown(CHANNEL, body) and shown(TOUCHPOINT, body)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_no_script_runs_in_chromium(hostile_db: Path, tmp_path: Path) -> None:
    db = copy_store(hostile_db, tmp_path / "live")
    keys = add_keys(db)
    with serving(db) as url, browser_page(url) as w:
        log_in(w, keys["read"])
        for path in [*PATHS, f"/experiments?experiment={EXPERIMENT}", "/funnel?by=channel"]:
            w.page.goto(path)
            check_figures(w)
            w.page.mouse.move(300, 300)
        assert w.dialogs == []
        assert w.page.evaluate("document.querySelectorAll('img').length") == 0
        assert w.problems == []
