"""Streaming Parquet output: one writer per table, events rolled over into part files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cxlab.schema import TABLES

COMPRESSION = "zstd"


class TableWriters:
    """Writes batches of each canonical table to ``data/<table>/part-NNNNN.parquet`` under ``root``.

    A table's part is closed and a new one opened once it holds ``rows_per_part`` rows; every table gets
    at least one (possibly empty) file. Use as a context manager.
    """

    def __init__(self, root: Path, rows_per_part: int) -> None:
        self.root = root
        self.rows_per_part = rows_per_part
        self.files: dict[str, list[Path]] = {name: [] for name in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._rows_in_part: dict[str, int] = dict.fromkeys(TABLES, 0)
        for name in TABLES:
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("part-*.parquet"):
                old.unlink()
            self._open(name)

    def _open(self, name: str) -> None:
        path = self.root / name / f"part-{len(self.files[name]):05d}.parquet"
        self.files[name].append(path)
        self._writers[name] = pq.ParquetWriter(path, TABLES[name].arrow_schema, compression=COMPRESSION)
        self._rows_in_part[name] = 0

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` (with exactly the canonical schema) to table ``name``."""
        if table.num_rows == 0:
            return
        if self._rows_in_part[name] >= self.rows_per_part:
            self._writers[name].close()
            self._open(name)
        self._writers[name].write_table(table)
        self._rows_in_part[name] += table.num_rows
        self.counts[name] += table.num_rows

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def __enter__(self) -> TableWriters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
