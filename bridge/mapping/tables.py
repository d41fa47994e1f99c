"""Lookup tables from the mapping: inline pairs and CSV files, loaded once per plan.

Keys and values stay strings, so an EAN's leading zeros survive. A CSV problem names the
file and its line, like a YAML problem does.
"""

from __future__ import annotations

import csv
from pathlib import Path

from bridge.mapping.spec import CsvSource, TableSpec
from bridge.yamlio import LocatedError, did_you_mean


def read_csv_pairs(source: CsvSource, base_dir: Path) -> dict[str, str]:
    """``key column -> value column`` of a CSV file; duplicate keys and gaps are errors."""
    path = (base_dir / source.file).resolve()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise LocatedError(f"cannot read {path}: {exc.strerror}", ("file",)) from exc
    with handle:
        reader = csv.DictReader(handle, delimiter=source.delimiter)
        header = reader.fieldnames or []
        for column in ("key", "value"):
            name = getattr(source, column)
            if name not in header:
                raise LocatedError(
                    f"{path.name} has no column {name!r}{did_you_mean(name, header)} "
                    f"(columns: {', '.join(header) or 'none'})",
                    (column,),
                )
        table: dict[str, str] = {}
        first_line: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            key = (row.get(source.key) or "").strip()
            value = (row.get(source.value) or "").strip()
            if not key and not value:
                continue
            if not key or not value:
                missing = source.key if not key else source.value
                raise LocatedError(f"{path}:{line}: empty {missing!r}", ("file",))
            if key in table and table[key] != value:
                raise LocatedError(
                    f"{path}:{line}: duplicate key {key!r} (first on line {first_line[key]}, "
                    f"{table[key]!r} then {value!r})",
                    ("file",),
                )
            table[key] = value
            first_line.setdefault(key, line)
    return table


def load_table(spec: TableSpec, base_dir: Path) -> dict[str, str]:
    """A table's pairs: the CSV file's, then the inline ones (which win)."""
    table: dict[str, str] = {}
    if spec.csv is not None:
        try:
            table.update(read_csv_pairs(spec.csv, base_dir))
        except LocatedError as exc:
            raise LocatedError(str(exc), ("csv", *exc.at)) from exc
    table.update(spec.inline)
    return table
