"""``cxlab assist``: build the assistant's index from the shop's FAQ, ask it a question (as a customer would,
recorded as journey events), evaluate it on a labelled question set, and report how it does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    errors_as_exit,
    fail,
    progress,
    show_frame,
    show_summary,
)
from cxlab.store import Store

app = typer.Typer(
    help="Self-service assistant: FAQ index, answers with order data, hand-over, evaluation, report.",
    no_args_is_help=True,
)


@app.command()
def index(
    faq: Annotated[
        list[Path] | None,
        typer.Option("--faq", help="FAQ file (Markdown or CSV); repeat for several (default: [assist] faq)."),
    ] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Embed the FAQ's questions with the built-in intents and calibrate when to hand over."""
    from cxlab.assist.service import build_index, faq_entries
    from cxlab.assist.settings import assist_settings

    with errors_as_exit(), Store(db) as store:
        paths = list(faq or assist_settings(store.config).faq_paths(store.project_dir))
        if not paths:
            fail(
                "no FAQ given: pass --faq FILE (Markdown or CSV), or list files under [assist] faq in cxlab.toml"
            )
        entries = faq_entries(paths)
        known = store.config.journey.touchpoints
        for e in entries:
            if e.touchpoint is not None and e.touchpoint not in known:
                fail(
                    f"FAQ {e.id!r} ({e.language}): touchpoint {e.touchpoint!r} is not in cxlab.toml's "
                    f"[journey.touchpoints] ({', '.join(sorted(known))})"
                )
        with progress(not json_) as bar:
            built = build_index(store.con, store.config, entries, progress=bar)
    langs: dict[str, int] = {}
    for e in entries:
        langs[e.language] = langs.get(e.language, 0) + 1
    doc = {
        "files": [str(p) for p in paths],
        "answers": len(entries),
        "languages": langs,
        "intents": len(built.intents),
        "questions": len(built.row_text),
        "calibration": built.quality,
    }
    if json_:
        emit_json(doc)
        return
    per_lang = ", ".join(f"{n} in {lang}" for lang, n in sorted(langs.items()))
    console.print(
        escape(
            f"Indexed {len(entries)} answer{'s' if len(entries) != 1 else ''} ({per_lang}) and the built-in intents: {len(built.intents)} intents, "
            f"{len(built.row_text)} ways of asking. On the FAQ's own questions asked again with typos, "
            f"{built.quality.get('answered_right_at_default', 0):.0%} are answered right at the default confidence."
        )
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The customer's message.")],
    customer: Annotated[
        str | None,
        typer.Option("--customer", help="The customer's id (their orders answer order questions)."),
    ] = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Conversation id (default: a new one).")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record", help="Store the exchange as assistant events (--no-record: read only)."
        ),
    ] = True,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Answer one message as the assistant would (in the customer's language), or hand it over."""
    from cxlab.assist.record import exchange_rows, new_id, write_rows
    from cxlab.assist.service import load_assistant

    with errors_as_exit(), Store(db, read_only=not record) as store:
        reply = load_assistant(store.con, store.config).ask(question, customer)
        conv = conversation or new_id()
        if record:
            write_rows(store, exchange_rows(question, reply, conversation=conv, customer=customer))
    if json_:
        emit_json(reply.to_dict())
        return
    console.print(escape(reply.answer or ""))
    how = "handed over to a colleague" if reply.handoff else "answered"
    about = reply.intent or f"unsure (closest: {reply.guess})"
    why = f", {reply.reason.replace('_', ' ')}" if reply.reason else ""
    console.print(
        escape(f"{how}: {about}, {reply.language}, confidence {reply.confidence:.0%}{why}"), style="dim"
    )
    if reply.handoff and reply.summary:
        console.print(escape(reply.summary), style="dim")


@app.command()
def evaluate(
    questions: Annotated[
        Path,
        typer.Argument(
            help="CSV of labelled questions: question, intent (a topic id or none)[, kind, split]."
        ),
    ],
    split: Annotated[str | None, typer.Option("--split", help="Only rows of this split (dev, test).")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Ask as this customer.")] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """How often the assistant answers right and hands over what it can't, per language."""
    from cxlab.assist.evaluate import evaluate as run
    from cxlab.assist.evaluate import read_questions
    from cxlab.assist.service import load_assistant

    with errors_as_exit(), Store(db, read_only=True) as store:
        qs = read_questions(questions, split)
        if not qs:
            fail(f"{questions}: no questions{f' in split {split!r}' if split else ''}")
        ev = run(load_assistant(store.con, store.config), qs, customer)
    if json_:
        emit_json(ev.to_dict())
        return
    show_frame(ev.summary_frame(), "answered right, handed over", "", wide=wide)
    show_summary("", ev.to_dict()["method"])


@app.command()
def report(
    since: Annotated[
        datetime | None, typer.Option("--since", help="Only exchanges from this time (UTC) on.")
    ] = None,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """How the assistant does as a touchpoint: answered, handed over and why, thumbs, questions that came
    back within 48 h, and the questions it could not place (the gaps in its FAQ)."""
    from cxlab.assist.report import gaps_table, intents_table, summary_of
    from cxlab.assist.report_data import assist_report
    from cxlab.voice.settings import voice_settings

    with errors_as_exit(), Store(db, read_only=True) as store:
        r = assist_report(store.ibis(), since=since, embedder=voice_settings(store.config).embedder)
    if json_:
        emit_json(r.to_dict())
        return
    show_frame(intents_table(r), "the assistant per intent", "", wide=wide)
    if len(r.gaps):
        show_frame(gaps_table(r), "questions it could not place", "", wide=wide)
    show_summary(summary_of(r), r.method)
