"""Web-order holds at a Tryton store (sink ``reservations``), as Tryton shows goods promised
to a customer: a draft customer shipment.

One hold (a web order's line at a store) is one ``stock.shipment.out`` in state ``draft``:

* ``reference`` ``<order_reference>#<line_no>`` (Tryton's "external identifier" of a
  shipment, searchable), customer the company's own party (its first address) -- the web
  customer is the shop's business, not the till's;
* ``warehouse`` the sale point's warehouse, ``warehouse_storage`` and ``warehouse_output``
  both the sale point's storage location, so its one move goes straight from the store's
  shelf to the sale point's customer location, with ``planned_date`` today.

Tryton counts a draft move in ``forecast_quantity`` and not in ``quantity`` (done moves):
the store's forecast drops by what web orders hold while its stock on hand stays, which is
the reservation. A new quantity is written on the draft move; 0 cancels the shipment (it
stays, cancelled, as history); a hold coming back after that is a new draft shipment.

Idempotent: a hold is found first by (reference, storage location, product) among the
shipments not cancelled, and one ``create`` call makes the shipment and its move together,
so a write repeated after a crash finds what the first one made. A shipment the store moved
on (waiting, assigned, picked, packed) is the store's now: its quantity is not changed
(the item fails, saying so) but a release still cancels it; one shipped or done left
through Tryton already, so a release changes nothing.

Item key in ``WriteResult``: ``<order_reference>#<line_no>:<sku>@<sale point id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.connector import ReservationWrite, WriteBatch, WriteResult
from bridge.errors import ConfigError, DataError
from bridge.model.base import Record
from connectors.tryton.rpc import TrytonRefusal, TrytonRpc

SINK = "reservations"
SHIPMENT = "stock.shipment.out"
MOVE = "stock.move"
LEFT = frozenset({"shipped", "done"})
"""Shipment states where the goods left the store through Tryton."""


def item_key(item: ReservationWrite) -> str:
    return f"{item.order_reference}#{item.line_no}:{item.sku}@{item.location}"


def reference(item: ReservationWrite) -> str:
    return f"{item.order_reference}#{item.line_no}"


@dataclass(frozen=True)
class _Point:
    storage: int
    customer: int
    company: int
    warehouse: int


@dataclass(frozen=True)
class _Company:
    party: int
    address: int
    currency: int


@dataclass(frozen=True)
class _Product:
    id: int
    unit: int
    price: Decimal


class ReservationSink:
    """Writes one batch of holds; reads sale points, companies and products once each."""

    def __init__(self, rpc: TrytonRpc, *, today: date | None = None) -> None:
        self.rpc = rpc
        self.today = today or datetime.now(UTC).date()
        self._points: dict[str, _Point] = {}
        self._companies: dict[int, _Company] = {}
        self._products: dict[str, _Product | None] = {}

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        items: dict[str, ReservationWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _coerce(raw, position)
            key = item_key(item)
            items.pop(key, None)  # the last word for a hold wins
            items[key] = item
        for key, item in items.items():
            try:
                result.observed[key] = self._hold(item)
                result.written += 1
            except TrytonRefusal as exc:
                result.failed[key] = str(exc)
            except DataError as exc:
                result.failed[key] = str(exc)
        return result

    # -- one hold -------------------------------------------------------------------------

    def _hold(self, item: ReservationWrite) -> dict[str, Any]:
        if item.quantity < 0:
            raise DataError(f"hold {reference(item)}: quantity {item.quantity} is negative")
        point = self._point(item.location)
        product = self._product(item.sku)
        if product is None:
            if item.quantity == 0:
                return {"held": "0"}  # nothing can be held for a product Tryton lacks
            raise DataError(f"SKU {item.sku!r} is no product code in Tryton")
        found = self._find(item, point, product)
        if found is None:
            if item.quantity == 0:
                return {"held": "0"}
            shipment = self._create(item, point, product)
            return {"shipment": shipment, "state": "draft", "held": _text(item.quantity)}
        shipment, state, moves = found
        if state in LEFT:
            return {"shipment": shipment, "state": state}
        if item.quantity == 0:
            self.rpc.call(SHIPMENT, "cancel", [[shipment]])
            return {"shipment": shipment, "state": "cancelled", "held": "0"}
        held = sum((m["quantity"] for m in moves), Decimal(0))
        if held == item.quantity:
            return {"shipment": shipment, "state": state, "held": _text(held)}
        if state != "draft" or len(moves) > 1:
            raise DataError(
                f"hold {reference(item)}: Tryton customer shipment {shipment} is {state} with "
                f"{held} (the store prepares it): change it there, Brique asked {item.quantity}"
            )
        if moves:
            self.rpc.call(MOVE, "write", [[moves[0]["id"]], {"quantity": item.quantity}])
        else:  # every move of the draft was cancelled by hand: hold again in it
            move = self._move(item, point, product)
            self.rpc.call(SHIPMENT, "write", [[shipment], {"outgoing_moves": [["create", [move]]]}])
        return {"shipment": shipment, "state": state, "held": _text(item.quantity)}

    def _find(
        self, item: ReservationWrite, point: _Point, product: _Product
    ) -> tuple[int, str, list[dict[str, Any]]] | None:
        """The hold's shipment not cancelled (newest), with its live moves of the product."""
        shipments = self.rpc.search_read(
            SHIPMENT,
            [
                ["reference", "=", reference(item)],
                ["warehouse_storage", "=", point.storage],
                ["state", "!=", "cancelled"],
            ],
            ["state", "moves"],
            order=(("id", "DESC"),),
        )
        ids = [int(m) for row in shipments for m in row.get("moves") or ()]
        moves = (
            self.rpc.search_read(
                MOVE,
                [["id", "in", ids], ["state", "!=", "cancelled"]],
                ["shipment", "product", "quantity", "state"],
            )
            if ids
            else []
        )
        for row in shipments:
            mine = [
                m
                for m in moves
                if m.get("shipment") == f"{SHIPMENT},{row['id']}" and m.get("product") == product.id
            ]
            if mine or not _has_other_product(row, moves, product):
                return int(row["id"]), str(row.get("state")), mine
        return None

    def _create(self, item: ReservationWrite, point: _Point, product: _Product) -> int:
        company = self._company(point.company)
        (shipment,) = self.rpc.call(
            SHIPMENT,
            "create",
            [
                [
                    {
                        "company": point.company,
                        "customer": company.party,
                        "delivery_address": company.address,
                        "warehouse": point.warehouse,
                        "warehouse_storage": point.storage,
                        "warehouse_output": point.storage,
                        "reference": reference(item),
                        "planned_date": self.today,
                        "outgoing_moves": [["create", [self._move(item, point, product)]]],
                    }
                ]
            ],
        )
        return int(shipment)

    def _move(self, item: ReservationWrite, point: _Point, product: _Product) -> dict[str, Any]:
        company = self._company(point.company)
        return {
            "product": product.id,
            "unit": product.unit,
            "quantity": item.quantity,
            "from_location": point.storage,
            "to_location": point.customer,
            "company": point.company,
            "unit_price": product.price,
            "currency": company.currency,
            "planned_date": self.today,
        }

    # -- what a hold needs, read once per batch -------------------------------------------

    def _point(self, location: str) -> _Point:
        if location in self._points:
            return self._points[location]
        try:
            point_id = int(str(location).strip())
        except ValueError:
            raise ConfigError(
                f"tryton: location {location!r} is not a sale point id (the mapping's "
                "locations[].ids for this connection name sale.point ids)"
            ) from None
        rows = self.rpc.search_read(
            "sale.point",
            [["id", "=", point_id]],
            ["storage_location", "customer_location", "company"],
        )
        if not rows or not rows[0].get("storage_location") or not rows[0].get("customer_location"):
            raise ConfigError(
                f"tryton: sale point {point_id} not found, or without storage or customer location"
            )
        row = rows[0]
        storage = int(row["storage_location"])
        found = _Point(
            storage=storage,
            customer=int(row["customer_location"]),
            company=int(row["company"]),
            warehouse=self._warehouse(storage),
        )
        self._points[location] = found
        return found

    def _warehouse(self, location: int) -> int:
        """The warehouse holding a storage location (its nearest ``warehouse`` parent)."""
        current: int | None = location
        for _ in range(32):
            if current is None:
                break
            (row,) = self.rpc.call("stock.location", "read", [[current], ["type", "parent"]])
            if row.get("type") == "warehouse":
                return int(row["id"])
            current = row.get("parent")
        raise ConfigError(f"tryton: stock location {location} is in no warehouse")

    def _company(self, company_id: int) -> _Company:
        if company_id in self._companies:
            return self._companies[company_id]
        (company,) = self.rpc.call("company.company", "read", [[company_id], ["party", "currency"]])
        party = int(company["party"])
        addresses = self.rpc.search_read("party.address", [["party", "=", party]], ["id"], limit=1)
        if not addresses:
            raise ConfigError(
                f"tryton: the company's party {party} has no address; a customer shipment needs "
                "one (add it in Tryton: Party > Addresses)"
            )
        found = _Company(
            party=party, address=int(addresses[0]["id"]), currency=int(company["currency"])
        )
        self._companies[company_id] = found
        return found

    def _product(self, sku: str) -> _Product | None:
        if sku not in self._products:
            rows = self.rpc.search_read(
                "product.product", [["code", "=", sku]], ["default_uom", "list_price"], limit=1
            )
            self._products[sku] = (
                _Product(
                    id=int(rows[0]["id"]),
                    unit=int(rows[0]["default_uom"]),
                    price=_price(rows[0].get("list_price")),
                )
                if rows
                else None
            )
        return self._products[sku]


def write_reservations(rpc: TrytonRpc, batch: WriteBatch) -> WriteResult:
    """The connector's ``write("reservations", batch)``."""
    return ReservationSink(rpc).write(batch)


def _has_other_product(row: dict[str, Any], moves: list[dict[str, Any]], product: _Product) -> bool:
    """A shipment of this reference whose live moves are another product's (the line's SKU
    changed): a hold of its own."""
    return any(
        m.get("shipment") == f"{SHIPMENT},{row['id']}" and m.get("product") != product.id
        for m in moves
    )


def _text(quantity: Decimal) -> str:
    return format(quantity.normalize() + Decimal(0), "f")


def _price(value: Any) -> Decimal:
    """The move's unit price (required on a customer move): the product's list price, 0
    when it has none (a till sells at its gross price; a hold is valued at nothing)."""
    return value if isinstance(value, Decimal) else Decimal(0)


def _coerce(raw: Record, position: int) -> ReservationWrite:
    try:
        if isinstance(raw, ReservationWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return ReservationWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"{SINK} batch item {position} is not a ReservationWrite: {exc}") from None
