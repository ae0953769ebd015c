"""Streaming Parquet output: each chunk of customers writes one part file per table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cxlab.schema import TABLES

COMPRESSION = "zstd"
DICTIONARY_COLUMNS: dict[str, list[str] | bool] = {
    "events": ["customer_id", "anonymous_id", "event", "channel", "touchpoint", "campaign", "device"],
}
"""Columns worth dictionary-encoding (unique ids and JSON are faster and no larger without).

Lists are written with Arrow's ``item`` field name (not Parquet's ``element``) so that the schema read back
is exactly the canonical one."""


def part_path(data_dir: Path, table: str, part: int) -> Path:
    return data_dir / table / f"part-{part:05d}.parquet"


def clear(data_dir: Path) -> None:
    """Create ``data/<table>/`` folders and remove part files a previous run left there."""
    for name in TABLES:
        folder = data_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("part-*.parquet"):
            old.unlink()


class PartWriters:
    """Writers of part ``part`` of every canonical table (each file exists, possibly empty, once closed).

    Use as a context manager; :meth:`write` appends a batch as a row group.
    """

    def __init__(self, data_dir: Path, part: int, tables: tuple[str, ...] = tuple(TABLES)) -> None:
        self.files = {name: part_path(data_dir, name, part) for name in tables}
        self.counts = dict.fromkeys(tables, 0)
        self._writers = {
            name: pq.ParquetWriter(
                path,
                TABLES[name].arrow_schema,
                compression=COMPRESSION,
                use_dictionary=DICTIONARY_COLUMNS.get(name, True),
                use_compliant_nested_type=False,
            )
            for name, path in self.files.items()
        }

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` (with exactly the canonical schema) to table ``name``."""
        if table.num_rows:
            self._writers[name].write_table(table)
            self.counts[name] += table.num_rows

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def __enter__(self) -> PartWriters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
