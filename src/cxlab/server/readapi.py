"""The read API: every analysis of the CLI as ``GET /v1/<group>/<command>``, generated from the Typer app.

One mapping, not hand-written copies: the routes are built from the commands of :data:`cxlab.cli.app` (their
click parameters become typed, documented query parameters), and a request runs the very command in-process,
as ``cxlab <group> <command> [options] --db <served store> --json`` would, inside the request's filtered scope
(:meth:`cxlab.server.state.ServerState.scope`). So a new CLI command appears here with no new glue, and the
API returns exactly the document the CLI prints.

Rules:

- **Query names**: an option's long name without the leading dashes, inner dashes as underscores
  (``--steps`` → ``steps``, ``--keep-loops`` → ``keep_loops``); a command's positional argument goes by its
  name (``cxlab experiment analyze EXP`` → ``?experiment_id=EXP``). Repeatable options (``--exclude``) take
  repeated query parameters. Flags are booleans (``keep_loops=true``; ``trend=false`` for ``--no-trend``).
- **Global filters** on every route: ``from``, ``to`` (YYYY-MM-DD, inclusive), ``channel``, ``country``.
- **Left out**: commands outside a group (``init``, ``ingest``, ``status``, ``demo``, ``report``, ``serve``),
  the groups and commands in :data:`LEFT_OUT` (they write or manage), commands without ``--json``, the
  terminal's own options (:data:`CLI_ONLY`: ``--json``, ``--wide``), ``--db`` (:data:`SERVED`), and every parameter that names a file or
  folder (a ``Path`` type: ``--db``, ``--figure``, ``--out``, ``--paths``, …): the server never reads or
  writes a file a caller names. A command that needs such a file is left out.
- **Errors**: exit 2 (bad input, missing data) → 422 ``{"detail": message}``; exit 1 (the analysis failed) →
  500 with the message.
- **Cache**: results are kept per store version (:meth:`ServerState.cached`), keyed by the normalised arguments
  (options equal to their defaults are dropped) and the filters.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Annotated, Any, Literal, get_args, get_origin

import typer
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from typer.core import TyperArgument, TyperGroup, TyperOption

from cxlab.clitools import captured
from cxlab.server.auth import require, state_of
from cxlab.server.keys import ApiKey
from cxlab.server.state import ServerState
from cxlab.store.filters import Filters

log = logging.getLogger(__name__)

LEFT_OUT: frozenset[tuple[str, ...]] = frozenset(
    {
        ("privacy",),  # erase, export, consent, prune, audit: write or manage personal data
        ("keys",),  # managed through /v1/keys (admin)
        ("import",),  # reads the caller's files and writes the store
        ("voice", "analyze"),  # writes the voice results
        ("changes", "add"),  # writes the change log
        ("customers", "clv", "fit"),  # its only input is a file
        ("recommend", "fit"),  # writes the precomputed recommendations
        ("flows", "run"),  # plans, writes the outbox and sends messages
        ("assist", "index"),  # writes the assistant's index
        ("assist", "ask"),  # records the exchange: customers ask through POST /v1/assist
    }
)
"""Command paths (or path prefixes) that are no read analyses; everything else under a group is served."""

UPDATES_DERIVED: frozenset[tuple[str, ...]] = frozenset({("voice", "sentiment"), ("voice", "themes")})
"""Commands that first bring the derived voice tables up to date (as the CLI does); run one at a time so two
requests never label the same new feedback twice."""

CLI_ONLY = frozenset({"--json", "--wide"})
"""Options about the terminal's output, not the analysis: the API always returns the JSON document."""
SERVED = frozenset({"--db"})
"""The store (or engine) to read: always the served one, never a caller's."""

FILTERS = ("from", "to", "channel", "country")
PREFIX = "/v1"


class Problem(BaseModel):
    """An error: one line for a bad request or a failed analysis, or FastAPI's list of invalid fields."""

    detail: str | list[dict[str, Any]]


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The JSON document `cxlab <group> <command> --json` prints",
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    },
    401: {"description": "Missing, unknown or revoked API key", "model": Problem},
    403: {"description": "The key's role may not read analyses", "model": Problem},
    422: {"description": "Bad parameters, or not the data this analysis needs", "model": Problem},
    500: {"description": "The analysis failed", "model": Problem},
}


class CommandError(Exception):
    """A command run for the API failed: ``status`` is the HTTP status (422 bad input, 500 failure)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Param:
    """One click parameter as a query parameter."""

    name: str
    """The query parameter's name."""
    opt: str
    """The option as given on the command line (``--steps``); empty for an argument."""
    off: str | None
    """The secondary flag that turns a boolean off (``--no-trend``)."""
    annotation: Any
    """Its Python type for FastAPI (validation and OpenAPI)."""
    default: Any
    required: bool
    multiple: bool
    flag: bool
    help: str
    ge: float | None = None
    le: float | None = None
    datetime_format: str = "%Y-%m-%dT%H:%M:%S"

    @property
    def is_argument(self) -> bool:
        return not self.opt

    def tokens(self, value: Any) -> list[str]:
        """The command-line tokens for ``value`` (none when it is the default: the CLI's own default holds)."""
        if value is None or (self.multiple and not value):
            return []
        if self.flag:
            if bool(value) == bool(self.default):
                return []
            return [self.opt] if value else [self.off] if self.off else []
        if self.multiple:
            items = [self._text(v) for v in value]
            return items if self.is_argument else [f"{self.opt}={v}" for v in items]
        if not self.required and value == self.default:
            return []
        text = self._text(value)
        return (
            [text] if self.is_argument else [f"{self.opt}={text}"]
        )  # `--opt=value`: never read as an option

    def _text(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value.strftime(self.datetime_format)
        if isinstance(value, Enum):
            return str(value.value)
        return str(value)


@dataclass(frozen=True)
class Command:
    """A CLI command served as a route."""

    path: tuple[str, ...]
    click: Any
    """The click command (a Typer command, or a group that runs its callback without a sub-command)."""
    params: tuple[Param, ...]
    help: str
    has_db: bool

    @property
    def route(self) -> str:
        return f"{PREFIX}/{'/'.join(self.path)}"

    @property
    def cli(self) -> str:
        return f"cxlab {' '.join(self.path)}"

    def args(self, values: Mapping[str, Any]) -> list[str]:
        """The command line (without ``--db`` and ``--json``) for query values keyed by parameter name."""
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise CommandError(422, f"{self.cli} has no parameter {', '.join(map(repr, unknown))}")
        options: list[str] = []
        positional: list[str] = []
        for p in self.params:
            if p.required and values.get(p.name) is None:
                raise CommandError(422, f"{self.cli} needs the parameter {p.name!r}")
            (positional if p.is_argument else options).extend(p.tokens(values.get(p.name)))
        return options + (["--", *positional] if positional else [])


def _element(annotation: Any) -> Any:
    """``list[X]`` → ``X``; anything else as it is."""
    return get_args(annotation)[0] if get_origin(annotation) is list and get_args(annotation) else annotation


def _names_file(param: Any) -> bool:
    """True for a parameter whose value names a file or folder (a ``Path``, or a list of them, or a file)."""
    d = param.type_descriptor
    element = _element(d.annotation)
    return bool(d.is_path or d.is_file or (isinstance(element, type) and issubclass(element, PurePath)))


def _api_type(param: Any) -> Any | None:
    """The query parameter's Python type, or None when a query string can't carry it (a tuple)."""
    d = param.type_descriptor
    if d.is_tuple:
        return None
    element = _element(d.annotation)
    if d.choices is not None:
        values = tuple(str(c.value) if isinstance(c, Enum) else str(c) for c in d.choices)
        element = Literal[values]
    elif element not in (bool, int, float, str, dt.datetime, dt.date):
        element = str
    return list[element] if d.is_list else element  # type: ignore[valid-type]


def _param(p: Any) -> Param | None:
    """A click parameter as a :class:`Param`; None when the API can't offer it."""
    annotation = _api_type(p)
    if annotation is None:
        return None
    info = p.type_descriptor.parameter_info
    is_opt = isinstance(p, TyperOption)
    long = [o for o in p.opts if o.startswith("--")] if is_opt else []
    if is_opt and not long:
        return None
    name = long[0][2:].replace("-", "_") if is_opt else p.name
    formats = getattr(info, "formats", None)
    default = p.default if not callable(p.default) else None
    return Param(
        name=name,
        opt=long[0] if is_opt else "",
        off=next(iter(p.secondary_opts), None) if is_opt else None,
        annotation=annotation,
        default=default,
        required=bool(p.required),
        multiple=bool(p.multiple or p.nargs == -1),
        flag=bool(is_opt and p.is_flag),
        help=" ".join((getattr(p, "help", None) or "").split()),
        ge=info.min if not info.clamp else None,
        le=info.max if not info.clamp else None,
        datetime_format=formats[0] if formats else "%Y-%m-%dT%H:%M:%S",
    )


def _command(path: tuple[str, ...], cmd: Any) -> Command | None:
    """``cmd`` as a read route, or None when it is left out (see the module's rules)."""
    opts = {o for p in cmd.params if isinstance(p, TyperOption) for o in p.opts}
    if "--json" not in opts:
        return None
    params: list[Param] = []
    for p in cmd.params:
        if (isinstance(p, TyperOption) and (CLI_ONLY | SERVED) & set(p.opts)) or getattr(p, "hidden", False):
            continue
        if _names_file(p):
            if p.required:
                return None  # needs a file the server must not open
            continue
        if not isinstance(p, TyperOption | TyperArgument):
            continue
        param = _param(p)
        if param is None:
            if p.required:
                return None
            continue
        params.append(param)
    names = [p.name for p in params]
    clash = set(FILTERS) & set(names) or {n for n in names if names.count(n) > 1}
    if clash:
        raise ValueError(
            f"cxlab {' '.join(path)}: parameter(s) {sorted(clash)} clash with the read API's own"
        )
    help_text = inspect.cleandoc(cmd.help or "")
    return Command(path, cmd, tuple(params), help_text, "--db" in opts)


def _walk(group: TyperGroup, path: tuple[str, ...]) -> Iterator[Command]:
    for name, cmd in group.commands.items():
        here = (*path, name)
        if any(here[: len(p)] == p for p in LEFT_OUT):
            continue
        runs_alone = isinstance(cmd, TyperGroup) and cmd.invoke_without_command and cmd.callback is not None
        if len(here) >= 2 and (runs_alone or not isinstance(cmd, TyperGroup)):
            found = _command(here, cmd)
            if found is not None:
                yield found
        if isinstance(cmd, TyperGroup):
            yield from _walk(cmd, here)


def discover() -> dict[tuple[str, ...], Command]:
    """Every read command of the CLI, by its path (``("journey", "funnel")``)."""
    from cxlab.cli import app

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return {c.path: c for c in _walk(root, ())}


COMMANDS = discover()


def parse_filters(
    start: dt.date | None, end: dt.date | None, channel: str | None, country: str | None
) -> Filters:
    """The global filters, checked."""
    if start is not None and end is not None and start > end:
        raise CommandError(422, f"from ({start}) is after to ({end})")
    return Filters(start=start, end=end, channel=channel, country=country)


_derived_lock = threading.Lock()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _execute(state: ServerState, command: Command, args: list[str], filters: Filters | None) -> str:
    """Run ``command`` in-process on the served store, in the filtered scope; its JSON document as text."""
    full = [*args]
    tail = ["--db", str(state.db_path)] if command.has_db else []
    tail.append("--json")
    if "--" in full:  # options before the end-of-options marker, arguments after
        cut = full.index("--")
        full = [*full[:cut], *tail, *full[cut:]]
    else:
        full.extend(tail)
    lock: AbstractContextManager[Any] = _derived_lock if command.path in UPDATES_DERIVED else nullcontext()
    with lock, state.scope(filters), captured() as cap:
        try:
            code = command.click.main(args=full, prog_name=command.cli, standalone_mode=False)
        except typer.TyperException as e:  # click's usage errors: a bad value, a missing option
            message = e.format_message() if hasattr(e, "format_message") else str(e)
            raise CommandError(422, _one_line(message)) from e
        except typer.Abort as e:
            raise CommandError(500, f"{command.cli} was aborted") from e
        except Exception as e:  # outside the command's own error handling: a failure, not bad input
            log.exception("%s failed", command.cli)
            raise CommandError(500, _one_line(f"{type(e).__name__}: {e}")) from e
    if cap.error is not None:
        raise CommandError(422 if cap.code == 2 else 500, cap.error)
    if code not in (None, 0):
        raise CommandError(500, f"{command.cli} exited with code {code}")
    if cap.json is None:
        raise CommandError(500, f"{command.cli} printed no JSON document")
    return cap.json


def run_text(
    state: ServerState, command: Command, params: Mapping[str, Any], filters: Filters | None = None
) -> str:
    """The command's JSON document as text, cached per store version, arguments and filters."""
    args = command.args(params)
    return state.cached(
        ("api", *command.path, tuple(args)), filters, lambda: _execute(state, command, args, filters)
    )


def run_command(
    state: ServerState, group: str, command: str, params: Mapping[str, Any], filters: Filters | None = None
) -> dict[str, Any]:
    """What ``GET /v1/<group>/<command>`` returns, for the dashboard: ``params`` keyed by query name (Python
    values: ``{"steps": "a,b", "exclude": ["x"]}``). Raises :class:`CommandError` (status, one-line message)."""
    found = COMMANDS.get((group, *command.split("/")))
    if found is None:
        raise CommandError(404, f"no read command cxlab {group} {command}")
    doc = json.loads(run_text(state, found, params, filters))
    if not isinstance(doc, dict):
        raise CommandError(500, f"{found.cli} printed a {type(doc).__name__}, not a JSON object")
    return doc


def _query(p: Param) -> Any:
    """The ``Annotated[type, Query(...)]`` of a parameter (keyword-only in the endpoint's signature)."""
    description = p.help + (f" (the command's {p.name.upper()} argument)" if p.is_argument else "")
    if p.multiple:
        description += " Repeat the parameter for several values."
    elif p.flag and p.off:
        description += f" false: {p.off}."
    default = ... if p.required else (p.default if p.flag or p.default is not None else None)
    annotation = p.annotation if p.required or p.flag else p.annotation | None
    query = Query(alias=p.name, description=description or None, ge=p.ge, le=p.le)
    return Annotated[annotation, query], default


FILTER_PARAMS = [
    inspect.Parameter(
        "f_from",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            dt.date | None, Query(alias="from", description="Only data from this day (YYYY-MM-DD, UTC) on.")
        ],
    ),
    inspect.Parameter(
        "f_to",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            dt.date | None,
            Query(alias="to", description="Only data up to this day (YYYY-MM-DD, UTC), inclusive."),
        ],
    ),
    inspect.Parameter(
        "f_channel",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None, Query(alias="channel", min_length=1, description="Only this channel's data.")
        ],
    ),
    inspect.Parameter(
        "f_country",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None, Query(alias="country", min_length=1, description="Only customers of this country.")
        ],
    ),
]


def _endpoint(command: Command) -> Callable[..., Response]:
    """A sync route function (run in FastAPI's threadpool) with one typed query parameter per click param."""

    def endpoint(request: Request, **values: Any) -> Response:
        params = {p.name: values.get(f"q_{p.name}") for p in command.params}
        try:
            filters = parse_filters(
                values["f_from"], values["f_to"], values["f_channel"], values["f_country"]
            )
            text = run_text(state_of(request), command, params, filters or None)
        except CommandError as e:
            raise HTTPException(e.status, e.message) from e
        return Response(text, media_type="application/json")

    signature = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter(
            "_key",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[ApiKey, Depends(require("read"))],
        ),
        *FILTER_PARAMS,
    ]
    for p in command.params:
        annotation, default = _query(p)
        signature.append(
            inspect.Parameter(
                f"q_{p.name}",
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if default is ... else default,
                annotation=annotation,
            )
        )
    endpoint.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    endpoint.__name__ = "_".join(command.path).replace("-", "_")
    return endpoint


router = APIRouter()

for _command_spec in COMMANDS.values():
    router.add_api_route(
        _command_spec.route,
        _endpoint(_command_spec),
        methods=["GET"],
        tags=[_command_spec.path[0]],
        summary=_command_spec.help.split("\n")[0],
        description=f"{_command_spec.help}\n\nReturns what `{_command_spec.cli} --json` prints.",
        responses=RESPONSES,
        operation_id="read_" + "_".join(_command_spec.path).replace("-", "_"),
        response_class=Response,
    )
