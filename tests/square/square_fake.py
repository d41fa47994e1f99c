"""A scripted Square seller behind ``responses``: the endpoints the connector calls, with
Square's documented rules enforced (limits, cursors bound to their query, idempotency keys
that replay the first answer and refuse other data, all-or-nothing inventory batches).

Also the contract kit's harness: forced statuses, network failures, webhook signing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import responses

from connectors.square import webhooks

DATA = Path(__file__).parent / "data"
BASE_URL = "https://connect.squareupsandbox.com"
TOKEN = "EAAAl-square-sandbox-token-0123456789"
SIGNATURE_KEY = "square-signature-key-0123456789"
NOTIFICATION_URL = "https://brique.example.com/webhooks/tills"
LOC_NY = "LQXDZ2N3P7S2A"
LOC_PARIS = "L88917AVBK2S5"
LOC_TOKYO = "LTOKYO1GINZA9"

ITEM_SHIRT = "W62UWFY35CWMYGVWK6TWJDNI"
ITEM_COFFEE = "AII2KS3VR2TUSDFZRJU4OSB2"
ITEM_MATCHA = "HGWDZKRO5ZRIRB2ORLLXEYQQ"
CATALOG = {
    ITEM_SHIRT: "LINEN-L-SAND",
    ITEM_COFFEE: "COFFEE-HOUSE-LB",
    ITEM_MATCHA: "MATCHA-40G",
}
"""Variation id -> SKU of the fixtures' items."""


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def settings(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "access_token": TOKEN,
        "environment": "sandbox",
        "location_ids": [LOC_NY, LOC_TOKYO],
        "webhook_signature_key": SIGNATURE_KEY,
        "notification_url": NOTIFICATION_URL,
        "start_at": "2026-11-01T00:00:00Z",
        "overlap_seconds": 0,
    }
    base.update(overrides)
    return base


def sign(body: bytes, key: str = SIGNATURE_KEY, url: str = NOTIFICATION_URL) -> str:
    return webhooks.signature(key, url, body)


def _error(status: int, code: str, detail: str, field: str | None = None) -> tuple:
    category = {
        400: "INVALID_REQUEST_ERROR",
        401: "AUTHENTICATION_ERROR",
        404: "INVALID_REQUEST_ERROR",
        429: "RATE_LIMIT_ERROR",
    }.get(status, "API_ERROR")
    error = {"category": category, "code": code, "detail": detail}
    if field:
        error["field"] = field
    return status, {"Content-Type": "application/json"}, json.dumps({"errors": [error]})


class FakeSquare:
    """The seller's data and Square's rules; ``__call__`` is the ``responses`` callback."""

    def __init__(self) -> None:
        self.locations = load("locations.json")["locations"]
        self.orders: dict[str, dict[str, Any]] = {}
        self.variations: dict[str, str] = dict(CATALOG)  # id -> sku
        self.counts: dict[tuple[str, str], Decimal] = {}
        self.keys: dict[str, tuple[str, tuple]] = {}
        self.applied = 0
        self.sizes: list[int] = []
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None
        self.refuse_items: set[str] = set()
        """Variation ids whose changes Square refuses (e.g. not tracked)."""
        self.cursor_loop = False
        """Answer every SearchOrders page with the same cursor (a broken paginator)."""

    # -- seeding --------------------------------------------------------------------------

    def add_order(self, order: Mapping[str, Any]) -> None:
        self.orders[str(order["id"])] = copy.deepcopy(dict(order))

    def add_variations(self, skus: Mapping[str, str]) -> None:
        self.variations.update(skus)

    def seed(self, stream: str, count: int) -> None:
        """Kit ``StreamSource``: ``count`` completed orders updated one minute apart."""
        assert stream == "orders"
        base = load("order_card_cash.json")
        start = len(self.orders)
        for n in range(start, start + count):
            order = copy.deepcopy(base)
            order["id"] = f"SEEDORDER{n:05d}xxxxxxxxxxxxxxxx"
            order["updated_at"] = f"2026-11-20T{8 + n // 60:02d}:{n % 60:02d}:00.000Z"
            order["closed_at"] = order["updated_at"]
            order["version"] = 1 + n % 3
            self.add_order(order)

    # -- kit harness ----------------------------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    def applied_changes(self) -> int:
        return self.applied

    def write_call_sizes(self) -> list[int]:
        return list(self.sizes)

    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        order = load("order_card_cash.json")
        order["id"] = "HOOK" + hashlib.sha256(delivery_id.encode()).hexdigest()[:24]
        self.add_order(order)
        event = load("webhook_order_updated.json")
        event["event_id"] = f"evt-{delivery_id}"
        event["data"]["id"] = order["id"]
        event["data"]["object"]["order_updated"]["order_id"] = order["id"]
        return json.dumps(event).encode(), {"Content-Type": "application/json"}

    def sign(self, body: bytes) -> dict[str, str]:
        return {webhooks.SIGNATURE_HEADER: sign(body)}

    @contextmanager
    def serving(self) -> Iterator[FakeSquare]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            pattern = re.compile(re.escape(BASE_URL) + r"/v2/.*")
            mock.add_callback(responses.GET, pattern, callback=self)
            mock.add_callback(responses.POST, pattern, callback=self)
            yield self

    # -- dispatch -------------------------------------------------------------------------

    def __call__(self, request: Any) -> tuple:
        if self.error is not None:
            raise self.error
        path = request.path_url.split("?")[0]
        body = json.loads(request.body) if request.body else None
        self.calls.append((request.method, path, body))
        assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", request.headers.get("Square-Version", ""))
        if self.forced is not None:
            status, headers = self.forced
            code = {401: "UNAUTHORIZED", 429: "RATE_LIMITED"}.get(status, "INTERNAL_SERVER_ERROR")
            _, base_headers, text = _error(status, code, f"forced HTTP {status}")
            return status, {**base_headers, **headers}, text
        route = (request.method, path)
        if route == ("GET", "/v2/locations"):
            return self._ok({"locations": self.locations})
        if route == ("POST", "/v2/orders/search"):
            return self._search_orders(body or {})
        if request.method == "GET" and path.startswith("/v2/orders/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return _error(404, "NOT_FOUND", "Order not found.")
            return self._ok({"order": order})
        if route == ("POST", "/v2/catalog/search"):
            return self._search_catalog(body or {})
        if route == ("POST", "/v2/catalog/batch-retrieve"):
            ids = (body or {}).get("object_ids") or []
            return self._ok({"objects": [self._variation(i) for i in ids if i in self.variations]})
        if route == ("POST", "/v2/inventory/counts/batch-retrieve"):
            return self._counts(body or {})
        if route == ("POST", "/v2/inventory/changes/batch-create"):
            return self._batch_change(body or {})
        return _error(404, "NOT_FOUND", f"no route {request.method} {path}")

    @staticmethod
    def _ok(data: Mapping[str, Any]) -> tuple:
        return 200, {"Content-Type": "application/json"}, json.dumps(data)

    # -- orders ---------------------------------------------------------------------------

    def _search_orders(self, body: dict[str, Any]) -> tuple:
        locations = body.get("location_ids") or []
        if not 1 <= len(locations) <= 10:
            return _error(400, "INVALID_VALUE", "Between 1 and 10 location ids.", "location_ids")
        limit = body.get("limit", 500)
        if not 1 <= limit <= 500:
            return _error(400, "VALUE_TOO_HIGH", "limit must be <= 500", "limit")
        query = body.get("query") or {}
        flt = query.get("filter") or {}
        sort = query.get("sort") or {}
        window = (flt.get("date_time_filter") or {}).get("updated_at")
        if window is not None and sort.get("sort_field") != "UPDATED_AT":
            return _error(400, "INVALID_VALUE", "sort_field must match the time filter.")
        states = set((flt.get("state_filter") or {}).get("states") or [])
        start = (window or {}).get("start_at") or ""
        matching = sorted(
            (
                o
                for o in self.orders.values()
                if o["location_id"] in locations
                and (not states or o.get("state") in states)
                and o.get("updated_at", "") >= start
            ),
            key=lambda o: (o["updated_at"], o["id"]),
            reverse=sort.get("sort_order", "DESC") == "DESC",
        )
        fingerprint = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:8]
        offset = 0
        if body.get("cursor"):
            found = re.fullmatch(r"(\w{8})\.(\d+)", body["cursor"])
            if found is None or found.group(1) != fingerprint:
                return _error(400, "INVALID_CURSOR", "The cursor does not match the query.")
            offset = int(found.group(2))
        page = matching[offset : offset + limit]
        answer: dict[str, Any] = {}
        if page:
            answer["orders"] = page
        if self.cursor_loop:
            answer["cursor"] = f"{fingerprint}.{limit}"
        elif offset + limit < len(matching):
            answer["cursor"] = f"{fingerprint}.{offset + limit}"
        return self._ok(answer)

    # -- catalog --------------------------------------------------------------------------

    def _variation(self, item: str) -> dict[str, Any]:
        return {
            "type": "ITEM_VARIATION",
            "id": item,
            "updated_at": "2026-04-16T10:20:38.221Z",
            "version": 1713262838221,
            "is_deleted": False,
            "present_at_all_locations": True,
            "item_variation_data": {
                "item_id": "ITEM" + item[:20],
                "name": "Regular",
                "sku": self.variations[item],
                "pricing_type": "FIXED_PRICING",
                "price_money": {"amount": 1999, "currency": "USD"},
                "track_inventory": True,
            },
        }

    def _search_catalog(self, body: dict[str, Any]) -> tuple:
        assert body.get("object_types") == ["ITEM_VARIATION"]
        wanted = body["query"]["set_query"]
        assert wanted["attribute_name"] == "sku"
        values = wanted["attribute_values"]
        if len(values) > 250:
            return _error(400, "ARRAY_LENGTH_TOO_LONG", "At most 250 values.", "query")
        lowered = {v.lower() for v in values}  # Square matches SKUs case-insensitively
        found = [self._variation(i) for i, s in self.variations.items() if s.lower() in lowered]
        return self._ok({"objects": found} if found else {})

    # -- inventory ------------------------------------------------------------------------

    def _counts(self, body: dict[str, Any]) -> tuple:
        items = set(body.get("catalog_object_ids") or [])
        locations = set(body.get("location_ids") or [])
        limit = body.get("limit", 100)
        if not 1 <= limit <= 1000:
            return _error(400, "VALUE_TOO_HIGH", "limit must be <= 1000", "limit")
        rows = [
            {
                "catalog_object_id": item,
                "catalog_object_type": "ITEM_VARIATION",
                "state": "IN_STOCK",
                "location_id": loc,
                "quantity": format(qty, "f"),
                "calculated_at": "2026-11-23T09:00:00.000Z",
            }
            for (item, loc), qty in sorted(self.counts.items())
            if (not items or item in items) and (not locations or loc in locations)
        ]
        offset = int(body.get("cursor") or 0)
        answer: dict[str, Any] = {"counts": rows[offset : offset + limit]}
        if offset + limit < len(rows):
            answer["cursor"] = str(offset + limit)
        return self._ok(answer)

    def _batch_change(self, body: dict[str, Any]) -> tuple:
        key = body.get("idempotency_key") or ""
        if not 1 <= len(key) <= 128:
            return _error(400, "VALUE_TOO_LONG", "idempotency_key is 1 to 128 characters.")
        text = json.dumps(body, sort_keys=True)
        if key in self.keys:
            first, answer = self.keys[key]
            if first == text:
                return answer  # the first answer again, nothing applied
            return _error(400, "IDEMPOTENCY_KEY_REUSED", "The idempotency key was used before.")
        changes = body.get("changes") or []
        if len(changes) > 100:
            return _error(400, "ARRAY_LENGTH_TOO_LONG", "At most 100 changes.", "changes")
        errors = []
        parsed = []
        for n, change in enumerate(changes):
            count = change.get("physical_count") or {}
            assert change.get("type") == "PHYSICAL_COUNT" and count.get("state") == "IN_STOCK"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", count["occurred_at"])
            item = count.get("catalog_object_id")
            if item not in self.variations or item in self.refuse_items:
                errors.append(
                    {
                        "category": "INVALID_REQUEST_ERROR",
                        "code": "INVALID_VALUE",
                        "detail": f"Item variation {item} is not tracked.",
                        "field": f"changes[{n}].physical_count.catalog_object_id",
                    }
                )
                continue
            try:
                quantity = Decimal(count["quantity"])
            except (InvalidOperation, KeyError):
                errors.append({"code": "INVALID_VALUE", "field": f"changes[{n}].quantity"})
                continue
            parsed.append((item, count["location_id"], quantity))
        if errors:
            return 400, {"Content-Type": "application/json"}, json.dumps({"errors": errors})
        for item, location, quantity in parsed:
            self.counts[(item, location)] = quantity
        self.applied += len(parsed)
        self.sizes.append(len(parsed))
        answer = self._ok(
            {
                "counts": [
                    {
                        "catalog_object_id": item,
                        "catalog_object_type": "ITEM_VARIATION",
                        "state": "IN_STOCK",
                        "location_id": location,
                        "quantity": format(quantity, "f"),
                        "calculated_at": "2026-11-23T09:00:01.000Z",
                    }
                    for item, location, quantity in parsed
                ]
            }
        )
        self.keys[key] = (text, answer)
        return answer
