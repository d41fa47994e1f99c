"""The numbers a till may type for a web order, and each platform's tax basis.

Raw orders are in each platform's documented shape (WooCommerce: the connector tests'
fixture, written from the REST v3 docs' order example); the platform id comes from the
connector's own decoder where the test builds the sale through it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.model import Sale, SaleStatus, TicketKey
from bridge.returns.numbers import normalise, order_facts
from connectors.woocommerce.payloads import decode_order as decode_woo
from tests.returns.conftest import shopify_order

WOO_ORDER = Path(__file__).parents[1] / "woocommerce" / "data" / "order_processing.json"


def _sale(transaction_id: str) -> Sale:
    return Sale(
        key=TicketKey(store="shop", transaction_id=transaction_id),
        status=SaleStatus.COMPLETED,
        currency="EUR",
        channel="web",
    )


@pytest.mark.parametrize(
    ("typed", "alias"),
    [
        ("#1001", "1001"),
        (" 1001 ", "1001"),
        ("000000123", "123"),
        ("0", "0"),
        ("xkbknabjk", "XKBKNABJK"),
        ("WC-2051", "WC2051"),
        ("abcd 1234 efgh", "ABCD1234EFGH"),
        ("１００１", "1001"),  # full-width digits from a phone keyboard
    ],
)
def test_a_typed_number_normalises_to_its_look_up_form(typed: str, alias: str) -> None:
    assert normalise(typed) == alias


def test_shopify_orders_are_named_by_their_name_order_number_and_id() -> None:
    raw = shopify_order(order_id=820982911946154508, number=1001, taxes_included=False)
    facts = order_facts(raw, _sale("820982911946154508"))
    assert facts.number == "#1001"
    assert facts.aliases == {"1001", "820982911946154508"}
    assert facts.tax_included is False
    assert facts.line_tax == {"466157049": Decimal("12.00")}
    assert order_facts(shopify_order(), _sale("1")).line_tax == {}  # taxes included


def test_woocommerce_amounts_exclude_tax_and_each_line_states_its_own() -> None:
    raw = json.loads(WOO_ORDER.read_text())
    (body,) = decode_woo(raw, "shop.brique.test")
    facts = order_facts(raw, body.sale)
    assert facts.number == "2051"
    assert facts.aliases == {"2051"}
    assert facts.tax_included is False
    first = raw["line_items"][0]
    assert facts.line_tax[str(first["id"])] == Decimal(first["total_tax"])


def test_magento_prestashop_vendure_and_oscar_numbers() -> None:
    magento = {
        "entity_id": 9,
        "increment_id": "000000009",
        "items": [
            {"item_id": 11, "product_type": "configurable", "tax_amount": "4.00"},
            {"item_id": 12, "parent_item_id": 11, "product_type": "simple", "tax_amount": 0},
        ],
    }
    facts = order_facts(magento, _sale("000000009"))
    assert (facts.number, facts.aliases, facts.tax_included) == ("000000009", {"9"}, False)
    assert facts.line_tax["12"] == Decimal("4.00")  # the child's money is its parent's
    presta = {"id": "5", "reference": "XKBKNABJK", "id_currency": "1"}
    facts = order_facts(presta, _sale("XKBKNABJK"))
    assert (facts.number, facts.aliases, facts.tax_included) == (
        "XKBKNABJK",
        {"XKBKNABJK", "5"},
        True,
    )
    vendure = {"id": "3", "code": "ABCD1234EFGH", "currencyCode": "EUR"}
    facts = order_facts(vendure, _sale("ABCD1234EFGH"))
    assert (facts.aliases, facts.tax_included) == ({"ABCD1234EFGH"}, True)
    oscar = {"number": "100001", "total_incl_tax": "19.99"}
    assert order_facts(oscar, _sale("100001")).aliases == {"100001"}


def test_an_unknown_payload_still_gives_the_platform_id() -> None:
    facts = order_facts({"whatever": 1}, _sale("A-77"))
    assert (facts.number, facts.aliases, facts.tax_included) == ("A-77", {"A77"}, None)
