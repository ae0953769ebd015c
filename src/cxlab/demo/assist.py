"""The demo shop's assistant: its FAQ in four languages, and simulated customers asking it questions.

The FAQ files are copied beside the store (``faq/faq.<lang>.md``, listed under ``[assist] faq``) so a user can
edit them and run ``cxlab assist index`` again. Questions come from ``assist_questions.toml`` (written apart
from the FAQ and from the evaluation set): customers ask about their latest order in the days after it, or
about anything else; a share ask what no FAQ answers. Each question goes through the real assistant as of its
time, and is recorded as the server would; some customers rate the answer, and some ask again when it didn't
help, so ``cxlab assist report`` has thumbs, repeat contacts and gaps to show.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.assist.knowledge import BUILTIN, demo_faq
from cxlab.assist.record import Rows, exchange_rows, extend, feedback_rows, write_rows
from cxlab.assist.service import build_index, load_assistant
from cxlab.progress import Progress, silent
from cxlab.store import Store

QUESTIONS = 400
OUTSIDE_SHARE = 0.12
ORDER_SHARE = 0.45
"""Share of questions about the customer's own order (status, return deadline)."""
ANONYMOUS_SHARE = 0.3
"""Share of the other questions asked by visitors who are not logged in."""
RATED_SHARE = 0.35
ASK_AGAIN = {"unhelpful": 0.35, "helpful": 0.04}
LANGUAGES = ("nl", "da", "en", "de")
ASKING = "customers asking the assistant"


def write_faq_files(store_dir: Path) -> list[str]:
    """Copy the demo FAQ beside the store and list it under ``[assist] faq`` in its ``cxlab.toml``."""
    folder = store_dir / "faq"
    folder.mkdir(exist_ok=True)
    src = resources.files("cxlab.demo").joinpath("faq")
    names = sorted(f.name for f in src.iterdir() if f.name.endswith(".md"))
    for name in names:
        with resources.as_file(src.joinpath(name)) as path:
            shutil.copyfile(path, folder / name)
    listed = [f"faq/{n}" for n in names]
    toml = store_dir / "cxlab.toml"
    text = toml.read_text(encoding="utf-8") if toml.exists() else ""
    if "[assist]" not in text:
        block = (
            "\n# The demo shop's assistant: its FAQ (edit, then run `cxlab assist index`).\n[assist]\n"
            f"faq = [{', '.join(repr(p).replace(chr(39), chr(34)) for p in listed)}]\n"
        )
        toml.write_text(text + block, encoding="utf-8")
    return listed


def _pool() -> dict[str, dict[str, list[str]]]:
    text = resources.files("cxlab.demo").joinpath("assist_questions.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def simulate_assistant(
    store: Store,
    seed: int = 42,
    questions: int = QUESTIONS,
    progress: Progress | None = None,
) -> int:
    """Index the demo FAQ into ``store`` and record ``questions`` simulated questions; returns the events
    added."""
    report = progress or silent
    write_faq_files(store.project_dir)
    index = build_index(store.con, store.config, demo_faq(), progress)
    assistant = load_assistant(store.con, store.config, index=index)
    rng = np.random.default_rng(seed)
    pool = _pool()
    topics = [t for t in pool["en"] if t != "outside"]
    faq_topics = [t for t in topics if t not in BUILTIN]
    orders = store.con.execute(
        """
        WITH last AS (SELECT max(ts) AS end_ts FROM orders)
        SELECT o.order_id, o.customer_id, o.ts, coalesce(c.language, 'en') AS language, last.end_ts
        FROM orders o JOIN last ON o.ts >= last.end_ts - INTERVAL 60 DAY
        LEFT JOIN customers c USING (customer_id)
        WHERE o.customer_id IS NOT NULL ORDER BY o.order_id
        """
    ).df()
    if orders.empty:
        return 0
    end = pd.Timestamp(orders["end_ts"].iloc[0]).to_pydatetime()
    rows: Rows = {}
    report(ASKING, 0, questions)
    asked = 0
    while asked < questions:
        o = orders.iloc[int(rng.integers(len(orders)))]
        lang = o["language"] if o["language"] in LANGUAGES else "en"
        at = min(
            pd.Timestamp(o["ts"]).to_pydatetime() + dt.timedelta(hours=float(rng.uniform(2, 14 * 24))), end
        )
        u = rng.random()
        if u < OUTSIDE_SHARE:
            topic = "outside"
        elif u < OUTSIDE_SHARE + ORDER_SHARE:
            topic = str(rng.choice(["order_status", "order_status", "return_window"]))
        else:
            topic = str(rng.choice([*faq_topics, "opening_hours"]))
        customer = (
            None if topic not in BUILTIN[:2] and rng.random() < ANONYMOUS_SHARE else str(o["customer_id"])
        )
        anonymous = None if customer else f"demo-visitor-{asked}"
        for attempt in range(2):
            text = str(rng.choice(pool[lang][topic]))
            assistant.now = at
            reply = assistant.ask(text, customer)
            conv = f"demo-{asked}-{attempt}"
            ids = (f"assist:demo:{asked}:{attempt}:q", f"assist:demo:{asked}:{attempt}:a")
            extend(
                rows,
                exchange_rows(
                    text, reply, conversation=conv, customer=customer, anonymous_id=anonymous, at=at, ids=ids
                ),
            )
            asked += 1
            helped = not reply.handoff and reply.intent == topic
            if not reply.handoff and rng.random() < RATED_SHARE:
                helpful = bool(rng.random() < (0.85 if helped else 0.15))
                fb = feedback_rows(
                    ids[1], helpful, conversation=conv, customer=customer, anonymous_id=anonymous,
                    at=at + dt.timedelta(minutes=float(rng.uniform(1, 5))), event_id=f"assist:demo:{asked}:{attempt}:f",
                )  # fmt: skip
                extend(rows, fb)
            if (
                attempt
                or rng.random() >= ASK_AGAIN["helpful" if helped else "unhelpful"]
                or asked >= questions
            ):
                break
            at = min(at + dt.timedelta(hours=float(rng.uniform(1, 40))), end)
        report(ASKING, min(asked, questions), questions)
    write_rows(store, rows)
    return len(rows.get("events", []))
