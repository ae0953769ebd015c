"""The store: engine connections, ingest with validation, and importers of shop exports."""

from cxlab.store.ingest import IngestError, IngestReport, RowError
from cxlab.store.sources import SourceError
from cxlab.store.store import DB_NAME, SparkStore, Store, StoreError, connect, init_project, open_store

__all__ = [
    "DB_NAME",
    "IngestError",
    "IngestReport",
    "RowError",
    "SourceError",
    "SparkStore",
    "Store",
    "StoreError",
    "connect",
    "init_project",
    "open_store",
]
