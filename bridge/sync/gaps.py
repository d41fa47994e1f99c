"""Gaps in a register's ticket numbers: a fiscal journal that skips a number is an alert.

Tickets are numbered per (store, workstation, business day). A missing number means a
ticket never reached Brique (a lost file, a till that did not export), so stock and the
sales journal are wrong until it arrives. Gaps are computed from the journal itself, so a
late ticket closes its gap with no bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.store.tables import SaleRow


@dataclass(frozen=True)
class Gap:
    connection: str
    store: str
    workstation: str | None
    business_day: date | None
    missing: tuple[int, ...]

    def describe(self) -> str:
        day = self.business_day.isoformat() if self.business_day else "-"
        shown = ", ".join(str(n) for n in self.missing[:10])
        more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
        return (
            f"{self.connection} store {self.store} register {self.workstation or '-'} on {day}: "
            f"ticket(s) {shown}{more} missing"
        )


def sequence_number(value: str | None) -> int | None:
    """The ticket number as an integer when the till numbers tickets with digits."""
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else None


def ticket_gaps(session: Session, connection: str | None = None, limit: int = 1000) -> list[Gap]:
    register = (SaleRow.connection, SaleRow.store, SaleRow.workstation, SaleRow.business_day)
    query = (
        select(*register)
        .where(SaleRow.sequence_no.isnot(None))
        .group_by(*register)
        .having(
            func.max(SaleRow.sequence_no) - func.min(SaleRow.sequence_no) + 1
            > func.count(func.distinct(SaleRow.sequence_no))
        )
        .limit(limit)
    )
    if connection is not None:
        query = query.where(SaleRow.connection == connection)
    gaps = []
    for conn, store, workstation, day in session.execute(query).all():
        seen = set(
            session.scalars(
                select(SaleRow.sequence_no).where(
                    SaleRow.connection == conn,
                    SaleRow.store == store,
                    SaleRow.workstation.is_(None)
                    if workstation is None
                    else SaleRow.workstation == workstation,
                    SaleRow.business_day.is_(None) if day is None else SaleRow.business_day == day,
                    SaleRow.sequence_no.isnot(None),
                )
            )
        )
        missing = tuple(n for n in range(min(seen), max(seen) + 1) if n not in seen)
        gaps.append(Gap(conn, store, workstation, day, missing))
    return gaps
