"""Test doubles for the Shopify connector: a fake clock and a scripted Admin GraphQL API.

The scripted API answers through ``responses`` with the payload shapes Shopify documents for
the Admin GraphQL API (``data``, ``errors[].extensions.code``, ``extensions.cost``), written
here by hand rather than recorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from decimal import Decimal
from typing import Any

from bridge.connector import PriceWrite, StockWrite, WebhookRequest
from bridge.model import Money
from connectors.shopify import ShopifyConfig

SHOP_URL = "https://brique-test.myshopify.com"
GRAPHQL_URL = f"{SHOP_URL}/admin/api/2026-01/graphql.json"
TOKEN = "shpat_test_0123456789abcdef"
WEBHOOK_SECRET = "whsec_test_fedcba9876543210"
LOC_A = "gid://shopify/Location/24826418"
LOC_B = "gid://shopify/Location/24826419"


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # A real sleep always lets some time pass; without a floor a sub-ulp sleep would not
        # move a float clock at all and RateLimiter.acquire would spin on rounding dust.
        self.now += max(seconds, 1e-6)


def cost(
    requested: float = 10,
    actual: float | None = 10,
    available: float = 1990,
    maximum: float = 2000.0,
    restore: float = 100.0,
) -> dict[str, Any]:
    """``extensions.cost`` as Shopify returns it on every Admin GraphQL answer."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": maximum,
                "currentlyAvailable": available,
                "restoreRate": restore,
            },
        }
    }


def throttled_body(requested: float, available: float, restore: float = 100.0) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": cost(requested, None, available, restore=restore),
    }


def operation_of(query: str) -> str:
    match = re.search(r"\b(?:query|mutation)\s+(\w+)", query)
    return match.group(1) if match else "anonymous"


class ScriptedShop:
    """A ``responses`` callback answering the connector's operations like Shopify would."""

    def __init__(self, catalog: dict[str, str]) -> None:
        self.catalog = catalog
        """sku -> InventoryItem GID."""
        self.levels: dict[tuple[str, str], int] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.mutation_errors: list[list[dict[str, Any]]] = []
        """userErrors to answer successive mutations with (empty list = success)."""
        self.before: list[tuple[int, dict[str, Any]]] = []
        """Raw (status, body) answers served first, whatever the operation."""
        self.available = 1990.0
        self.restore = 100.0
        self.currency: str | None = "EUR"
        """What ``shop.currencyCode`` answers; None answers without it."""
        self.variants_per_product = 3
        """Catalog SKUs in order, this many per product (so 000000-000002 share one)."""
        self.prices: dict[str, dict[str, Any]] = {}
        """ProductVariant GID -> the ProductVariantsBulkInput fields last applied."""
        self.price_errors: list[list[dict[str, Any]]] = []
        """userErrors to answer successive productVariantsBulkUpdate calls with."""

    def operations(self, name: str) -> list[dict[str, Any]]:
        return [variables for op, variables in self.calls if op == name]

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        operation = operation_of(body["query"])
        variables = body.get("variables") or {}
        self.calls.append((operation, variables))
        if self.before:
            status, raw = self.before.pop(0)
            return status, {"Content-Type": "application/json"}, json.dumps(raw)
        handler = {
            "BriqueCheck": self._check,
            "BriqueShopCurrency": self._currency,
            "BriqueSkuLookup": self._lookup,
            "BriqueVariantLookup": self._variant_lookup,
            "BriqueSetStock": self._set,
            "BriqueSetPrices": self._set_prices,
            "BriqueLevels": self._levels,
        }[operation]
        data, requested = handler(variables)
        answer = {"data": data, "extensions": cost(requested, requested, self.available)}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def ids(self, sku: str) -> tuple[str, str]:
        """(Product GID, ProductVariant GID) of a catalog SKU."""
        position = list(self.catalog).index(sku)
        return (
            f"gid://shopify/Product/{8000000 + position // self.variants_per_product}",
            f"gid://shopify/ProductVariant/{9000000 + position}",
        )

    def _check(self, _: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return {"shop": {"name": "Brique Test Shop", "currencyCode": self.currency}}, 1

    def _currency(self, _: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return {"shop": {"currencyCode": self.currency}}, 1

    def _variant_lookup(self, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
        wanted = [
            re.sub(r"\\(.)", r"\1", raw)
            for raw in re.findall(r"sku:'((?:[^'\\]|\\.)*)'", variables["query"])
        ]
        nodes = []
        for sku in wanted:
            if sku in self.catalog:
                product, variant = self.ids(sku)
                nodes.append({"id": variant, "sku": sku, "product": {"id": product}})
        page = {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjo0Mn0=" if nodes else None}
        return {"productVariants": {"nodes": nodes, "pageInfo": page}}, 2 + 2 * variables["first"]

    def _set_prices(self, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
        errors = self.price_errors.pop(0) if self.price_errors else []
        variants = variables["variants"]
        updated = []
        if not errors:
            skus = {self.ids(sku)[1]: sku for sku in self.catalog}
            for fields in variants:
                current = self.prices.setdefault(fields["id"], {})
                current.update({k: v for k, v in fields.items() if k != "id"})
                updated.append(
                    {
                        "id": fields["id"],
                        "sku": skus.get(fields["id"]),
                        "price": current.get("price"),
                        "compareAtPrice": current.get("compareAtPrice"),
                    }
                )
        payload = {
            "product": {"id": variables["productId"]},
            "productVariants": updated,
            "userErrors": errors,
        }
        # 10 + 0.2 per variant (Shopify's dynamic complexity) + productVariants + userErrors
        return {"productVariantsBulkUpdate": payload}, 10 + math.ceil(0.2 * len(variants)) + 2

    def _lookup(self, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
        wanted = [
            re.sub(r"\\(.)", r"\1", raw)
            for raw in re.findall(r"sku:'((?:[^'\\]|\\.)*)'", variables["query"])
        ]
        nodes = [
            {"sku": sku, "inventoryItem": {"id": self.catalog[sku]}}
            for sku in wanted
            if sku in self.catalog
        ]
        page = {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjo0Mn0=" if nodes else None}
        return {"productVariants": {"nodes": nodes, "pageInfo": page}}, 2 + 2 * variables["first"]

    def _set(self, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
        errors = self.mutation_errors.pop(0) if self.mutation_errors else []
        group = None
        if not errors:
            data = variables["input"]
            for quantity in data["quantities"]:
                key = (quantity["inventoryItemId"], quantity["locationId"])
                self.levels[key] = quantity["quantity"]
            group = {
                "createdAt": "2026-01-15T10:00:00Z",
                "reason": data["reason"],
                "referenceDocumentUri": data.get("referenceDocumentUri"),
            }
        payload = {"inventoryAdjustmentGroup": group, "userErrors": errors}
        return {"inventorySetQuantities": payload}, 12

    def _levels(self, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
        data = {}
        count = len([k for k in variables if k.startswith("i")])
        for n in range(count):
            item, location = variables[f"i{n}"], variables[f"l{n}"]
            if item not in self.catalog.values():
                data[f"q{n}"] = None
                continue
            quantity = self.levels.get((item, location), 0)
            data[f"q{n}"] = {
                "inventoryLevel": {"quantities": [{"name": "available", "quantity": quantity}]}
            }
        return data, 3 * count


def make_config(**overrides: Any) -> ShopifyConfig:
    settings: dict[str, Any] = {
        "shop_url": SHOP_URL,
        "access_token": TOKEN,
        "webhook_secret": WEBHOOK_SECRET,
    }
    settings.update(overrides)
    return ShopifyConfig.model_validate(settings)


def stock_writes(
    skus: list[str], location: str = LOC_A, quantity: int = 5, previous: int | None = None
) -> list[StockWrite]:
    return [
        StockWrite(
            sku=sku,
            location=location,
            quantity=Decimal(quantity + n % 7),
            previous=None if previous is None else Decimal(previous),
        )
        for n, sku in enumerate(skus)
    ]


def price_writes(
    skus: list[str], amount: str = "19.90", currency: str = "EUR", **fields: Any
) -> list[PriceWrite]:
    """One price per SKU; ``fields`` (if any) become every item's native fields."""
    return [
        PriceWrite(
            sku=sku,
            price=Money(amount=Decimal(amount), currency=currency),
            fields=dict(fields),
        )
        for sku in skus
    ]


class UniqueBindings:
    """The binding table's rule, unique both ways per entity, that the default fake skips."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}
        self.puts = 0

    def get_external(self, entity: str, internal_id: str) -> str | None:
        return self.rows.get((entity, internal_id))

    def get_internal(self, entity: str, external_id: str) -> str | None:
        for (kind, internal), external in self.rows.items():
            if kind == entity and external == external_id:
                return internal
        return None

    def put(self, entity: str, internal_id: str, external_id: str) -> None:
        holder = self.get_internal(entity, external_id)
        if holder is not None and holder != internal_id:
            raise AssertionError(
                f"binding {entity} {external_id} already held by {holder}: "
                "uq_bindings_external would refuse it"
            )
        self.rows[(entity, internal_id)] = external_id
        self.puts += 1


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(topic: str, payload: dict[str, Any], **headers: str) -> WebhookRequest:
    body = json.dumps(payload).encode()
    base = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Shop-Domain": "brique-test.myshopify.com",
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-01-15T16:15:48.123456789Z",
    }
    base.update(headers)
    return WebhookRequest(headers={k: v for k, v in base.items() if v}, body=body)
