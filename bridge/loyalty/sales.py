"""What a journaled sale earns and spends, in the sale's own transaction (a sale hook).

The hook runs after ``observe_customer``, so the sale's customer record exists when the
sale names one. Points go to that record (see ``bridge.loyalty.ledger`` for why the record,
not the golden id, carries them). A sale without an identifiable customer earns nothing:
it is logged, and so is every part of a sale the rules leave out.

Entries are keyed ``<connection>:<ticket key>:<line or tender ref>``: a replayed ticket, a
duplicate file or a crash before the commit change nothing twice. A problem computing
points never loses the sale: the sale is kept and a dead letter (stage ``loyalty``) names
the ticket; replaying it recomputes that ticket's points from the sales journal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.customers.identity import IdentityError
from bridge.customers.model import check_region
from bridge.customers.views import observed_from_sale, sale_time
from bridge.errors import ConfigError
from bridge.loyalty.ledger import LoyaltyError, NewEntry, append_all
from bridge.loyalty.push import PUSH, mark, sync_merges
from bridge.loyalty.rules import LoyaltyRules, Original, link_key
from bridge.loyalty.tables import LoyaltyEntryRow
from bridge.mapping.plan import MappingPlan
from bridge.model import Sale
from bridge.store.tables import CustomerRecord, SaleRow
from bridge.sync import deadletters
from bridge.sync.ledger import from_e4
from bridge.sync.runtime import Runtime
from bridge.sync.sale_hooks import SaleContext

log = structlog.get_logger(__name__)

STAGE = "loyalty"
"""Dead letters of sales whose points could not be recorded (replay: record them again)."""
RESCORE = "brique.loyalty_rescore"
"""The follow-up task that records one journaled sale's points again."""

_RULES: dict[str, LoyaltyRules] = {}


def rules_for(plan: MappingPlan) -> LoyaltyRules | None:
    """The plan's loyalty rules, built once per mapping version."""
    spec = plan.spec.loyalty
    if spec is None:
        return None
    found = _RULES.get(plan.version)
    if found is None or found.spec is not spec:
        if len(_RULES) > 8:
            _RULES.clear()
        found = _RULES[plan.version] = LoyaltyRules(spec, plan.stock.category_of)
    return found


def on_sale(ctx: SaleContext) -> None:
    """The sale hook: record the sale's points, queue pushes of the balances it moved."""
    if ctx.plan.spec.loyalty is None:
        return
    s = ctx.session
    try:
        with s.begin_nested():
            touched = record_sale(s, ctx.plan, ctx.connection, ctx.sale, ctx.location)
    except (LoyaltyError, IdentityError, ValueError, ArithmeticError) as exc:
        ticket = ctx.sale.key.as_string()
        log.warning(
            "loyalty_not_recorded", connection=ctx.connection, ticket=ticket, error=str(exc)
        )
        # No payload: the sale is in the journal (the replay reads it there), and a dead
        # letter need not copy the customer's personal data.
        deadletters.record(s, connection=ctx.connection, stage=STAGE, error=exc, record=ticket)
        return
    for connection in sorted(touched):
        ctx.followups.append((PUSH, (connection,)))


def record_sale(
    s: Session, plan: MappingPlan, connection: str, sale: Sale, location: str | None
) -> set[str]:
    """Append the sale's entries; return the connections whose balances must be pushed."""
    rules = rules_for(plan)
    if rules is None:
        return set()
    spec = rules.spec
    ticket = sale.key.as_string()
    changes, notes = rules.for_sale(
        connection, sale, lambda key, line: original(s, connection, key, line)
    )
    for note in notes:
        log.info("loyalty_note", connection=connection, ticket=ticket, note=note)
    goldens: set[int] = set()
    if changes:
        who = customer_of(s, plan, connection, sale, location)
        if who is None:
            total = sum((c.points for c in changes), Decimal(0))
            # Anonymous tickets are the norm at a till; a reference nobody can be found by
            # is worth a warning.
            level = log.info if sale.customer is None else log.warning
            level(
                "loyalty_no_customer",
                connection=connection,
                ticket=ticket,
                points=format(total, "f"),
                note="a sale without an identifiable customer earns nothing",
            )
        else:
            golden_id, record_id = who
            at = sale_time(sale)
            entries = [
                NewEntry(
                    key=f"{connection}:{ticket}:{change.ref}",
                    golden_id=golden_id,
                    record_id=record_id,
                    kind=change.kind,
                    origin=change.origin,
                    points=change.points,
                    connection=connection,
                    ticket_key=ticket,
                    line_no=change.line_no,
                    quantity=change.quantity,
                    link_key=change.link_key,
                    channel=sale.channel,
                    basis=change.basis,
                    currency=sale.currency,
                    reason=change.reason,
                    mapping_version=plan.version,
                    occurred_at=at,
                )
                for change in changes
            ]
            if append_all(s, entries):
                goldens.add(golden_id)
    goldens |= sync_merges(s)
    if not goldens:
        return set()
    return mark(s, spec.publish, goldens, f"Ticket/{ticket}")


def customer_of(
    s: Session, plan: MappingPlan, connection: str, sale: Sale, location: str | None
) -> tuple[int, int] | None:
    """(golden id, record id) of the sale's customer as ``observe_customer`` recorded it.

    The record is found by the same (source, source id) the observation used, read in the
    same phone region, so a customer known only by phone is found too.
    """
    if sale.customer is None:
        return None
    region = next((loc.region for loc in plan.spec.locations if loc.code == location), None)
    try:
        region = check_region(region) if region else None
    except ValueError:
        region = None
    try:
        found = observed_from_sale(connection, sale, region)
    except ValueError:
        return None
    if found.record is None:
        return None
    row = s.execute(
        select(CustomerRecord.golden_id, CustomerRecord.id).where(
            CustomerRecord.source == found.record.source,
            CustomerRecord.source_id == found.record.source_id,
        )
    ).first()
    return None if row is None else (row.golden_id, row.id)


def original(s: Session, connection: str, ticket: str, line: str) -> Original | None:
    """What a line a return links to earned, or None when that ticket is unknown here."""
    earned = s.execute(
        select(
            func.coalesce(func.sum(LoyaltyEntryRow.points_e4), 0),
            func.max(LoyaltyEntryRow.quantity_e4),
        ).where(
            LoyaltyEntryRow.connection == connection,
            LoyaltyEntryRow.ticket_key == ticket,
            LoyaltyEntryRow.line_no == line,
            LoyaltyEntryRow.kind == "earn",
        )
    ).one()
    reversed_e4, returned_e4 = s.execute(
        select(
            func.coalesce(func.sum(LoyaltyEntryRow.points_e4), 0),
            func.coalesce(func.sum(LoyaltyEntryRow.quantity_e4), 0),
        ).where(
            LoyaltyEntryRow.connection == connection,
            LoyaltyEntryRow.link_key == link_key(ticket, line),
        )
    ).one()
    if earned[1] is not None:
        return Original(
            earned=from_e4(earned[0]),
            quantity=from_e4(earned[1]),
            reversed=from_e4(reversed_e4),
            returned=-from_e4(returned_e4),
        )
    known = s.scalar(
        select(SaleRow.id).where(SaleRow.connection == connection, SaleRow.ticket_key == ticket)
    )
    if known is None:
        return None
    return Original(Decimal(0), Decimal(1), Decimal(0))  # it earned nothing on that line


def replay_dead_letter(s: Session, dl: Any) -> tuple[str, tuple[str, tuple[object, ...]]]:
    """Queue the ticket's points to be recorded again (after what failed was fixed)."""
    row_id = s.scalar(
        select(SaleRow.id).where(
            SaleRow.connection == dl.connection, SaleRow.ticket_key == dl.record
        )
    )
    if row_id is None:
        raise ConfigError(f"dead letter #{dl.id}: no journaled sale {dl.connection}/{dl.record}")
    return f"the points of {dl.connection}/{dl.record} will be recorded again", (RESCORE, (row_id,))


def rescore(rt: Runtime, sale_row_id: int) -> list[str]:
    """Record one journaled sale's points (idempotent: entries already there stay as they
    are); the connections whose balances were queued for a push."""
    plan = rt.mapping.plan
    with rt.transaction() as s:
        row = s.get(SaleRow, sale_row_id)
        if row is None:
            raise ConfigError(f"no journaled sale #{sale_row_id}")
        sale = Sale.model_validate_json(row.payload)
        touched = record_sale(s, plan, row.connection, sale, row.location)
    for connection in sorted(touched):
        rt.dispatcher.call(PUSH, connection, connection=connection)
    return sorted(touched)
