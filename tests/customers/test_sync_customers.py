"""Sales feed the golden records through the real sync use-cases (SQLite and PostgreSQL).

A till ("tills", fake POS) and a web shop's orders ("eshop", decoded by the Shopify
connector's own decoder) are polled; each sale's customer reference is observed in the
sale's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bridge.connector import ConnectorContext
from bridge.customers import golden
from bridge.customers.views import observed_from_sale
from bridge.model import CustomerRef, Money, Sale, SaleLine, SaleStatus, TicketKey
from bridge.settings import ConnectionSettings
from bridge.store.tables import Customer, CustomerRecord, DeadLetter, InboxRow, SaleRow
from bridge.sync import apply, ingest
from bridge.sync.runtime import Runtime
from connectors.shopify.payloads import decode_order
from tests.customers.conftest import snapshot
from tests.fakes import FakePos
from tests.test_sync import make_world

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    region: FR
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
  - code: LONDON-01
    region: GB
    ids: {tills: "2001", webshop: "gid://shopify/Location/2"}
skus:
  tills: {"3600000000017": TSHIRT-RED-M}
"""
SHOP = "brique-test.myshopify.com"


def ticket(seq: int, customer: CustomerRef | None, store: str = "1001", at: str = "10:00") -> Sale:
    day = date(2026, 11, 23)
    return Sale(
        key=TicketKey(store=store, workstation="01", business_day=day, sequence=str(seq)),
        status=SaleStatus.COMPLETED,
        occurred_at=datetime.fromisoformat(f"2026-11-23T{at}:00+01:00"),
        currency="EUR",
        lines=(
            SaleLine(
                line_no="1",
                sku="3600000000017",
                quantity=Decimal(1),
                unit_price=Money(amount="10.00", currency="EUR"),
            ),
        ),
        customer=customer,
    )


def order(order_id: int, **customer: Any) -> dict[str, Any]:
    """A Shopify ``orders/create`` payload; ``customer`` goes in its customer object."""
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "created_at": "2026-11-24T16:15:47-05:00",
        "currency": "EUR",
        "total_price": "10.00",
        "cancelled_at": None,
        "line_items": [{"id": 1, "sku": "TSHIRT-RED-M", "quantity": 1, "price": "10.00"}],
        "customer": customer,
    }


class World:
    def __init__(self, rt: Runtime, pos: FakePos, web: FakePos) -> None:
        self.rt, self.pos, self.web = rt, pos, web

    def ring(self, *sales: Sale) -> Any:
        self.pos.pending = list(sales)
        return ingest.poll(self.rt, "tills", "sales")

    def order(self, payload: dict[str, Any]) -> Any:
        (body,) = decode_order(payload, SHOP)
        self.web.pending = [body.sale]
        return ingest.poll(self.rt, "eshop", "sales")

    def web_sale(self, sale: Sale) -> Any:
        self.web.pending = [sale]
        return ingest.poll(self.rt, "eshop", "sales")

    def goldens(self) -> list[Any]:
        with self.rt.sessions() as s:
            ids = s.scalars(
                select(Customer.id).where(Customer.merged_into.is_(None)).order_by(Customer.id)
            ).all()
            return [golden(s, gid) for gid in ids]

    def state(self) -> dict[str, list[dict]]:
        with self.rt.sessions() as s:
            return snapshot(s)

    def count(self, model: type) -> int:
        with self.rt.sessions() as s:
            return s.scalar(select(func.count()).select_from(model)) or 0


def make(tmp_path: Path, database_url: str) -> Iterator[World]:
    rt, pos, _shop, _ = make_world(tmp_path, database_url, MAPPING)
    rt.settings.connections["eshop"] = ConnectionSettings(connector="shopify")
    web = FakePos(context=ConnectorContext("eshop"))
    rt.use("eshop", web)
    try:
        yield World(rt, pos, web)
    finally:
        rt.close()


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    yield from make(tmp_path, database_url)


def test_a_store_sale_and_a_web_order_with_the_same_email_are_one_customer(world) -> None:
    world.ring(ticket(1, CustomerRef(loyalty_card="LOY-42", email="Jon@Example.com")))
    world.order(order(820982911946154508, id=115310627314723954, email="jon@example.com"))
    (one,) = world.goldens()
    assert {(r.source, r.source_id) for r in one.records} == {
        ("tills", "card:LOY-42"),
        ("eshop", "email:jon@example.com"),
    }
    assert set(one.keys) == {
        ("loyalty", "LOY-42"),
        ("email", "jon@example.com"),
        ("channel", "tills:card:LOY-42"),
        ("channel", "eshop:email:jon@example.com"),
        ("channel", "shopify:115310627314723954"),
    }
    assert one.best["loyalty_card"] == "LOY-42"
    assert world.count(DeadLetter) == 0


def test_the_same_phone_joins_them_read_in_the_stores_region(world) -> None:
    # A national number at the Paris till is French; the web order gives it in E.164.
    world.ring(ticket(1, CustomerRef(loyalty_card="LOY-1", phone="06 12 34 56 78")))
    world.order(order(1, id=7, email="someone@example.fr", phone="+33 6 12 34 56 78"))
    # The same digits at the London till are a British number: another person.
    world.ring(ticket(2, CustomerRef(loyalty_card="LOY-2", phone="07911 123456"), store="2001"))
    paris, london = world.goldens()
    assert ("phone", "+33612345678") in paris.keys
    assert {r.source for r in paris.records} == {"tills", "eshop"}
    assert ("phone", "+447911123456") in london.keys
    assert [r.source_id for r in london.records] == ["card:LOY-2"]


def test_a_web_order_carrying_the_tills_customer_id_joins_it(world) -> None:
    world.ring(ticket(1, CustomerRef(customer_id="C-7", loyalty_card="LOY-7")))
    web = ticket(1, None).model_copy(
        update={
            "key": TicketKey(store=SHOP, transaction_id="9001"),
            "channel": "web",
            "customer": CustomerRef(email="seven@example.com", channel_ids={"tills": "C-7"}),
        }
    )
    world.web_sale(web)
    (one,) = world.goldens()
    assert {(r.source, r.source_id) for r in one.records} == {
        ("tills", "C-7"),
        ("eshop", "email:seven@example.com"),
    }
    # ...and one carrying the derived id of a card-only till customer joins that one.
    world.ring(ticket(2, CustomerRef(loyalty_card="LOY-8")))
    other = web.model_copy(
        update={
            "key": TicketKey(store=SHOP, transaction_id="9002"),
            "customer": CustomerRef(channel_ids={"tills": "card:LOY-8"}),
        }
    )
    world.web_sale(other)
    assert [sorted(r.source_id for r in g.records) for g in world.goldens()] == [
        ["C-7", "email:seven@example.com"],
        ["card:LOY-8", "channel:tills:card:LOY-8"],
    ]


def test_replaying_tickets_changes_nothing(world) -> None:
    sales = [
        ticket(1, CustomerRef(loyalty_card="LOY-42", email="jon@example.com")),
        ticket(2, CustomerRef(email="ann@example.com", phone="0611223344"), at="11:00"),
    ]
    world.ring(*sales)
    world.order(order(5, id=115, email="jon@example.com"))
    before = world.state()
    assert len(before["customers"]) == 2
    again = world.ring(*sales)
    assert again.duplicates == 2 and not again.accepted
    assert world.order(order(5, id=115, email="jon@example.com")).duplicates == 1
    with world.rt.sessions() as s:
        inbox = s.scalars(select(InboxRow.id)).all()
    for inbox_id in inbox:  # a redelivered message for a processed row
        assert apply.process_inbox(world.rt, inbox_id) == []
    # The hook itself is idempotent too, should the same sale be applied again.
    plan = world.rt.mapping.plan
    with world.rt.transaction() as s:
        for sale in sales:
            apply.observe_customer(s, plan, "tills", sale, "PARIS-01")
    assert world.state() == before


def test_an_older_ticket_arriving_late_only_fills_gaps(world) -> None:
    world.ring(ticket(2, CustomerRef(loyalty_card="LOY-42", email="new@example.com"), at="12:00"))
    before = world.state()
    world.ring(ticket(1, CustomerRef(loyalty_card="LOY-42", email="old@example.com"), at="09:00"))
    assert world.state() == before  # nothing the newer ticket lacks: nothing changes
    world.ring(
        ticket(3, CustomerRef(loyalty_card="LOY-42", email="x@example.com", phone="0611223344"),
               at="08:00")
    )  # fmt: skip
    (one,) = world.goldens()
    (record,) = one.records
    assert (record.email, record.phone) == ("new@example.com", "+33611223344")
    at = record.observed_at
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert ("phone", "+33611223344") in one.keys  # the gap's key is claimed
    world.ring(ticket(4, CustomerRef(loyalty_card="LOY-42", email="newer@example.com"), at="13:00"))
    (one,) = world.goldens()
    assert one.best["email"] == "newer@example.com"
    assert {v for k, v in one.keys if k == "email"} == {"new@example.com", "newer@example.com"}


def test_an_invalid_customer_never_dead_letters_the_sale(world) -> None:
    world.ring(
        ticket(1, CustomerRef(loyalty_card="LOY-42", email="not-an-email")),
        ticket(2, CustomerRef(email="still not one", name="Jon Snow")),
        ticket(3, CustomerRef(name="Jon Snow")),
        ticket(4, CustomerRef(phone="12", email="x@")),
    )
    with world.rt.sessions() as s:
        assert set(s.scalars(select(InboxRow.status))) == {"done"}
        assert s.scalar(select(func.count()).select_from(SaleRow)) == 4
    assert world.count(DeadLetter) == 0
    # The card still identifies the first customer; the bad e-mail is a note on its record.
    (one,) = world.goldens()
    (record,) = one.records
    assert record.source_id == "card:LOY-42" and record.email is None
    assert record.notes == ("email: not an e-mail address: 'not-an-email'; e-mail key dropped",)
    assert world.count(CustomerRecord) == 1  # nothing identifies the others: not observed


def test_a_web_order_has_no_store_region(world) -> None:
    """A national number on a web order cannot be read (no store, no region of its own):
    its phone key is dropped with a note, its e-mail still identifies it."""
    world.order(order(1, id=3, email="web@example.com", phone="06 12 34 56 78"))
    (one,) = world.goldens()
    (record,) = one.records
    assert record.phone is None and "phone key dropped" in record.notes[0]
    assert ("email", "web@example.com") in one.keys


def test_the_observation_a_sale_makes() -> None:
    sale = ticket(1, CustomerRef(loyalty_card=" LOY-1 ", email="A@B.C", name="Jean de La Tour"))
    record = observed_from_sale("tills", sale, "FR").record
    assert record is not None
    assert (record.source, record.source_id) == ("tills", "card:LOY-1")
    assert (record.first_name, record.last_name) == ("Jean", "de La Tour")
    assert record.observed_at == datetime(2026, 11, 23, 9, tzinfo=UTC)
    by_id = observed_from_sale("tills", ticket(1, CustomerRef(customer_id="42", email="a@b.c")))
    assert by_id.record is not None and by_id.record.source_id == "42"
    by_email = observed_from_sale("tills", ticket(1, CustomerRef(email=" A@b.C ")))
    assert by_email.record is not None and by_email.record.source_id == "email:a@b.c"
    by_phone = observed_from_sale("tills", ticket(1, CustomerRef(phone="06 12 34 56 78")), "FR")
    assert by_phone.record is not None and by_phone.record.source_id == "phone:+33612345678"
    undated = ticket(1, CustomerRef(loyalty_card="L")).model_copy(update={"occurred_at": None})
    found = observed_from_sale("tills", undated).record
    assert found is not None and found.observed_at == datetime(2026, 11, 23, tzinfo=UTC)
    long = observed_from_sale("tills", ticket(1, CustomerRef(email="a" * 300 + "@b.c")))
    assert long.record is not None and long.record.source_id.startswith("email:sha256:")
    nothing = observed_from_sale("tills", ticket(1, CustomerRef(email="nope")))
    assert nothing.record is None and "not an e-mail address" in nothing.notes[0]
    assert observed_from_sale("tills", ticket(1, None)).record is None
