"""Lookup tables from the mapping: inline pairs and CSV files, loaded once per plan.

Keys and values stay strings, so an EAN's leading zeros survive. A CSV problem names the
file and its line, like a YAML problem does; the reader is the ``crosswalk`` function's.
"""

from __future__ import annotations

from pathlib import Path

from bridge.mapping import functions
from bridge.mapping.spec import TableSpec
from bridge.yamlio import LocatedError


def load_table(
    spec: TableSpec, base_dir: Path, what: str, files: list[Path] | None = None
) -> dict[str, str]:
    """A table's pairs: the CSV file's, then the inline ones (which win).

    ``what`` names the table in messages (``products.crosswalk.tills``); every CSV file
    read is added to ``files`` so that editing it reloads the mapping.
    """
    table: dict[str, str] = {}
    if spec.csv is not None:
        source = spec.csv
        try:
            table.update(
                functions.read_csv_table(
                    base_dir, source.file, source.key, source.value, source.delimiter, what, files
                )
            )
        except functions.ArgError as exc:
            raise LocatedError(str(exc), ("csv", exc.param or "file")) from None
    table.update(spec.inline)
    return table
