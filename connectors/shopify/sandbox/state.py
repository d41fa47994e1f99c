"""The shop behind the sandbox: locations, products, variants with prices, levels, history.

``SandboxState.set_quantities`` holds the ``inventorySetQuantities`` semantics the connector
must survive: compare-and-swap, userErrors with codes and field paths, all-or-nothing.
``SandboxState.update_variants`` holds ``productVariantsBulkUpdate``'s: one product per call,
userErrors naming ``["variants", "<index>", field]``, all-or-nothing unless
``allowPartialUpdates``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from connectors.shopify.sandbox.cost import LeakyBucket

QUANTITY_LIMIT = 1_000_000_000
QUANTITY_NAMES = ("available", "on_hand", "committed", "reserved", "incoming")
SETTABLE_NAMES = frozenset({"available", "on_hand"})
VALID_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
URI_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")
DEFAULT_PRICE = "0.00"
DEFAULT_CURRENCY = "EUR"
CENT = Decimal("0.01")


def money_text(value: Any) -> str:
    """A Money value as Shopify shows it ("19.9" -> "19.90"); ValueError if not a number.

    The sandbox keeps two decimals whatever the currency (a simplification)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{value!r} is not a decimal amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a decimal amount")
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version_at_least(version: str, minimum: str) -> bool:
    return version == "unstable" or version >= minimum


class SandboxState:
    """Locations, variants, levels, the cost bucket and what happened: one lock guards all."""

    def __init__(
        self,
        seed: Mapping[str, Any],
        *,
        max_available: float = 2000,
        restore_rate: float = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.bucket = LeakyBucket(max_available, restore_rate, clock)
        shop = seed.get("shop") or {}
        self.shop_name = shop.get("name", "Brique sandbox") if isinstance(shop, Mapping) else shop
        self.currency = (
            shop.get("currency") or DEFAULT_CURRENCY
            if isinstance(shop, Mapping)
            else DEFAULT_CURRENCY
        )
        self.locations: dict[str, str] = {}
        for n, location in enumerate(seed.get("locations") or (), start=1):
            if isinstance(location, str):
                location = {"id": location}
            gid = location.get("id") or f"gid://shopify/Location/{n}"
            self.locations[gid] = location.get("name") or f"Location {n}"
        self.variants: list[dict[str, Any]] = []
        raw_variants = seed.get("variants") or ()
        if isinstance(raw_variants, Mapping):
            raw_variants = [{"sku": k, "inventory_item": v} for k, v in raw_variants.items()]
        self.products: dict[str, str] = {}
        """Product GID -> title. A variant seeded without a product is alone in its own."""
        for n, variant in enumerate(raw_variants, start=1):
            title = variant.get("title") or str(variant.get("sku") or f"Variant {n}")
            product = variant.get("product") or f"gid://shopify/Product/{n}"
            self.products.setdefault(product, variant.get("product_title") or title)
            compare_at = variant.get("compare_at_price", variant.get("compareAtPrice"))
            self.variants.append(
                {
                    "id": variant.get("id") or f"gid://shopify/ProductVariant/{n}",
                    "sku": variant.get("sku"),
                    "title": title,
                    "inventory_item": variant.get("inventory_item")
                    or f"gid://shopify/InventoryItem/{n}",
                    "product": product,
                    "price": money_text(variant.get("price", DEFAULT_PRICE)),
                    "compare_at": None if compare_at is None else money_text(compare_at),
                    "taxable": bool(variant.get("taxable", True)),
                }
            )
        self.items = {v["inventory_item"]: v for v in self.variants}
        self.variant_ids = {v["id"]: v for v in self.variants}
        self.levels: dict[tuple[str, str], dict[str, int]] = {
            (item, location): {"available": 0, "on_hand": 0}
            for item in self.items
            for location in self.locations
        }
        for level in seed.get("levels") or ():
            self.set_level(level["sku"], level["location"], int(level["available"]))
        self.idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=500)
        """``inventorySetQuantities`` calls; price updates have their own ``price_history``."""
        self.price_history: deque[dict[str, Any]] = deque(maxlen=500)
        self.stats = {
            "requests": 0,
            "unauthorized": 0,
            "throttled": 0,
            "cost_used": 0,
            "mutations": 0,
            "writes_applied": 0,
            "idempotent_replays": 0,
            "price_mutations": 0,
            "prices_applied": 0,
        }
        self._groups = 0

    # Helpers for people and tests -------------------------------------------------------

    def item_for(self, sku: str) -> str:
        for variant in self.variants:
            if variant["sku"] == sku:
                return variant["inventory_item"]
        raise KeyError(f"no variant with SKU {sku!r}")

    def set_level(self, sku: str, location: str, available: int) -> None:
        """Change a level out of band, as a sale in the shop would."""
        with self.lock:
            level = self.levels[(self.item_for(sku), location)]
            delta = available - level["available"]
            level["available"] = available
            level["on_hand"] += delta

    def level_rows(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "sku": self.items[item]["sku"],
                    "location": location,
                    "location_name": self.locations[location],
                    "available": values["available"],
                    "on_hand": values["on_hand"],
                }
                for (item, location), values in sorted(
                    self.levels.items(), key=lambda kv: (str(self.items[kv[0][0]]["sku"]), kv[0][1])
                )
            ]

    def variant_for(self, sku: str) -> dict[str, Any]:
        for variant in self.variants:
            if variant["sku"] == sku:
                return variant
        raise KeyError(f"no variant with SKU {sku!r}")

    def price_rows(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "sku": v["sku"],
                    "variant": v["id"],
                    "product": v["product"],
                    "product_title": self.products[v["product"]],
                    "price": v["price"],
                    "compare_at_price": v["compare_at"],
                    "currency": self.currency,
                }
                for v in sorted(self.variants, key=lambda v: str(v["sku"]))
            ]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.stats,
                "throttle_status": self.bucket.status(),
                "history": list(self.history),
                "price_history": list(self.price_history),
            }

    # GraphQL objects --------------------------------------------------------------------

    def location_obj(self, gid: str) -> dict[str, Any]:
        return {"id": gid, "name": self.locations[gid], "isActive": True}

    def variant_obj(self, variant: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": variant["id"],
            "sku": variant["sku"],
            "title": variant["title"],
            "price": variant["price"],
            "compareAtPrice": variant["compare_at"],
            "taxable": variant["taxable"],
            "product": lambda _info: self.product_obj(variant["product"]),
            "inventoryItem": lambda _info: self.item_obj(variant["inventory_item"]),
        }

    def product_obj(self, gid: str) -> dict[str, Any]:
        return {"id": gid, "title": self.products[gid]}

    def item_obj(self, gid: str) -> dict[str, Any]:
        variant = self.items[gid]

        def inventory_level(_info: GraphQLResolveInfo, locationId: str) -> Any:
            return self.level_obj(gid, locationId)

        return {
            "id": gid,
            "sku": variant["sku"],
            "tracked": True,
            "variant": lambda _info: self.variant_obj(variant),
            "inventoryLevel": inventory_level,
        }

    def level_obj(self, item: str, location: str) -> dict[str, Any] | None:
        values = self.levels.get((item, location))
        if values is None:
            return None

        def quantities(_info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
            unknown = [name for name in names if name not in QUANTITY_NAMES]
            if unknown:
                raise GraphQLError(f"invalid quantity names: {', '.join(unknown)}")
            return [{"name": name, "quantity": values.get(name, 0)} for name in names]

        number = item.rsplit("/", 1)[-1]
        return {
            "id": f"gid://shopify/InventoryLevel/{number}?inventory_item_id={number}",
            "location": lambda _info: self.location_obj(location),
            "item": lambda _info: self.item_obj(item),
            "quantities": quantities,
        }

    # The mutation -----------------------------------------------------------------------

    def set_quantities(self, data: Mapping[str, Any], version: str) -> dict[str, Any]:
        """Validate everything first; apply all or nothing, as Shopify does."""
        errors: list[dict[str, Any]] = []

        def refuse(code: str, path: list[str], message: str) -> None:
            errors.append({"code": code, "field": path, "message": message})

        name = data["name"]
        if name not in SETTABLE_NAMES:
            refuse("INVALID_NAME", ["input", "name"], f"The quantity name {name!r} is not valid.")
        if data["reason"] not in VALID_REASONS:
            refuse("INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
        uri = data.get("referenceDocumentUri")
        if uri is not None and not URI_PATTERN.match(uri):
            refuse(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "The reference document URI is not a valid URI.",
            )
        ignore = bool(data.get("ignoreCompareQuantity"))
        changes: list[tuple[str, str, int]] = []
        for n, quantity in enumerate(data["quantities"]):
            path = ["input", "quantities", str(n)]
            item, location = quantity["inventoryItemId"], quantity["locationId"]
            if item not in self.items:
                refuse(
                    "INVALID_INVENTORY_ITEM",
                    [*path, "inventoryItemId"],
                    "The inventory item could not be found.",
                )
                continue
            if location not in self.locations:
                refuse(
                    "INVALID_LOCATION", [*path, "locationId"], "The location could not be found."
                )
                continue
            target = quantity["quantity"]
            if target > QUANTITY_LIMIT:
                refuse(
                    "INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"], "The quantity is too high."
                )
                continue
            if target < -QUANTITY_LIMIT:
                refuse("INVALID_QUANTITY_TOO_LOW", [*path, "quantity"], "The quantity is too low.")
                continue
            current = self.levels[(item, location)].get(name, 0) if name in SETTABLE_NAMES else 0
            if "changeFromQuantity" in quantity:
                expected = quantity["changeFromQuantity"]
                if expected is not None and expected != current:
                    refuse(
                        "CHANGE_FROM_QUANTITY_STALE",
                        [*path, "changeFromQuantity"],
                        f"The changeFromQuantity ({expected}) no longer matches the "
                        f"persisted quantity.",
                    )
                    continue
            elif _version_at_least(version, "2026-04"):
                # Shopify requires the field from 2026-04; the exact code is the sandbox's guess.
                refuse(
                    "CHANGE_FROM_QUANTITY_REQUIRED",
                    [*path, "changeFromQuantity"],
                    "changeFromQuantity must be passed (null to opt out of the check).",
                )
                continue
            elif not ignore:
                expected = quantity.get("compareQuantity")
                if expected is None:
                    refuse(
                        "COMPARE_QUANTITY_REQUIRED",
                        [*path, "compareQuantity"],
                        "compareQuantity is required unless ignoreCompareQuantity is true.",
                    )
                    continue
                if expected != current:
                    refuse(
                        "COMPARE_QUANTITY_STALE",
                        [*path, "compareQuantity"],
                        "The compareQuantity argument no longer matches the persisted quantity.",
                    )
                    continue
            changes.append((item, location, target))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        applied = []
        for item, location, target in changes:
            level = self.levels[(item, location)]
            delta = target - level[name]
            level[name] = target
            other = "on_hand" if name == "available" else "available"
            level[other] += delta
            applied.append(
                {
                    "name": name,
                    "delta": delta,
                    "quantityAfterChange": target,
                    "item": self.item_obj(item),
                    "location": self.location_obj(location),
                }
            )
        self.stats["writes_applied"] += len(applied)
        self._groups += 1
        group = {
            "id": f"gid://shopify/InventoryAdjustmentGroup/{self._groups}",
            "createdAt": _now(),
            "reason": data["reason"],
            "referenceDocumentUri": uri,
            "changes": applied,
        }
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    def update_variants(
        self, product: str, inputs: list[Mapping[str, Any]], *, partial: bool = False
    ) -> dict[str, Any]:
        """``productVariantsBulkUpdate``: validate every variant, then apply all or nothing
        (or, with ``partial``, the valid ones). A Money that is not a number is a GraphQL
        error, as Shopify's input coercion makes it; a negative one is a userError."""
        errors: list[dict[str, Any]] = []

        def refuse(code: str, path: list[str], message: str) -> None:
            errors.append({"code": code, "field": path, "message": message})

        if product not in self.products:
            refuse("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")
            return {"product": None, "productVariants": None, "userErrors": errors}
        changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for n, data in enumerate(inputs):
            path = ["variants", str(n)]
            ident = data.get("id")
            if not ident:
                refuse("PRODUCT_VARIANT_ID_MISSING", [*path, "id"], "Product variant is missing ID")
                continue
            variant = self.variant_ids.get(ident)
            # A variant of another product: Shopify's exact code here is the sandbox's guess.
            if variant is None or variant["product"] != product:
                refuse(
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    [*path, "id"],
                    "Product variant does not exist",
                )
                continue
            update: dict[str, Any] = {}
            valid = True
            for name, key in (("price", "price"), ("compareAtPrice", "compare_at")):
                if name not in data:
                    continue
                value = data[name]
                if value is None:
                    if name == "price":
                        refuse("BLANK", [*path, name], "Price can't be blank")
                        valid = False
                    else:
                        update[key] = None  # null clears the compare-at price
                    continue
                try:
                    text = money_text(value)
                except ValueError as exc:
                    raise GraphQLError(
                        f"Variable $variants of type [ProductVariantsBulkInput!]! was provided "
                        f"invalid value for {n}.{name} ({exc})",
                        extensions={"code": "INVALID_VARIABLE"},
                    ) from None
                if Decimal(text) < 0:
                    refuse(
                        "GREATER_THAN_OR_EQUAL_TO",
                        [*path, name],
                        f"{name} must be greater than or equal to 0",
                    )
                    valid = False
                    continue
                update[key] = text
            if data.get("taxable") is not None:
                update["taxable"] = bool(data["taxable"])
            if valid:
                changes.append((variant, update))
        if errors and not partial:
            return {
                "product": self.product_obj(product),
                "productVariants": [],
                "userErrors": errors,
            }
        for variant, update in changes:
            variant.update(update)
        self.stats["prices_applied"] += len(changes)
        return {
            "product": self.product_obj(product),
            "productVariants": [self.variant_obj(variant) for variant, _ in changes],
            "userErrors": errors,
        }
