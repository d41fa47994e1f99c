"""The sales journal, read back: exports by date range, store and channel for a data mart."""

from bridge.journal.export import (
    COLUMNS,
    JournalQuery,
    Summary,
    csv_chunks,
    export_to_path,
    make_query,
    records,
    write_csv,
    write_parquet,
)

__all__ = [
    "COLUMNS",
    "JournalQuery",
    "Summary",
    "csv_chunks",
    "export_to_path",
    "make_query",
    "records",
    "write_csv",
    "write_parquet",
]
