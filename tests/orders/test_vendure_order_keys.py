"""Vendure's inbox keys: a shipment or an edit after payment reaches Brique as a new event."""

from __future__ import annotations

from connectors.vendure.orders import order_key


def key(state: str, updated: str = "2026-11-23T17:14:40.000Z") -> str | None:
    return order_key({"code": "ABC", "state": state, "updatedAt": updated})


def test_placed_and_cancelled_orders_keep_their_keys() -> None:
    assert key("PaymentSettled") == key("PaymentAuthorized") == "order/ABC/completed"
    assert key("Cancelled") == "order/ABC/cancelled"
    assert key("PaymentSettled", "2026-11-24T00:00:00.000Z") == "order/ABC/completed"


def test_later_states_are_keyed_by_state_and_time() -> None:
    assert key("Shipped") == "order/ABC/completed/Shipped@2026-11-23T17:14:40.000Z"
    assert key("Shipped") == key("Shipped")  # read again unchanged: the inbox drops it
    assert key("Delivered") != key("Shipped")
    assert key("Modifying", "2026-11-24T00:00:00.000Z") != key("Modifying")
    assert order_key({"state": "Shipped"}) is None
