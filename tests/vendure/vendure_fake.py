"""A scripted Vendure Admin API for the connector tests, served through ``responses``.

Answers are shaped as a real Vendure 3.7.3 answered (``tests/vendure/server.py``):

- ``login`` gives ``{"__typename": "CurrentUser", "id": "1", "identifier": ...}`` and the
  token in the ``vendure-auth-token`` header, or ``InvalidCredentialsError`` with
  ``errorCode: INVALID_CREDENTIALS_ERROR``, both with HTTP 200;
- a call without a valid session: ``{"errors": [{"message": "You are not currently
  authorized to perform this action", "extensions": {"code": "FORBIDDEN"}}], "data": null}``;
- ``updateProductVariants`` is one transaction: an unknown id refuses the whole call with
  ``ENTITY_NOT_FOUND`` (``No ProductVariant with the id "99" could be found``) and an
  unknown stock location with ``FOREIGN KEY constraint failed`` (no code);
- variants: ``{"id": "1", "sku": ..., "price": 1999, "currencyCode": "EUR", "stockOnHand": 10,
  "stockAllocated": 0, "stockLevels": [{"stockLocationId": "1", "stockOnHand": 10,
  "stockAllocated": 0}]}``; ``updatedAt`` has whole seconds (SQLite);
- the Shop API (``SHOP_URL``): a call without a known bearer token opens an anonymous session
  and answers its token in ``vendure-auth-token`` (``activeOrder`` is null until
  ``addItemToOrder`` creates the order); ``addItemToOrder`` beyond the stock answers
  ``InsufficientStockError`` and adds what there is; the Admin API's ``cancelOrder`` cancels an
  active order (state ``Cancelled``, ``active: false``).

Queries are recognised by their operation name (the connector names each one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import responses

URL = "http://127.0.0.1:3000/admin-api"
SHOP_URL = "http://127.0.0.1:3000/shop-api"
ACTIVE_STATES = ("AddingItems", "ArrangingPayment")
USER = "superadmin"
PASSWORD = "vendure-test-pass-5b2d"
TOKEN = "d3760009cab0bc6503338e5f35cb097fa94ae8593a739c15925b8ef18c9edd2d"
LOCATION = "1"
T0 = datetime(2026, 11, 23, 17, 14, 40, tzinfo=UTC)
FORBIDDEN = {
    "message": "You are not currently authorized to perform this action",
    "locations": [{"line": 1, "column": 2}],
    "path": ["productVariants"],
    "extensions": {"code": "FORBIDDEN"},
}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeVendure:
    def __init__(self) -> None:
        self.variants: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.locations = {LOCATION}
        self.updates: list[list[dict[str, Any]]] = []
        self.operations: list[str] = []
        self.changes = 0
        self.forced: tuple[int, dict[str, str]] | None = None
        self.failure: BaseException | None = None
        self.password = PASSWORD
        self.sessions = {TOKEN}
        self.logins = 0
        self.shop_sessions: dict[str, str | None] = {}
        """Shop API session token -> the id of its active order (None before the first item)."""
        self.shop_operations: list[str] = []
        self.shop_logins = 0
        self.now = T0 + timedelta(hours=1)
        """The time Shop API changes are stamped with (whole seconds, as on SQLite)."""

    # -- data ------------------------------------------------------------------------------

    def add_variant(
        self, sku: str, *, stock: int = 10, price: int = 1999, currency: str = "EUR"
    ) -> str:
        variant_id = str(len(self.variants) + 1)
        self.variants[variant_id] = {
            "id": variant_id,
            "sku": sku,
            "name": sku,
            "price": price,
            "currencyCode": currency,
            "levels": {LOCATION: stock},
        }
        return variant_id

    def add_order(
        self,
        code: str,
        lines: list[tuple[str, int, int]],
        *,
        updated: datetime | None = None,
        state: str = "PaymentSettled",
        email: str = "jane@example.com",
    ) -> str:
        """``lines``: (variant id, quantity, unit price with tax in minor units)."""
        order_id = str(len(self.orders) + 1)
        self.orders[order_id] = {
            "id": order_id,
            "code": code,
            "state": state,
            "updated": updated or T0 + timedelta(seconds=int(order_id)),
            "email": email,
            "lines": lines,
        }
        return order_id

    def seed(self, stream: str, count: int) -> None:
        if stream not in ("orders", "baskets"):
            raise ValueError(stream)
        variant = self.add_variant(f"SEED-{len(self.variants):04d}")
        state = "AddingItems" if stream == "baskets" else "PaymentSettled"
        for n in range(count):
            # pairs of orders share one second, as Vendure's SQLite times do
            self.add_order(
                f"SEEDORDER{len(self.orders) + 1:05d}",
                [(variant, 1, 2379)],
                updated=T0 + timedelta(seconds=n // 2),
                state=state,
            )

    # -- harness protocol -----------------------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.failure = error

    def applied_changes(self) -> int:
        return self.changes

    def write_call_sizes(self) -> list[int]:
        return [len(call) for call in self.updates]

    # -- rendering ------------------------------------------------------------------------

    def variant_json(self, variant: dict[str, Any]) -> dict[str, Any]:
        levels = [
            {"stockLocationId": loc, "stockOnHand": qty, "stockAllocated": 0}
            for loc, qty in sorted(variant["levels"].items())
        ]
        return {
            "id": variant["id"],
            "sku": variant["sku"],
            "price": variant["price"],
            "currencyCode": variant["currencyCode"],
            "stockOnHand": sum(variant["levels"].values()),
            "stockAllocated": 0,
            "stockLevels": levels,
        }

    def order_json(self, order: dict[str, Any]) -> dict[str, Any]:
        lines = []
        for variant_id, quantity, unit in order["lines"]:
            variant = self.variants[variant_id]
            lines.append(
                {
                    "id": f"{order['id']}{int(variant_id):03d}",  # stable, as Vendure's
                    "quantity": quantity,
                    "unitPriceWithTax": unit,
                    "linePriceWithTax": unit * quantity,
                    "discountedLinePriceWithTax": unit * quantity,
                    "productVariant": {
                        "id": variant_id,
                        "sku": variant["sku"],
                        "name": variant["name"],
                    },
                }
            )
        active = order["state"] in ACTIVE_STATES
        # As Vendure: a placed order cancelled later keeps orderPlacedAt, a cancelled cart has none.
        placed = not active and (order["state"] != "Cancelled" or order.get("was_placed", True))
        email = order["email"]
        return {
            "id": order["id"],
            "code": order["code"],
            "state": order["state"],
            "active": active,
            "orderPlacedAt": stamp(order["updated"] + timedelta(milliseconds=531))
            if placed
            else None,
            "createdAt": stamp(order.get("created") or order["updated"]),
            "updatedAt": stamp(order["updated"]),
            "currencyCode": "EUR",
            "totalWithTax": sum(line["linePriceWithTax"] for line in lines),
            "customer": {"id": "1", "emailAddress": email, "firstName": "", "lastName": ""}
            if email
            else None,
            "lines": lines,
        }

    # -- serving --------------------------------------------------------------------------

    @contextmanager
    def serving(self) -> Iterator[FakeVendure]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback("POST", URL, callback=self._answer)
            mock.add_callback("POST", SHOP_URL, callback=self._shop)
            yield self

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.failure is not None:
            raise self.failure
        if self.forced is not None:
            status, headers = self.forced
            return status, headers, json.dumps({"message": "forced"})
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        match = re.search(r"(?:query|mutation)\s+(\w+)", query)
        operation = match.group(1) if match else "anonymous"
        self.operations.append(operation)
        if operation == "BriqueLogin":
            return self._login(variables)
        authorization = request.headers.get("Authorization", "")
        if authorization.removeprefix("Bearer ") not in self.sessions:
            if operation == "BriqueCheck":
                return self._ok({"activeAdministrator": None})
            return 200, {}, json.dumps({"errors": [FORBIDDEN], "data": None})
        if operation == "BriqueCheck":
            return self._ok({"activeAdministrator": {"id": "1", "emailAddress": USER}})
        if operation in ("BriqueVariantsBySku", "BriqueVariantsById"):
            if operation == "BriqueVariantsById":
                field, wanted = "id", variables["ids"]
            else:
                field, wanted = "sku", variables["skus"]
            items = [self.variant_json(v) for v in self.variants.values() if v[field] in wanted]
            items = items[: variables["take"]]
            return self._ok({"productVariants": {"totalItems": len(items), "items": items}})
        if operation == "BriqueUpdateVariants":
            return self._update(variables["input"])
        if operation == "BriqueOrders":
            after = datetime.fromisoformat(variables["after"].replace("Z", "+00:00"))
            chosen = sorted(
                (o for o in self.orders.values() if o["updated"] > after),
                key=lambda o: (o["updated"], int(o["id"])),
            )
            items = [self.order_json(o) for o in chosen[: variables["take"]]]
            return self._ok({"orders": {"totalItems": len(chosen), "items": items}})
        if operation == "BriqueActiveOrders":
            after = datetime.fromisoformat(variables["after"].replace("Z", "+00:00"))
            chosen = sorted(
                (
                    o
                    for o in self.orders.values()
                    if o["updated"] > after and o["state"] in ACTIVE_STATES
                ),
                key=lambda o: (o["updated"], int(o["id"])),
            )
            items = [self.order_json(o) for o in chosen[: variables["take"]]]
            return self._ok({"orders": {"totalItems": len(chosen), "items": items}})
        if operation == "BriqueOrderByCode":
            found = [o for o in self.orders.values() if o["code"] == variables["code"]]
            items = [
                {k: self.order_json(o)[k] for k in ("id", "code", "state", "active")} for o in found
            ]
            return self._ok({"orders": {"items": items}})
        if operation == "BriqueCancelOrder":
            return self._cancel(variables["id"])
        return 200, {}, json.dumps({"errors": [{"message": f"unknown {operation}"}]})

    def _ok(self, data: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})

    def _login(self, variables: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        self.logins += 1
        if variables.get("username") != USER or variables.get("password") != self.password:
            result = {
                "__typename": "InvalidCredentialsError",
                "errorCode": "INVALID_CREDENTIALS_ERROR",
                "message": "The provided credentials are invalid",
            }
            return self._ok({"login": result})
        token = f"{TOKEN[:-4]}{self.logins:04d}"
        self.sessions.add(token)
        headers = {
            "Content-Type": "application/json",
            "Access-Control-Expose-Headers": "vendure-auth-token",
            "vendure-auth-token": token,
        }
        user = {"__typename": "CurrentUser", "id": "1", "identifier": USER}
        return 200, headers, json.dumps({"data": {"login": user}})

    def _update(self, inputs: list[dict[str, Any]]) -> tuple[int, dict[str, str], str]:
        self.updates.append(inputs)
        for item in inputs:  # one transaction: check everything first
            if item["id"] not in self.variants:
                error = {
                    "message": f'No ProductVariant with the id "{item["id"]}" could be found',
                    "path": ["updateProductVariants"],
                    "extensions": {"code": "ENTITY_NOT_FOUND"},
                }
                return 200, {}, json.dumps({"errors": [error], "data": None})
            for level in item.get("stockLevels") or ():
                if level["stockLocationId"] not in self.locations:
                    error = {
                        "message": "FOREIGN KEY constraint failed",
                        "path": ["updateProductVariants"],
                    }
                    return 200, {}, json.dumps({"errors": [error], "data": None})
            if "price" in item and not isinstance(item["price"], int):
                error = {"message": "Int cannot represent non-integer value"}
                return 200, {}, json.dumps({"errors": [error]})
        answer = []
        for item in inputs:
            variant = self.variants[item["id"]]
            for level in item.get("stockLevels") or ():
                if variant["levels"].get(level["stockLocationId"]) != level["stockOnHand"]:
                    self.changes += 1
                variant["levels"][level["stockLocationId"]] = level["stockOnHand"]
            if "price" in item:
                if variant["price"] != item["price"]:
                    self.changes += 1
                variant["price"] = item["price"]
            answer.append(self.variant_json(variant))
        return self._ok({"updateProductVariants": answer})

    # -- admin: cancelling ----------------------------------------------------------------

    def _cancel(self, order_id: str) -> tuple[int, dict[str, str], str]:
        order = self.orders.get(order_id)
        if order is None:
            error = {"message": f'No Order with the id "{order_id}" could be found'}
            return 200, {}, json.dumps({"errors": [error], "data": None})
        if order["state"] == "Cancelled":
            result = {
                "__typename": "OrderStateTransitionError",
                "errorCode": "ORDER_STATE_TRANSITION_ERROR",
                "message": 'Cannot transition Order from "Cancelled" to "Cancelled"',
            }
            return self._ok({"cancelOrder": result})
        order["was_placed"] = order["state"] not in ACTIVE_STATES
        order["state"] = "Cancelled"
        order["updated"] = self.now
        body = self.order_json(order)
        result = {"__typename": "Order", **{k: body[k] for k in ("id", "code", "state", "active")}}
        return self._ok({"cancelOrder": result})

    # -- the Shop API ---------------------------------------------------------------------

    def _shop(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.failure is not None:
            raise self.failure
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        match = re.search(r"(?:query|mutation)\s+(\w+)", query)
        operation = match.group(1) if match else "anonymous"
        self.shop_operations.append(operation)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        headers = {"Content-Type": "application/json"}
        if token not in self.shop_sessions:
            self.shop_logins += 1
            token = f"shop-session-{self.shop_logins:04d}"
            self.shop_sessions[token] = None
            headers["vendure-auth-token"] = token
        order_id = self.shop_sessions[token]
        order = self.orders.get(order_id) if order_id else None
        if order is not None and order["state"] not in ACTIVE_STATES:
            order = None
        if operation == "BriqueActiveOrder":
            data = {"activeOrder": self.order_json(order) if order else None}
        elif operation == "BriqueAddItem":
            data = {"addItemToOrder": self._add(token, order, variables)}
        elif operation in ("BriqueAdjustLine", "BriqueRemoveLine"):
            wanted = 0 if operation == "BriqueRemoveLine" else variables["quantity"]
            field = "removeOrderLine" if wanted == 0 else "adjustOrderLine"
            data = {field: self._adjust(order, variables["line"], wanted)}
        elif operation == "BriqueSetCustomer":
            if order is None:
                data = {"setCustomerForOrder": {"__typename": "NoActiveOrderError"}}
            else:
                order["email"] = variables["input"]["emailAddress"]
                data = {"setCustomerForOrder": {"__typename": "Order"}}
        else:
            return 200, headers, json.dumps({"errors": [{"message": f"unknown {operation}"}]})
        return 200, headers, json.dumps({"data": data})

    def _add(self, token: str, order: Any, variables: dict[str, Any]) -> dict[str, Any]:
        variant = self.variants.get(variables["variant"])
        if variant is None:
            return {"__typename": "ProductVariantNotFound", "errorCode": "X", "message": "no"}
        if order is None:
            order_id = self.add_order(
                f"ACTIVE{len(self.orders) + 1:010d}",
                [],
                updated=self.now,
                state="AddingItems",
                email="",
            )
            order = self.orders[order_id]
            order["created"] = self.now
            self.shop_sessions[token] = order_id
        held = sum(variant["levels"].values())
        present = next(
            (n for n, line in enumerate(order["lines"]) if line[0] == variant["id"]), None
        )
        before = order["lines"][present][1] if present is not None else 0
        quantity = min(before + variables["quantity"], held)
        line = (variant["id"], quantity, round(variant["price"] * 1.19))
        if present is None:
            order["lines"].append(line)
        else:
            order["lines"][present] = line
        order["updated"] = self.now
        if quantity < before + variables["quantity"]:
            return {
                "__typename": "InsufficientStockError",
                "errorCode": "INSUFFICIENT_STOCK_ERROR",
                "message": f"Only {held} items were added to the order due to insufficient stock",
            }
        return {"__typename": "Order", **self.order_json(order)}

    def _adjust(self, order: Any, line_id: str, quantity: int) -> dict[str, Any]:
        if order is None:
            return {"__typename": "NoActiveOrderError", "errorCode": "NO_ACTIVE_ORDER_ERROR"}
        lines = self.order_json(order)["lines"]
        position = next((n for n, line in enumerate(lines) if line["id"] == line_id), None)
        if position is None:
            return {"__typename": "OrderModificationError", "errorCode": "ORDER_MODIFICATION_ERROR"}
        variant, _, unit = order["lines"][position]
        if quantity == 0:
            del order["lines"][position]
        else:
            order["lines"][position] = (variant, quantity, unit)
        order["updated"] = self.now
        return {"__typename": "Order", **self.order_json(order)}
