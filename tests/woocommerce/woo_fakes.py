"""A scripted WooCommerce REST v3 API for the connector tests, served through ``responses``.

It answers like the documented API (WooCommerce REST API docs, ``wp-api-v3``): products and
variations in the ``/products`` shape (``GET /products?sku=a,b`` finds variations too, as
WooCommerce core does when a SKU filter is given), batch updates answering ``{"update": [...]}``
with ``{"id", "error": {"code", "message", "data"}}`` for refused items, 413 past the batch
limit, page-numbered lists with ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link``, orders
filtered by ``modified_after`` with ``dates_are_gmt``. Resource bodies come from the JSON
files in ``data/``, written by hand in the documented shape.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import responses
from tenacity import retry, retry_if_exception, stop_after_attempt

import bridge.http
from bridge.errors import RateLimited, TransientError
from connectors.woocommerce import WooCommerceConfig

SITE = "https://shop.brique.test"
API = f"{SITE}/wp-json/wc/v3"
KEY = "ck_test_4f1d2c3b5a69788796a5b4c3d2e1f0a9"
SECRET = "cs_test_0a1b2c3d4e5f60718293a4b5c6d7e8f9"
WEBHOOK_SECRET = "whsec-woo-test-5e6f7a8b9c0d"
DATA = Path(__file__).parent / "data"
SITE_OFFSET = timedelta(hours=1)
"""The fake site's time zone is UTC+1 (Europe/Paris in winter): ``date_*`` vs ``date_*_gmt``."""


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def make_config(**overrides: Any) -> WooCommerceConfig:
    settings: dict[str, Any] = {
        "site_url": SITE,
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "webhook_secret": WEBHOOK_SECRET,
    }
    settings.update(overrides)
    return WooCommerceConfig.model_validate(settings)


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(topic: str, delivery: str, body: bytes, *, signed: bool = True) -> dict:
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.5.1 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": f"{SITE}/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "14",
        "X-WC-Webhook-Delivery-ID": delivery,
    }
    if signed:
        headers["X-WC-Webhook-Signature"] = sign(body)
    return headers


def without_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """``bridge.http`` retries transient failures three times with real backoff sleeps; the
    tests keep the same retries (same predicate, same stop) without the waiting."""
    monkeypatch.setattr(
        bridge.http,
        "_short_retry",
        retry(
            retry=retry_if_exception(
                lambda e: isinstance(e, TransientError) and not isinstance(e, RateLimited)
            ),
            stop=stop_after_attempt(3),
            reraise=True,
        ),
    )


def wc_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _error(code: str, message: str, status: int, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **data}}


class FakeWoo:
    """One shop's products, variations and orders, and the calls made to them."""

    def __init__(self, *, page_cap: int = 100, batch_limit: int = 100) -> None:
        self.items: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.currency = "EUR"
        self.page_cap = page_cap
        self.batch_limit = batch_limit
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.batches: list[tuple[str, list[dict[str, Any]]]] = []
        self.applied = 0
        self.refusals: dict[int, dict[str, Any]] = {}
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None
        self.ignore_paging = False
        self.clock = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
        self._next_id = 3000

    # -- catalog ----------------------------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_product(
        self,
        sku: str,
        quantity: int | None = 0,
        *,
        manage: bool = True,
        price: str = "19.90",
        product_id: int | None = None,
        kind: str = "simple",
    ) -> dict[str, Any]:
        item = {
            "id": product_id or self._id(),
            "type": kind,
            "parent_id": 0,
            "sku": sku,
            "name": f"Product {sku}",
            "manage_stock": manage,
            "stock_quantity": quantity if manage else None,
            "regular_price": price,
            "sale_price": "",
            "date_modified_gmt": wc_time(self.clock),
        }
        self.items[item["id"]] = item
        return item

    def add_variation(
        self,
        parent_id: int,
        sku: str,
        quantity: int | None = 0,
        *,
        manage: bool | str = True,
        price: str = "89.00",
        variation_id: int | None = None,
    ) -> dict[str, Any]:
        parent = self.items.get(parent_id) or self.add_product(
            "", None, manage=False, product_id=parent_id, kind="variable"
        )
        parent["type"] = "variable"
        item = {
            "id": variation_id or self._id(),
            "type": "variation",
            "parent_id": parent_id,
            "sku": sku,
            "name": f"Variation {sku}",
            "manage_stock": manage,
            "stock_quantity": quantity if manage is True else None,
            "regular_price": price,
            "sale_price": "",
            "date_modified_gmt": wc_time(self.clock),
        }
        self.items[item["id"]] = item
        return item

    def by_sku(self, sku: str) -> dict[str, Any]:
        return next(i for i in self.items.values() if i["sku"] == sku)

    def render(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The item in the documented ``/products`` response shape."""
        template = (
            "product_variation.json" if item["type"] == "variation" else "product_simple.json"
        )
        body = load(template)
        body.update(copy.deepcopy(dict(item)))
        modified = datetime.fromisoformat(item["date_modified_gmt"])
        body["date_modified"] = wc_time(modified + SITE_OFFSET)
        body["price"] = item["sale_price"] or item["regular_price"]
        body["on_sale"] = bool(item["sale_price"])
        body["permalink"] = f"{SITE}/product/{item['id']}/"
        body["_links"]["self"] = [{"href": f"{API}/products/{item['id']}"}]
        if item["type"] == "variable":
            body["variations"] = [
                i["id"] for i in self.items.values() if i["parent_id"] == item["id"]
            ]
        return body

    # -- orders -----------------------------------------------------------------------------

    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        self.orders[int(order["id"])] = order
        return order

    def make_order(
        self, order_id: int, modified: datetime, status: str = "processing"
    ) -> dict[str, Any]:
        order = load("order_processing.json")
        order["id"] = order_id
        order["number"] = str(order_id)
        order["status"] = status
        order["date_modified_gmt"] = wc_time(modified)
        order["date_modified"] = wc_time(modified + SITE_OFFSET)
        order["_links"]["self"] = [{"href": f"{API}/orders/{order_id}"}]
        return self.add_order(order)

    def seed_orders(self, count: int, *, start: int = 4000, step: timedelta | None = None) -> None:
        step = timedelta(minutes=1) if step is None else step
        base = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
        first = max(self.orders, default=start - 1) + 1
        for n in range(count):
            self.make_order(first + n, base + step * (first + n - start))

    # -- HTTP -------------------------------------------------------------------------------

    def install(self, mock: responses.RequestsMock) -> None:
        base = re.escape(API)
        routes = [
            (responses.GET, rf"{base}/products(\?.*)?$", self._list_products),
            (responses.POST, rf"{base}/products/batch(\?.*)?$", self._batch_products),
            (
                responses.POST,
                rf"{base}/products/(\d+)/variations/batch(\?.*)?$",
                self._batch_variations,
            ),
            (responses.GET, rf"{base}/orders(\?.*)?$", self._list_orders),
            (
                responses.GET,
                rf"{base}/settings/general/woocommerce_currency(\?.*)?$",
                self._currency,
            ),
        ]
        for method, pattern, handler in routes:
            mock.add_callback(method, re.compile(pattern), callback=self._gate(handler))

    @contextmanager
    def serving(self) -> Iterator[FakeWoo]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            self.install(mock)
            yield self

    def _gate(self, handler: Any) -> Any:
        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            parts = urlsplit(request.url)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self.requests.append((request.method, parts.path, query))
            if self.error is not None:
                raise self.error
            if self.forced is not None:
                status, headers = self.forced
                return status, headers, json.dumps(_error("forced", f"HTTP {status}", status))
            if not self._authenticated(request, query):
                body = _error(
                    "woocommerce_rest_authentication_error",
                    "Invalid signature - provided signature does not match.",
                    401,
                )
                return 401, {}, json.dumps(body)
            status, headers, body = handler(request, query)
            return status, {"Content-Type": "application/json", **headers}, json.dumps(body)

        return answer

    @staticmethod
    def _authenticated(request: Any, query: Mapping[str, str]) -> bool:
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if request.headers.get("Authorization") == expected:
            return True
        return query.get("consumer_key") == KEY and query.get("consumer_secret") == SECRET

    def _paged(
        self, items: list[Any], query: Mapping[str, str], path: str
    ) -> tuple[int, dict[str, str], Any]:
        per_page = min(int(query.get("per_page", 10)), 100, self.page_cap)
        page = 1 if self.ignore_paging else int(query.get("page", 1))
        pages = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        links = []
        kept = {k: v for k, v in query.items() if k not in ("consumer_key", "consumer_secret")}
        if page < pages:
            links.append(f'<{API}/{path}?{urlencode({**kept, "page": page + 1})}>; rel="next"')
        if page > 1:
            links.append(f'<{API}/{path}?{urlencode({**kept, "page": page - 1})}>; rel="prev"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, headers, chunk

    def _list_products(self, request: Any, query: Mapping[str, str]) -> Any:
        if "sku" in query:
            skus = set(query["sku"].split(","))
            found = [i for i in self.items.values() if i["sku"] and i["sku"] in skus]
        else:
            found = [i for i in self.items.values() if i["type"] != "variation"]
        bodies = [self.render(i) for i in sorted(found, key=lambda i: i["id"])]
        if "_fields" in query:
            keep = query["_fields"].split(",")
            bodies = [{k: b[k] for k in keep if k in b} for b in bodies]
        return self._paged(bodies, query, "products")

    def _batch_products(self, request: Any, query: Mapping[str, str]) -> Any:
        return self._batch(request, None)

    def _batch_variations(self, request: Any, query: Mapping[str, str]) -> Any:
        parent = int(re.search(r"/products/(\d+)/variations", request.url).group(1))
        return self._batch(request, parent)

    def _batch(self, request: Any, parent: int | None) -> Any:
        body = json.loads(request.body)
        updates = body.get("update") or []
        if len(updates) > self.batch_limit:
            message = f"Unable to accept more than {self.batch_limit} items for this request."
            return 413, {}, _error("woocommerce_rest_request_entity_too_large", message, 413)
        endpoint = "products" if parent is None else f"products/{parent}/variations"
        self.batches.append((endpoint, updates))
        return 200, {}, {"update": [self._update(u, parent) for u in updates]}

    def _update(self, update: dict[str, Any], parent: int | None) -> dict[str, Any]:
        item_id = update.get("id")
        item = self.items.get(item_id) if isinstance(item_id, int) else None
        if parent is None:
            if item is None or item["type"] == "variation":
                return {
                    "id": item_id,
                    "error": _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 400),
                }
        elif item is None or item["parent_id"] != parent:
            return {
                "id": item_id,
                "error": _error(
                    "woocommerce_rest_product_variation_invalid_id",
                    "Invalid ID.",
                    400,
                ),
            }
        if item_id in self.refusals:
            return {"id": item_id, "error": self.refusals[item_id]}
        quantity = update.get("stock_quantity", item["stock_quantity"])
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
            return {
                "id": item_id,
                "error": _error("rest_invalid_param", "Invalid parameter(s): stock_quantity", 400),
            }
        for name in ("regular_price", "sale_price"):
            if name in update and not isinstance(update[name], str):
                return {
                    "id": item_id,
                    "error": _error("rest_invalid_param", f"Invalid parameter(s): {name}", 400),
                }
        changed = False
        for name in ("manage_stock", "stock_quantity", "regular_price", "sale_price"):
            if name in update and item[name] != update[name]:
                item[name] = update[name]
                changed = True
        if changed:
            self.applied += 1
            self.clock += timedelta(seconds=1)
            item["date_modified_gmt"] = wc_time(self.clock)
        return self.render(item)

    def _list_orders(self, request: Any, query: Mapping[str, str]) -> Any:
        gmt = query.get("dates_are_gmt") == "true"
        field = "date_modified_gmt" if gmt else "date_modified"
        found = list(self.orders.values())
        after = query.get("modified_after")
        if after and not self.ignore_paging:
            found = [o for o in found if o[field] > after]
        if query.get("orderby") == "modified":
            found.sort(key=lambda o: (o["date_modified_gmt"], o["id"]))
        else:
            found.sort(key=lambda o: (o["date_created_gmt"], o["id"]), reverse=True)
        if query.get("order") == "desc":
            found.reverse()
        return self._paged(found, query, "orders")

    def _currency(self, request: Any, query: Mapping[str, str]) -> Any:
        return (
            200,
            {},
            {
                "id": "woocommerce_currency",
                "label": "Currency",
                "description": "This controls what currency prices are listed at in the catalog "
                "and which currency gateways will take payments in.",
                "type": "select",
                "default": "USD",
                "tip": "This controls what currency prices are listed at in the catalog and "
                "which currency gateways will take payments in.",
                "value": self.currency,
                "group_id": "general",
            },
        )

    # -- what was asked ---------------------------------------------------------------------

    def calls(self, method: str, path_end: str) -> list[dict[str, str]]:
        return [q for m, p, q in self.requests if m == method and p.endswith(path_end)]

    def batch_sizes(self) -> list[int]:
        return [len(updates) for _, updates in self.batches]
