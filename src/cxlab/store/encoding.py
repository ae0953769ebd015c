"""Text inputs in the encoding they were written in: UTF-8 is read as it is, anything else (a Latin-1 or
Windows-1252 export from Excel, UTF-16 with a byte-order mark, or the encoding the user names) is streamed
into a temporary UTF-8 copy, so the engine never sees bytes it would drop or choke on.
"""

from __future__ import annotations

import codecs
import gzip
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 24

UTF8 = "utf-8"
FALLBACKS = ("cp1252", "latin-1")
"""Tried in order when a file is not UTF-8: Windows-1252 (Excel's "CSV" on Windows), then Latin-1, which
decodes any byte (the five bytes cp1252 leaves undefined included)."""


class EncodingError(ValueError):
    """The file can't be decoded in the encoding the user gave."""


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")  # type: ignore[return-value]


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole of ``path`` decodes in ``encoding`` (streamed, chunk by chunk)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with _open(path) as f:
        try:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def detect_encoding(path: Path) -> str:
    """The encoding of text file ``path``: UTF-8 when all of it is valid UTF-8 (the usual case, one pass
    over the bytes), UTF-16 when it starts with its byte-order mark, else Windows-1252 or Latin-1."""
    with _open(path) as f:
        head = f.read(4)
    bom = _bom_encoding(head)
    if bom:
        return bom
    for enc in (UTF8, *FALLBACKS[:-1]):
        if _decodes(path, enc):
            return enc
    return FALLBACKS[-1]


def canonical_name(encoding: str) -> str:
    """Python's name of ``encoding`` (``latin1`` → ``iso8859-1``); a clear error for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise EncodingError(f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1, utf-16)") from None


@contextmanager
def utf8_path(path: Path, encoding: str | None = None) -> Iterator[tuple[Path, str]]:
    """Yield (a path holding ``path``'s text as UTF-8, the encoding it was read in).

    ``encoding`` None: detected (see :func:`detect_encoding`). A UTF-8 input is yielded as it is; any other
    is transcoded into a temporary, uncompressed file that is deleted on exit."""
    enc = canonical_name(encoding) if encoding else detect_encoding(path)
    if enc == UTF8:
        if encoding and not _decodes(path, UTF8):
            raise EncodingError("not valid utf-8 text (try another --encoding, e.g. cp1252)")
        yield path, UTF8
        return
    name = path.name[: -len(".gz")] if path.name.lower().endswith(".gz") else path.name
    with tempfile.TemporaryDirectory(prefix="cxlab-") as tmp:
        out = Path(tmp) / name
        decoder = codecs.getincrementaldecoder(enc)()
        with _open(path) as fin, out.open("w", encoding=UTF8, newline="") as fout:
            try:
                first = fin.read(CHUNK)
                # a UTF-8 byte-order mark before text in another encoding (some tools add one) is no data
                chunk = first.removeprefix(codecs.BOM_UTF8) if enc != "utf-16" else first
                while chunk:
                    fout.write(decoder.decode(chunk))
                    chunk = fin.read(CHUNK)
                fout.write(decoder.decode(b"", final=True))
            except UnicodeDecodeError as e:
                raise EncodingError(f"not valid {enc} text: {e.reason} (try another --encoding)") from e
        yield out, enc
