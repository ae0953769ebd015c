"""``cxlab voice analyze|nps|csat|ces|sentiment|themes|tone``: thin shells over :mod:`cxlab.voice`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxlab.clitools import (
    DEFAULT_DB,
    DbOpt,
    FigureOpt,
    JsonOpt,
    WideOpt,
    console,
    emit_json,
    errors_as_exit,
    fail,
    progress,
    show_frame,
    write_figure,
)
from cxlab.display import pct
from cxlab.voice.scores import KINDS, Kind, Merge

if TYPE_CHECKING:
    from cxlab.voice.predict import TextSentiment

app = typer.Typer(
    help="Voice of the customer: NPS/CSAT/CES, sentiment, themes, tone of the shop's messages.",
    no_args_is_help=True,
)


def _span(text: str | None, name: str) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        fail(f"{name}: expected START:END dates, e.g. 2025-01-01:2025-04-01, got {text!r}")
    return parts[0], parts[1]


def _score_command(kind: Kind) -> Any:
    def command(
        by: Annotated[
            str | None, typer.Option("--by", help="touchpoint, language, country, channel or segment.")
        ] = None,
        period: Annotated[
            str | None, typer.Option("--period", help="Trend per day, week, month, quarter or year.")
        ] = None,
        latest: Annotated[
            bool, typer.Option("--latest", help="One answer per customer (their latest) across surveys.")
        ] = False,
        before: Annotated[
            str | None, typer.Option("--before", help="With --after: test a change, START:END.")
        ] = None,
        after: Annotated[str | None, typer.Option("--after", help="Second period, START:END.")] = None,
        db: DbOpt = DEFAULT_DB,
        figure: FigureOpt = None,
        json_: JsonOpt = False,
        wide: WideOpt = False,
    ) -> None:
        from cxlab.store import open_store
        from cxlab.voice.scores import compare_periods, score, score_format, score_range

        merge: Merge = "latest" if latest else "all"
        b, a = _span(before, "--before"), _span(after, "--after")
        if (b is None) != (a is None):
            fail("--before and --after go together")
        with errors_as_exit(), open_store(db) as store:
            if b is not None and a is not None:
                change = compare_periods(store.ibis(), kind, b, a, merge=merge)
                if json_:
                    emit_json(change.to_dict())
                else:
                    console.print(change.summary(), markup=False)
                return
            res = score(store.ibis(), kind, by=by, period=period, merge=merge, config=store.config)
        write_figure(res.figure(), figure)
        if json_:
            emit_json(res.to_dict())
            return
        shown = score_format(kind)
        t = res.table
        cols = [c for c in ("group", "period", "n", "score") if c in t]
        frame = t[cols].assign(
            **{"95% range": [score_range(r, shown) for r in t.to_dict(orient="records")]},
            **({"mean answer": t["mean_score"]} if "mean_score" in t else {}),
            **({"mixed comments": t["mixed_comments"]} if t["mixed_comments"].sum() else {}),
        )
        show_frame(
            frame,
            kind.upper(),
            res.summary(),
            limit=200,
            wide=wide,
            formats={"score": shown},
            method=res.details,
        )

    command.__doc__ = f"{kind.upper()} with 95% intervals, overall, per breakdown or over time."
    return command


for _kind in KINDS:
    app.command(_kind)(_score_command(_kind))


@app.command("analyze")
def analyze_cmd(
    refit: Annotated[
        bool, typer.Option("--refit", help="Refit the sentiment head even if nothing changed.")
    ] = False,
    db: DbOpt = DEFAULT_DB,
    json_: JsonOpt = False,
) -> None:
    """Detect languages, embed and label the feedback texts added since the last run (on Spark: all of them,
    kept for this command only)."""
    from cxlab.store import open_store
    from cxlab.voice.analysis import analyze_feedback
    from cxlab.voice.tables import per_process

    with errors_as_exit(), open_store(db, read_only=False) as store, progress(not json_) as bar:
        run = analyze_feedback(store, refit=refit, progress=bar)
        kept = not per_process(store)
    if json_:
        emit_json(run.to_dict())
    else:
        console.print(run.summary(), markup=False)
        if not kept:
            console.print(
                "On Spark the results are not stored: each command that needs them reads the texts again.",
                markup=False,
            )


def _text_result(r: TextSentiment) -> dict[str, Any]:
    return {"language": r.language, "label": r.label, "scores": r.scores}


@app.command("sentiment")
def sentiment_cmd(
    text: Annotated[str | None, typer.Option("--text", help="Classify this one text.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Classify every row of this CSV file.")] = None,
    column: Annotated[str, typer.Option("--column", help="The text column of --file.")] = "text",
    db: DbOpt = DEFAULT_DB,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Sentiment of a text (--text), of a file's texts (--file), or per touchpoint of the store's feedback."""
    import pandas as pd

    from cxlab.config import Config
    from cxlab.store import open_store
    from cxlab.voice.analysis import analyze_feedback
    from cxlab.voice.emotion import touchpoint_sentiment
    from cxlab.voice.predict import classify_texts
    from cxlab.voice.text import clean_text

    if text is not None and file is not None:
        fail("give --text or --file, not both")
    with errors_as_exit():
        config = Config.for_store(db) if Path(db).exists() else Config.default()
        if text is not None or file is not None:
            if text is not None and not clean_text(text):
                fail("--text is empty (nothing left after removing control characters)")
            texts = [text] if text is not None else _read_column(file, column)  # type: ignore[arg-type]
            with progress(not json_ and file is not None) as bar:
                results = classify_texts(texts, config, Path(db) if Path(db).exists() else None, bar)
            docs = [_text_result(r) for r in results]
            if file is not None:  # the row of the file each result is for (1 = the first after the header)
                docs = [{"row": i + 1, **d} for i, d in enumerate(docs)]
            if json_:
                emit_json(docs[0] if text is not None else docs)
                return
            frame = pd.DataFrame(
                {"language": [r.language for r in results], "label": [r.label or "(no words)" for r in results],
                 **{f"p_{k}": [r.scores.get(k, float("nan")) for r in results] for k in ("negative", "neutral", "positive")},
                 "text": [t[:60] for t in texts]}
            )  # fmt: skip
            show_frame(
                frame, "sentiment", f"{len(texts)} text(s); head: {results[0].head}.", limit=500, wide=wide
            )
            return
        with open_store(db, read_only=False) as store, progress(not json_) as bar:
            analyze_feedback(store, progress=bar)
            res = touchpoint_sentiment(store.ibis())
    if res is None:
        fail("no feedback texts in the store")
    write_figure(res.figure(), figure)
    if json_:
        emit_json(res.to_dict())
        return
    cols = ["touchpoint", "texts", "negative_share", "ci_low", "ci_high", "net_sentiment"]
    show_frame(
        res.table[cols],
        "sentiment per touchpoint",
        res.summary(),
        limit=200,
        wide=wide,
        formats={"ci_low": pct, "ci_high": pct},
        essential=("negative_share",),
    )


def _read_column(path: Path, column: str) -> list[str]:
    from cxlab.voice.tone import read_messages

    frame = read_messages(path, text=column, channel=None, allow_empty=True)
    if frame.empty:
        raise ValueError(f"{path}: no rows to classify")
    return [str(t) for t in frame["text"]]


@app.command("themes")
def themes_cmd(
    top: Annotated[int, typer.Option("--top", min=1, help="Themes to show.")] = 20,
    db: DbOpt = DEFAULT_DB,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Themes of the feedback per sentiment, with keywords per language, quotes, topic and emerging flags."""
    import pandas as pd

    from cxlab.store import open_store
    from cxlab.voice.analysis import analyze_feedback
    from cxlab.voice.themes import find_themes

    with errors_as_exit(), open_store(db, read_only=False) as store, progress(not json_) as bar:
        analyze_feedback(store, progress=bar)
        res = find_themes(store)
    write_figure(res.figure(), figure)
    if json_:
        doc = res.to_dict()
        doc["themes"] = doc["themes"][:top]
        emit_json(doc)
        return
    t = res.table.head(top)
    shown = pd.DataFrame(
        {
            "theme": t["label"],
            "sentiment": t["sentiment"],
            "texts": t["size"],
            "topic": t["topic"],
            "emerging": t["emerging"].map({True: "yes", False: ""}),
            "quote": t["quote"],
        }
    )
    show_frame(
        shown,
        "feedback themes",
        res.summary(),
        limit=top,
        wide=wide,
        essential=("quote",),
        method=res.details,
    )


@app.command("tone")
def tone_cmd(
    file: Annotated[Path, typer.Argument(help="Messages: CSV, JSON Lines or Parquet with channel and text.")],
    text_column: Annotated[str, typer.Option("--text-column", help="Column with the message text.")] = "text",
    channel_column: Annotated[
        str, typer.Option("--channel-column", help="Column with the channel.")
    ] = "channel",
    db: DbOpt = DEFAULT_DB,
    figure: FigureOpt = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Pressure/urgency and distance from the brand proposition of the shop's own messages, per channel."""
    from cxlab.config import Config
    from cxlab.voice.tone import read_messages, tone

    with errors_as_exit():
        config = Config.for_store(db) if Path(db).exists() else Config.default()
        res = tone(read_messages(file, text_column, channel_column), config)
    write_figure(res.figure(), figure)
    if json_:
        emit_json(res.to_dict())
        return
    m = res.messages.assign(text=res.messages["text"].astype(str).str.slice(0, 60))
    show_frame(
        m[["channel", "pressure", "brand_distance", "outlier", "text"]],
        "tone per message",
        res.summary(),
        200,
        wide=wide,
        essential=("text",),
    )
