"""Split ``a > b > c`` path strings into channel codes with Arrow's string kernels (no Python loop).

Tokens are trimmed of surrounding whitespace and empty ones dropped (``a >> b`` is ``a > b``), as
ChannelAttribution does; channel codes index the sorted channel names.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray


def split_paths(
    paths: pa.Array | pa.ChunkedArray, sep: str
) -> tuple[NDArray[np.int64], NDArray[np.int32], list[str]]:
    """``(tokens per path, channel code per token, sorted channel names)``."""
    arr = paths.combine_chunks() if isinstance(paths, pa.ChunkedArray) else paths
    lists = pc.split_pattern(pc.cast(arr, pa.large_string()), sep)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(lists))  # cheaper than finding out whether it's needed
    path_of = np.repeat(np.arange(len(arr)), np.asarray(pc.list_value_length(lists), dtype=np.int64))
    keep = np.asarray(pc.greater(pc.binary_length(flat), 0), dtype=bool)
    if not keep.all():
        flat, path_of = flat.filter(pa.array(keep)), path_of[keep]
    lengths = np.bincount(path_of, minlength=len(arr)).astype(np.int64)
    encoded = pc.dictionary_encode(flat)
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names)
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    return lengths, rank[np.asarray(encoded.indices, dtype=np.int64)], [str(x) for x in names[order]]
