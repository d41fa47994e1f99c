"""Webhook bodies shaped like Shopify's documented ones (REST resource shapes), for the tests.

Written by hand after these pages, trimmed to the fields that matter and given this suite's
SKUs and amounts:

* orders: the Order resource, https://shopify.dev/docs/api/admin-rest/2024-10/resources/order
  (``note_attributes``, ``cart_token``, ``checkout_token``, ``discount_allocations``,
  ``payment_gateway_names``, ``total_outstanding``, ``refunds``);
* refunds: the Refund resource, https://shopify.dev/docs/api/admin-rest/2023-10/resources/refund
  (``refund_line_items`` with their ``line_item``, ``subtotal_set``, ``restock_type``;
  ``transactions`` of kind ``refund``); the same object arrives alone as ``refunds/create``
  and inside the order's ``refunds``;
* carts: the ``carts/create`` example of https://shopify.dev/docs/api/webhooks (``id`` =
  ``token``, ``line_items`` with ``key``, ``price``, ``price_set``, ``sku``, no currency field);
* checkouts: the abandoned checkout resource,
  https://shopify.dev/docs/api/admin-rest/2024-10/resources/abandoned-checkouts (``token``,
  ``cart_token``, ``note_attributes``, ``abandoned_checkout_url``, ``completed_at``).
"""

from __future__ import annotations

import copy
from typing import Any

ORDER_ID = 820982911946154508
REFUND_ID = 509562969
CART_TOKEN = "c1-7a2abe82733a34e84aa472d57fb5c3c1"
CHECKOUT_TOKEN = "2a1ace52255252df566af0faaedfbfa7"

LINE_A = {
    "id": 866550311766439020,
    "variant_id": 808950810,
    "title": "IPod Nano - 8GB",
    "name": "IPod Nano - 8GB - pink",
    "sku": "00123",
    "quantity": 1,
    "price": "199.00",
    "price_set": {
        "shop_money": {"amount": "199.00", "currency_code": "EUR"},
        "presentment_money": {"amount": "199.00", "currency_code": "EUR"},
    },
    "total_discount": "0.00",
    "discount_allocations": [
        {"amount": "19.90", "discount_application_index": 0},
    ],
    "tax_lines": [{"title": "TVA", "price": "33.17", "rate": 0.2}],
}
LINE_B = {
    "id": 141249953214522974,
    "variant_id": 49148385,
    "title": "IPod Nano - 8GB",
    "name": "IPod Nano - 8GB - red",
    "sku": "IPOD2008RED",
    "quantity": 2,
    "price": "102.00",
    "total_discount": "0.50",
    "discount_allocations": [],
    "tax_lines": [{"title": "TVA", "price": "34.00", "rate": 0.2}],
}

REFUND = {
    "id": REFUND_ID,
    "order_id": ORDER_ID,
    "created_at": "2026-01-20T13:35:06+01:00",
    "processed_at": "2026-01-20T13:35:06+01:00",
    "note": "it broke during shipping",
    "restock": True,
    "user_id": 799407056,
    "admin_graphql_api_id": f"gid://shopify/Refund/{REFUND_ID}",
    "refund_line_items": [
        {
            "id": 104689539,
            "quantity": 1,
            "line_item_id": LINE_B["id"],
            "location_id": 24826418,
            "restock_type": "return",
            "subtotal": "101.75",
            "total_tax": "20.35",
            "subtotal_set": {
                "shop_money": {"amount": "101.75", "currency_code": "EUR"},
                "presentment_money": {"amount": "101.75", "currency_code": "EUR"},
            },
            "line_item": copy.deepcopy(LINE_B),
        }
    ],
    "transactions": [
        {
            "id": 179259969,
            "order_id": ORDER_ID,
            "amount": "101.75",
            "kind": "refund",
            "gateway": "shopify_payments",
            "status": "success",
            "message": None,
            "created_at": "2026-01-20T13:35:06+01:00",
            "test": False,
            "currency": "EUR",
            "parent_id": 389404469,
        },
        {
            "id": 179259970,
            "order_id": ORDER_ID,
            "amount": "5.00",
            "kind": "refund",
            "gateway": "shopify_payments",
            "status": "failure",
            "test": False,
            "currency": "EUR",
        },
    ],
    "order_adjustments": [],
}

ORDER = {
    "id": ORDER_ID,
    "admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}",
    "name": "#9999",
    "email": "jon@example.com",
    "phone": None,
    "created_at": "2026-01-15T16:15:47-05:00",
    "updated_at": "2026-01-15T16:15:48-05:00",
    "currency": "EUR",
    "presentment_currency": "EUR",
    "financial_status": "paid",
    "total_price": "387.60",
    "total_outstanding": "0.00",
    "total_discounts": "20.40",
    "total_tax": "67.17",
    "taxes_included": True,
    "payment_gateway_names": ["shopify_payments"],
    "test": False,
    "cancelled_at": None,
    "cancel_reason": None,
    "cart_token": CART_TOKEN,
    "checkout_token": CHECKOUT_TOKEN,
    "note": None,
    "note_attributes": [
        {"name": "gift wrap", "value": "yes"},
        {"name": "brique_code", "value": "K7M4QXZ3"},
    ],
    "discount_codes": [{"code": "TENOFF", "amount": "19.90", "type": "percentage"}],
    "line_items": [copy.deepcopy(LINE_A), copy.deepcopy(LINE_B)],
    "shipping_lines": [{"title": "Standard", "price": "5.00", "code": "Standard"}],
    "customer": {
        "id": 115310627314723954,
        "email": "john@example.com",
        "phone": "+33612345678",
        "first_name": "John",
        "last_name": "Smith",
    },
    "refunds": [],
}

CART = {
    "id": CART_TOKEN,
    "token": CART_TOKEN,
    "line_items": [
        {
            "id": 704912205188288575,
            "properties": {},
            "quantity": 3,
            "variant_id": 704912205188288575,
            "key": "704912205188288575:33f11f7a1ec7d93b826de33bb54de37b",
            "discounted_price": "19.99",
            "discounts": [],
            "gift_card": False,
            "grams": 200,
            "line_price": "59.97",
            "original_line_price": "59.97",
            "original_price": "19.99",
            "price": "19.99",
            "price_set": {
                "shop_money": {"amount": "19.99", "currency_code": "EUR"},
                "presentment_money": {"amount": "21.49", "currency_code": "CHF"},
            },
            "product_id": 788032119674292922,
            "sku": "example-shirt-s",
            "taxable": True,
            "title": "Example T-Shirt - Small",
            "total_discount": "0.00",
            "vendor": "Acme",
        }
    ],
    "note": None,
    "updated_at": "2026-01-15T10:00:00.000Z",
    "created_at": "2026-01-15T09:58:00.000Z",
}

CHECKOUT = {
    "id": 450789469,
    "token": CHECKOUT_TOKEN,
    "cart_token": CART_TOKEN,
    "email": "bob.norman@example.com",
    "phone": None,
    "gateway": None,
    "buyer_accepts_marketing": False,
    "created_at": "2026-01-15T10:05:27+01:00",
    "updated_at": "2026-01-15T10:06:27+01:00",
    "completed_at": None,
    "closed_at": None,
    "currency": "EUR",
    "presentment_currency": "EUR",
    "note": None,
    "note_attributes": [{"name": "brique_code", "value": "K7M4QXZ3"}],
    "line_items": [
        {
            "key": "a9a2c8d5",
            "sku": "IPOD2008PINK",
            "variant_id": 808950810,
            "product_id": 632910392,
            "title": "IPod Nano - 8GB",
            "quantity": 1,
            "price": "199.00",
            "line_price": "199.00",
        },
        {
            "key": "b1c2d3e4",
            "sku": "IPOD2008RED",
            "variant_id": 49148385,
            "product_id": 632910392,
            "title": "IPod Nano - 8GB",
            "quantity": 2,
            "price": "199.00",
            "line_price": "398.00",
        },
    ],
    "abandoned_checkout_url": (
        "https://brique-test.myshopify.com/548380009/checkouts/"
        f"{CHECKOUT_TOKEN}/recover?key=example-secret-token"
    ),
    "total_price": "597.00",
    "customer": {
        "id": 207119551,
        "email": "bob.norman@example.com",
        "phone": "+33700000001",
        "first_name": "Bob",
        "last_name": "Norman",
    },
}


def order(**changes: Any) -> dict[str, Any]:
    """A deep copy of ``ORDER`` with top-level fields changed."""
    body = copy.deepcopy(ORDER)
    body.update(changes)
    return body


def refund(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(REFUND)
    body.update(changes)
    return body


def cart(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CART)
    body.update(changes)
    return body


def checkout(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CHECKOUT)
    body.update(changes)
    return body
