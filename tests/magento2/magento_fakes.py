"""A scripted Magento 2 REST API for the connector tests, served through ``responses``.

It answers like the documented API (Adobe Commerce web API reference): ``searchCriteria``
filters (groups AND-ed, filters OR-ed), sort orders and pages answering ``{"items",
"search_criteria", "total_count"}``, *including Magento's bug of answering a page past the end
with the last page again*; ``POST /V1/inventory/source-items`` answering ``[]``;
``POST /V1/products/base-prices`` answering the refused items as ``[{message, parameters}]``;
bearer-token auth answering 401 ``"The consumer isn't authorized to access %resources."``;
404 ``"Request does not match any route."`` for unknown routes. Bodies are parsed with
``parse_float=Decimal`` so the tests see exactly the numbers the connector sent, and a float
where Magento wants a number would show. Resource bodies come from ``data/``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses

from connectors.magento2 import Magento2Config
from connectors.magento2.client import dumps

SITE = "https://magento.brique.test"
API = f"{SITE}/rest/all/V1"
TOKEN = "m2int-7c1f0a9d3e5b4c2a8f6e0d1c"
DATA = Path(__file__).parent / "data"
INPUT_LIMIT = 20
"""Input limiting's default: at most 20 entities in a synchronous request's list."""
_FILTER = re.compile(
    r"searchCriteria\[filter_?[Gg]roups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|condition_?[Tt]ype)\]"
)
_SORT = re.compile(r"searchCriteria\[sort_?[Oo]rders\]\[(\d+)\]\[(field|direction)\]")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(), parse_float=Decimal)


def make_config(**overrides: Any) -> Magento2Config:
    settings: dict[str, Any] = {
        "base_url": SITE,
        "access_token": TOKEN,
        "source_codes": ["default", "paris_rivoli"],
    }
    settings.update(overrides)
    return Magento2Config.model_validate(settings)


def m2_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _comparable(field: str, value: Any) -> Any:
    if field in ("entity_id", "id", "store_id") and str(value).lstrip("-").isdigit():
        return int(value)
    text = "" if value is None else str(value)
    return text.lower() if field == "sku" else text  # MySQL compares SKUs without case


def _matches(row: Mapping[str, Any], field: str, value: str, condition: str) -> bool:
    held = _comparable(field, row.get(field))
    if condition == "in":
        return held in {_comparable(field, v) for v in value.split(",")}
    if condition == "nin":
        return held not in {_comparable(field, v) for v in value.split(",")}
    wanted = _comparable(field, value)
    if type(held) is not type(wanted):
        return False
    return {
        "eq": held == wanted,
        "neq": held != wanted,
        "gt": held > wanted,
        "gteq": held >= wanted,
        "lt": held < wanted,
        "lteq": held <= wanted,
    }[condition]


class FakeMagento:
    """One Magento installation's catalog, source items, prices and orders."""

    def __init__(self) -> None:
        self.products: dict[str, dict[str, Any]] = {}
        self.source_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.prices: dict[tuple[str, int], Decimal] = {}
        self.reservations: dict[str, Decimal] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.sources = ["default", "paris_rivoli"]
        self.input_limit = INPUT_LIMIT
        self.unknown_sku = "orphan"
        """What source-items does with an unknown SKU: ``orphan`` (stores it and answers 200,
        magento/magento2#38154) or ``refuse`` (400 "Could not save Source Item", 2.4.6)."""
        self.price_refusals: set[str] = set()
        """SKUs whose base price is refused with a message that names no SKU."""
        self.total_count_offset = 0
        """Added to ``total_count`` (some extensions report it wrong)."""
        self.omit_total_count = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[tuple[str, bytes]] = []
        """(path, raw body) of every request with a body, as sent."""
        self.stock_posts: list[list[dict[str, Any]]] = []
        self.price_posts: list[list[dict[str, Any]]] = []
        self.applied = 0
        self.forced: tuple[int, dict[str, str], Any] | None = None
        self.error: BaseException | None = None
        self._next_id = 1000
        self._routes: list[tuple[str, str, Any]] = []

    # -- catalog ----------------------------------------------------------------------------

    def add_product(
        self,
        sku: str,
        *,
        kind: str = "simple",
        quantity: Decimal | int | None = None,
        source: str = "default",
        price: str = "19.90",
    ) -> dict[str, Any]:
        self._next_id += 1
        product = {"id": self._next_id, "sku": sku, "type_id": kind, "name": f"Product {sku}"}
        self.products[sku] = product
        self.prices[(sku, 0)] = Decimal(price)
        if quantity is not None:
            self.source_items[(sku, source)] = {
                "sku": sku,
                "source_code": source,
                "quantity": Decimal(quantity),
                "status": 1 if Decimal(quantity) > 0 else 0,
            }
        return product

    def held(self, sku: str, source: str = "default") -> Decimal | None:
        row = self.source_items.get((sku, source))
        return None if row is None else row["quantity"]

    # -- orders -----------------------------------------------------------------------------

    def make_order(
        self, entity_id: int, updated: datetime, state: str = "processing"
    ) -> dict[str, Any]:
        order = load("order_processing.json")
        order["entity_id"] = entity_id
        order["increment_id"] = f"{entity_id:09d}"
        order["state"] = order["status"] = state
        order["updated_at"] = m2_time(updated)
        order["created_at"] = m2_time(updated - timedelta(minutes=2))
        for item in order["items"]:
            item["order_id"] = entity_id
        self.orders[entity_id] = order
        return order

    def seed_orders(self, count: int, *, start: int = 41, step: timedelta | None = None) -> None:
        step = timedelta(minutes=1) if step is None else step
        base = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
        first = max(self.orders, default=start - 1) + 1
        for n in range(count):
            self.make_order(first + n, base + step * (first + n - start))

    # -- HTTP -------------------------------------------------------------------------------

    def install(self, mock: responses.RequestsMock) -> None:
        """One callback per method for the whole site, dispatching on the path (``responses``
        pops a registration when two match, so overlapping patterns cannot be used)."""
        base = re.escape(API)
        self._routes = [
            ("GET", rf"{base}/store/storeConfigs", self._store_configs),
            ("GET", rf"{base}/inventory/sources", self._sources),
            ("GET", rf"{base}/products", self._search_products),
            ("GET", rf"{base}/inventory/source-items", self._search_source_items),
            ("POST", rf"{base}/inventory/source-items", self._save_source_items),
            ("POST", rf"{base}/products/base-prices", self._save_prices),
            ("GET", rf"{base}/orders", self._search_orders),
            ("GET", rf"{base}/inventory/get-product-salable-quantity/[^/]+/\d+", self._salable),
        ]
        for method in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
            mock.add_callback(
                method, re.compile(rf"{re.escape(SITE)}(/.*)?$"), callback=self._gate(method)
            )

    def _route(self, method: str, url: str) -> Any:
        path = url.split("?", 1)[0]
        for verb, pattern, handler in self._routes:
            if verb == method and re.fullmatch(pattern, path):
                return handler
        return lambda request, query: (404, load("error_no_route.json"))

    @contextmanager
    def serving(self) -> Iterator[FakeMagento]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            self.install(mock)
            yield self

    def _gate(self, method: str) -> Any:
        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            parts = urlsplit(request.url)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self.requests.append((request.method, unquote(parts.path), query))
            if request.body:
                self.bodies.append((unquote(parts.path), bytes(request.body)))
            if self.error is not None:
                raise self.error
            if self.forced is not None:
                status, headers, body = self.forced
                return status, headers, json.dumps(body)
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return 401, {}, json.dumps(load("error_401.json"))
            status, body = self._route(method, request.url)(request, query)
            return status, {"Content-Type": "application/json"}, dumps(body)

        return answer

    def _search(self, rows: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        groups: dict[int, dict[int, dict[str, str]]] = {}
        sorts: dict[int, dict[str, str]] = {}
        for key, value in query.items():
            if m := _FILTER.fullmatch(key):
                part = m.group(3).replace("condition_type", "conditionType")
                groups.setdefault(int(m.group(1)), {}).setdefault(int(m.group(2)), {})[part] = value
            elif m := _SORT.fullmatch(key):
                sorts.setdefault(int(m.group(1)), {})[m.group(2)] = value
        found = [
            row
            for row in rows
            if all(
                any(
                    _matches(row, f["field"], f.get("value", ""), f.get("conditionType", "eq"))
                    for f in group.values()
                )
                for group in groups.values()
            )
        ]
        for position in sorted(sorts, reverse=True):
            spec = sorts[position]
            found.sort(
                key=lambda r, f=spec["field"]: _comparable(f, r.get(f)),
                reverse=spec.get("direction", "ASC").upper() == "DESC",
            )
        total = len(found)
        size = int(query.get("searchCriteria[pageSize]", 0)) or max(total, 1)
        page = int(query.get("searchCriteria[currentPage]", 1))
        pages = max(1, math.ceil(total / size))
        page = min(page, pages)  # Magento's bug: past the end, the last page again
        body: dict[str, Any] = {
            "items": [copy.deepcopy(r) for r in found[(page - 1) * size : page * size]],
            "search_criteria": {"page_size": size, "current_page": page},
        }
        if not self.omit_total_count:
            body["total_count"] = total + self.total_count_offset
        return body

    def _store_configs(self, request: Any, query: Mapping[str, str]) -> Any:
        return 200, load("store_configs.json")

    def _sources(self, request: Any, query: Mapping[str, str]) -> Any:
        body = load("sources.json")
        body["items"] = [s for s in body["items"] if s["source_code"] in self.sources]
        body["total_count"] = len(body["items"])
        return 200, body

    def _search_products(self, request: Any, query: Mapping[str, str]) -> Any:
        return 200, self._search(list(self.products.values()), query)

    def _search_source_items(self, request: Any, query: Mapping[str, str]) -> Any:
        return 200, self._search(list(self.source_items.values()), query)

    def _save_source_items(self, request: Any, query: Mapping[str, str]) -> Any:
        items = json.loads(request.body, parse_float=Decimal)["sourceItems"]
        if len(items) > self.input_limit:
            return 400, {
                "message": 'Maximum items of type "%type" is %max',
                "parameters": {
                    "type": "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
                    "max": self.input_limit,
                },
            }
        for item in items:
            if item["source_code"] not in self.sources:
                error = load("error_source_unknown.json")
                error["errors"][0]["parameters"] = [item["source_code"]]
                return 400, error
            if not isinstance(item["quantity"], int | Decimal):
                return 400, load("error_placeholders.json")
            if item["sku"] not in self.products and self.unknown_sku == "refuse":
                return 400, {"message": "Could not save Source Item"}
        self.stock_posts.append(items)
        for item in items:
            key = (item["sku"], item["source_code"])
            new = {
                "sku": item["sku"],
                "source_code": item["source_code"],
                "quantity": Decimal(item["quantity"]),
                "status": item["status"],
            }
            if self.source_items.get(key) != new:
                self.source_items[key] = new
                self.applied += 1
        return 200, []

    def _save_prices(self, request: Any, query: Mapping[str, str]) -> Any:
        prices = json.loads(request.body, parse_float=Decimal)["prices"]
        self.price_posts.append(prices)
        refused: list[dict[str, Any]] = []
        for item in prices:
            sku, price, store = item["sku"], item["price"], item["store_id"]
            errors = []
            if sku not in self.products:
                errors.append(
                    {
                        "message": "Invalid attribute %fieldName = %fieldValue.",
                        "parameters": ["SKU", sku],
                    }
                )
            if not isinstance(price, int | Decimal) or price < 0 or sku in self.price_refusals:
                errors.append(
                    {
                        "message": "Invalid attribute %fieldName = %fieldValue.",
                        "parameters": ["Price", str(price)],
                    }
                )
            if store not in (0, 1, 2):
                errors.append(
                    {
                        "message": (
                            f"Requested store is not found. Row ID: SKU = {sku}, Store ID: {store}."
                        ),
                        "parameters": [sku, str(store)],
                    }
                )
            if errors:
                refused.extend(errors)
            elif self.prices.get((sku, store)) != Decimal(price):
                self.prices[(sku, store)] = Decimal(price)
                self.applied += 1
        return 200, refused

    def _search_orders(self, request: Any, query: Mapping[str, str]) -> Any:
        return 200, self._search(list(self.orders.values()), query)

    def _salable(self, request: Any, query: Mapping[str, str]) -> Any:
        match = re.search(r"get-product-salable-quantity/([^/?]+)/(\d+)", request.url)
        assert match is not None
        sku = unquote(match.group(1))
        product = self.products.get(sku)
        if product is None:
            return 404, load("error_product_missing.json")
        if product["type_id"] != "simple":
            return 400, {
                "message": "Can't check requested quantity for products without Source Items "
                "support."
            }
        held = sum(
            (r["quantity"] for (s, _), r in self.source_items.items() if s == sku), Decimal(0)
        )
        return 200, held - self.reservations.get(sku, Decimal(0))

    # -- what was asked ---------------------------------------------------------------------

    def calls(self, method: str, path_end: str) -> list[dict[str, str]]:
        return [q for m, p, q in self.requests if m == method and p.endswith(path_end)]


class MagentoHarness:
    """The kit's ``RemoteHarness`` for Magento, delegating normal answers to ``FakeMagento``."""

    def __init__(self, shop: FakeMagento) -> None:
        self.shop = shop

    # FailingRemote
    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.shop.forced = (status, dict(headers or {}), {"message": f"HTTP {status}"})

    def fail_with(self, error: BaseException) -> None:
        self.shop.error = error

    # WriteRecorder
    def applied_changes(self) -> int:
        return self.shop.applied

    def write_call_sizes(self) -> list[int]:
        return [len(items) for items in self.shop.stock_posts]

    # StreamSource
    def seed(self, stream: str, count: int) -> None:
        assert stream == "orders"
        self.shop.seed_orders(count)

    @contextmanager
    def serving(self) -> Iterator[MagentoHarness]:
        with self.shop.serving():
            yield self
