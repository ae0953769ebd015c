"""Split ``a > b > c`` path strings into channel codes, without a Python loop over paths or touches.

Tokens are trimmed of surrounding whitespace and empty ones dropped (``a >> b`` is ``a > b``), as
ChannelAttribution does; channel codes index the sorted channel names.

**One-byte separators** (``>``, ``|``, ``,``, ...: the usual case) are split on the raw UTF-8 bytes of the
Arrow array, so no token string is ever allocated:

1. ``np.frombuffer`` views the data buffer; the separator's byte positions are ``data == sep``. An ASCII
   byte never occurs inside a multi-byte UTF-8 character, so every cut falls between characters.
2. Each path is cut into *pieces*: a piece starts at the path's start or just after a separator and runs
   to the next piece's start, so it is one token *with the separator that ends it* (``"a >"``, ``" b"``).
   Pieces are contiguous, so their start positions are a new offsets buffer over the *same* data buffer:
   a zero-copy Arrow string array of pieces. Path ``i`` has ``1 + (separators in it)`` pieces, and its
   first piece is piece ``i + (separators before it)``; the other pieces start at ``separator + 1``.
3. Arrow's hash kernel (``dictionary_encode``) gives each piece the index of its distinct piece. Distinct
   pieces are few (a channel appears as ``"email >"``, ``" email >"``, ``" email"``, ...), so only they are
   decoded: drop the trailing separator, trim whitespace (Arrow's Unicode rule, as before), and map to the
   channel's code, or to ``-1`` when nothing is left (an empty token, dropped).

**Longer separators** go through Arrow's ``split_pattern`` (a match must not run from one path into the
next, which a byte scan would have to rule out).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

Split = tuple[NDArray[np.int64], NDArray[np.int32], list[str]]


def split_paths(paths: pa.Array | pa.ChunkedArray, sep: str) -> Split:
    """``(tokens per path, channel code per token, sorted channel names)``."""
    arr = paths.combine_chunks() if isinstance(paths, pa.ChunkedArray) else paths
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.large_string())
    raw = sep.encode()
    if len(raw) == 1 and raw[0] < 0x80:
        pieces, per_path = _pieces(arr, raw[0])
        return _encode(pieces, per_path, trailing=sep)
    return _split_pattern(arr, sep)


def _pieces(arr: pa.Array, sep: int) -> tuple[pa.LargeStringArray, NDArray[np.int64]]:
    """The paths cut after every ``sep`` byte, as a zero-copy string array, and the pieces per path."""
    n = len(arr)
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=width)[arr.offset : arr.offset + n + 1].astype(np.int64)
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[lo:hi] if data_buf is not None else np.zeros(0, np.uint8)
    after_sep = np.flatnonzero(data == sep)
    after_sep += lo + 1
    before = np.searchsorted(after_sep, offsets, side="right")  # separators before each path's start
    per_path = np.diff(before) + 1
    first = np.arange(n) + before[:-1]
    starts = np.empty(n + after_sep.size + 1, dtype=np.int64)
    starts[-1] = hi
    inner = np.ones(starts.size - 1, dtype=bool)
    inner[first] = False
    starts[first] = offsets[:-1]
    starts[:-1][inner] = after_sep
    buffers = [None, pa.py_buffer(starts), data_buf if data_buf is not None else pa.py_buffer(b"")]
    pieces = pa.Array.from_buffers(pa.large_string(), starts.size - 1, buffers)
    return pieces, per_path


def _encode(pieces: pa.Array, per_path: NDArray[np.int64], trailing: str | None = None) -> Split:
    """Channel codes of the pieces (empty tokens dropped), decoding only their distinct values; a
    ``trailing`` one-character separator is cut off first."""
    enc = pc.dictionary_encode(pieces)
    distinct = enc.dictionary
    if trailing is not None:
        ends = pc.ends_with(distinct, trailing)
        distinct = pc.if_else(ends, pc.utf8_slice_codeunits(distinct, 0, -1), distinct)
    tokens = pc.utf8_trim_whitespace(distinct).to_pylist()
    names = sorted({t for t in tokens if t})
    rank = {name: i for i, name in enumerate(names)}
    code_of = np.array([rank.get(t, -1) for t in tokens], dtype=np.int32)
    codes = code_of[np.asarray(enc.indices)] if code_of.size else np.zeros(0, np.int32)
    lengths = per_path.astype(np.int64)
    if code_of.size and (code_of < 0).any():
        keep = codes >= 0
        path_of = np.repeat(np.arange(per_path.size), per_path)
        lengths = np.bincount(path_of[keep], minlength=per_path.size).astype(np.int64)
        codes = codes[keep]
    return lengths, codes, names


def _split_pattern(arr: pa.Array, sep: str) -> Split:
    """Any separator, with Arrow's string kernels (one token string per touch)."""
    lists = pc.split_pattern(arr, sep)
    per_path = np.asarray(pc.list_value_length(lists), dtype=np.int64)
    return _encode(pc.list_flatten(lists), per_path)
