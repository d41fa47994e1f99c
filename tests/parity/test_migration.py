"""Migration 0008 creates exactly the parity tables the code declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bridge.parity import tables
from bridge.store import db
from bridge.store.schema import metadata

MINE = {
    tables.PriceDivergence.__tablename__,
    tables.TillPrice.__tablename__,
    tables.ParityState.__tablename__,
}


def _mine(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if kind == "table" else getattr(obj, "table", None)
    return table is not None and table.name in MINE


def test_the_migrated_schema_matches_the_tables(database_url: str) -> None:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _mine})
            diff = compare_metadata(context, metadata)
            present = set(conn.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    assert MINE <= present
    assert diff == []
