"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL,
and go down again: a table or column added to the code without its migration fails here."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bridge.store import db
from bridge.store.schema import metadata


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_migrations_match_the_declared_tables(database_url: str) -> None:
    db.upgrade(database_url)
    assert _diff(database_url) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_migrations_go_down_to_nothing(database_url: str) -> None:
    db.upgrade(database_url)
    db.downgrade(database_url, "base")
    engine = create_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
