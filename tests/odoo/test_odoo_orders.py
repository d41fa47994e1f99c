"""Decoding: a sale with two payments and change, a refund linked to its sale, float amounts
kept exact, store days in the store's time zone, and the default mapping applied."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.connector import InboundEvent
from bridge.errors import DataError
from bridge.mapping.loader import load_plan
from bridge.model import Money, Sale, SaleStatus, Tender
from bridge.sync.apply import canonical_sale
from connectors.odoo import OdooConnector
from connectors.odoo.orders import decode_order
from tests.odoo.odoo_fake import FakeOdoo

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MAPPING = REPO / "mappings" / "defaults" / "odoo-shopify.yaml"


@pytest.fixture
def events(odoo: FakeOdoo, connector: OdooConnector) -> dict[int, InboundEvent]:
    return {e.payload["id"]: e for page in connector.read("orders") for e in page.events}


def sale_of(connector: OdooConnector, event: InboundEvent) -> Sale:
    (body,) = connector.decode(event)
    return body.sale


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_a_sale_with_two_payments_and_change(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    sale = sale_of(connector, events[101])
    assert sale.key.as_string() == "1/tx/Order 00012-001-0001#101"
    assert (sale.key.store, sale.key.workstation) == ("1", "POS/00012")
    assert sale.key.business_day == date(2024, 3, 5)
    assert sale.status is SaleStatus.COMPLETED  # "done": posted by the session closing
    assert (
        sale.occurred_at is not None and sale.occurred_at.isoformat() == "2024-03-05T09:12:44+00:00"
    )
    assert sale.channel == "store" and sale.currency == "EUR"
    assert sale.total == eur("42.91")
    chair, pad = sale.lines
    assert (chair.line_no, chair.sku, chair.quantity) == ("201", "FURN_0269", Decimal("2.0"))
    assert chair.unit_price == eur("12.5") and chair.amount == eur("25.00")
    assert chair.barcode == "601647855631" and chair.unit == "Units"
    assert chair.discount is None and not chair.is_return
    assert pad.sku == "product:32" and pad.description == "Desk Pad"
    assert pad.discount == eur("1.99")  # 10 % of 1 x 19.9
    assert pad.amount == eur("17.91")
    assert sale.tenders == (
        Tender(kind="Bank", amount=eur("20.00")),
        Tender(kind="Cash", amount=eur("30.00")),
        Tender(kind="Cash", amount=eur("7.09"), refund=True),  # change handed back
    )
    paid = sum((t.amount.amount * (-1 if t.refund else 1) for t in sale.tenders), Decimal(0))
    assert paid == sale.total.amount
    customer = sale.customer
    assert customer is not None
    assert customer.channel_ids == {"odoo": "7"}
    assert (customer.customer_id, customer.loyalty_card) == ("C-00042", "042100005264")
    assert (customer.email, customer.phone) == ("deco.addict82@example.com", "(603)-996-3829")


def test_a_refund_returns_the_goods_and_links_the_sale(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    sale = sale_of(connector, events[103])
    (line,) = sale.lines
    assert line.is_return and line.quantity == Decimal("-1.0")
    assert line.amount == eur("-12.50")
    assert line.link is not None
    assert (line.link.store, line.link.workstation, line.link.line) == ("1", "POS/00012", "201")
    assert line.link.transaction_id == "Order 00012-001-0001#101"
    original = sale_of(connector, events[101])
    assert line.link.transaction_id == original.key.transaction_id
    assert sale.link is not None and sale.link.transaction_id == original.key.transaction_id
    assert sale.tenders == (Tender(kind="Cash", amount=eur("12.50"), refund=True),)
    assert sale.total == eur("-12.50")
    assert [(s.sku, s.quantity) for s in sale.stock_lines()] == [("FURN_0269", Decimal("-1.0"))]


def test_float_amounts_stay_exact_decimals(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    """Odoo summed 0.1 + 0.2 in floats and wrote 0.30000000000000004: read as written, then
    rounded to the euro's 2 decimals, never through a binary float."""
    event = events[102]
    assert event.payload["amount_total"] == "0.30000000000000004"
    assert [line["price_unit"] for line in event.payload["lines"]] == ["0.1", "0.2"]
    sale = sale_of(connector, event)
    assert [line.unit_price for line in sale.lines] == [eur("0.1"), eur("0.2")]
    float_way = Decimal(float(event.payload["lines"][0]["price_unit"]))
    assert float_way != Decimal("0.1")  # what a float on the way would have made of it
    assert sum(line.unit_price.amount for line in sale.lines) == Decimal("0.3")
    assert sale.total == eur("0.30") and str(sale.total.amount) == "0.30"
    assert sale.tenders == (Tender(kind="Cash", amount=eur("0.30")),)
    assert sale.customer is None


def test_the_payload_survives_the_inbox_and_decodes_the_same(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    for event in events.values():
        stored = json.loads(json.dumps(event.payload, separators=(",", ":"), default=str))
        again = InboundEvent(event.key, event.kind, stored)
        assert connector.decode(again) == connector.decode(event)


def test_the_business_day_is_the_stores_date(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    payload = copy.deepcopy(events[105].payload)
    payload["date_order"] = "2024-03-06 23:30:00"  # 00:30 on the 7th in Brussels
    sale = decode_order(payload, zone=ZoneInfo("Europe/Brussels")).sale
    assert sale.occurred_at is not None and sale.occurred_at.hour == 23
    assert sale.key.business_day == date(2024, 3, 7)
    assert decode_order(payload, zone=ZoneInfo("UTC")).sale.key.business_day == date(2024, 3, 6)


def test_sequences_are_given_when_asked(make, odoo: FakeOdoo) -> None:
    connector = make(ticket_sequences=True)
    event = next(e for p in connector.read("orders") for e in p.events)
    assert sale_of(connector, event).key.sequence == "1"


def test_money_follows_the_currencys_decimals(events: dict[int, InboundEvent]) -> None:
    payload = copy.deepcopy(events[105].payload)
    payload["currency"] = {"id": 25, "name": "JPY", "decimal_places": 0}
    payload["amount_total"] = "449.5"
    sale = decode_order(payload, zone=ZoneInfo("UTC")).sale
    assert sale.total == Money(amount=Decimal("450"), currency="JPY")


def test_a_float_in_a_payload_is_refused(events: dict[int, InboundEvent]) -> None:
    payload: dict[str, Any] = copy.deepcopy(events[102].payload)
    payload["amount_total"] = 0.1 + 0.2
    with pytest.raises(DataError, match="binary float"):
        decode_order(payload, zone=ZoneInfo("UTC"))


def test_a_broken_payload_is_a_data_error_naming_the_event(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    payload = copy.deepcopy(events[101].payload)
    payload["lines"][0]["qty"] = "two"
    with pytest.raises(DataError, match=r"Order 00012-001-0001#101.*qty"):
        connector.decode(InboundEvent("Order 00012-001-0001#101", "sale", payload))
    with pytest.raises(DataError, match="not handled"):
        connector.decode(InboundEvent("x", "order", payload))


def test_the_default_mapping_names_tenders_and_units(
    connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    plan = load_plan(DEFAULT_MAPPING)
    sale = canonical_sale(plan, "tills", sale_of(connector, events[101]))
    assert [(t.kind, t.refund) for t in sale.tenders] == [
        ("card", False),
        ("cash", False),
        ("cash", True),
    ]
    assert {line.unit for line in sale.lines} == {"each"}
    assert plan.location_in("tills", sale.key.store) == "STORE-01"
    bar = canonical_sale(plan, "tills", sale_of(connector, events[105]))
    assert [t.kind for t in bar.tenders] == ["account"]


def test_inbound_rules_can_put_two_tills_in_one_store(
    tmp_path: Path, connector: OdooConnector, events: dict[int, InboundEvent]
) -> None:
    """The example at the end of the default mapping, switched on."""
    text = DEFAULT_MAPPING.read_text()
    text = text.replace(
        "\nconnections:\n",
        '\ntables:\n  tills_to_stores: {inline: {"1": "1", "2": "1"}}\n'
        "connections:\n  tills:\n    sale:\n      inbound:\n        fields:\n"
        "          store: {from: config.id, apply: [{lookup: tills_to_stores}]}\n",
        1,
    )
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    plan = load_plan(path)
    event = events[105]
    assert event.payload["store"] == "2"
    mapped = InboundEvent(event.key, event.kind, plan.inbound("tills", "sale", event.payload))
    sale = sale_of(connector, mapped)
    assert sale.key.store == "1"
    assert plan.location_in("tills", sale.key.store) == "STORE-01"


def test_float_noise_on_prices_and_quantities_is_rounded_off(
    events: dict[int, InboundEvent],
) -> None:
    payload = copy.deepcopy(events[102].payload)
    payload["lines"][0].update(price_unit="0.30000000000000004", qty="2.9999999999999996")
    payload["lines"][1].update(price_unit="0.125")  # a real third decimal is kept
    first, second = decode_order(payload, zone=ZoneInfo("UTC")).sale.lines
    assert first.unit_price == eur("0.3") and str(first.unit_price.amount) == "0.3"
    assert first.quantity == Decimal(3) and str(first.quantity) == "3"
    assert second.unit_price == eur("0.125")
