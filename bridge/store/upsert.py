"""Insert-if-absent, the primitive behind every idempotent write of the state store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bridge.store.tables import Base


def insert_ignore(
    session: Session, model: type[Base], values: dict[str, Any], conflict: Sequence[str]
) -> Any:
    """Insert a row unless its unique key exists; return its primary key, None for a duplicate."""
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        builder(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*model.__table__.primary_key.columns)
    )
    return session.execute(stmt).scalar_one_or_none()
