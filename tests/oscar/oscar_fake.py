"""A scripted django-oscar-api admin API for the connector tests, served through ``responses``.

Shapes are copied from a real Django Oscar 4.2.1 + django-oscar-api 3.3.0 (``tests/oscar/
server.py``), e.g. ``GET /api/admin/stockrecords/1/``::

    {"url": ".../api/admin/stockrecords/1/", "product": 1, "partner_sku": "SKU-TSHIRT-BLUE",
     "price_currency": "EUR", "price": "19.99", "num_in_stock": 10, "num_allocated": 0,
     "low_stock_threshold": null, "date_created": "...", "date_updated": "...",
     "partner": ".../api/admin/partners/1/"}

Lists are DRF ``PageNumberPagination`` pages (``count``, ``next``, ``previous``,
``results``); orders are newest first, their lines link the product and the stock record
(``/api/products/<p>/stockrecords/<id>/``); ``/api/admin/`` has no root (404); a refused
credential is 403 (DRF with session auth first); ``num_in_stock`` < 0 is a 400 with DRF's
field error. There is no stock record list.

Baskets, as the real oscar-api 3.3.0 serves them to an anonymous shopper: ``GET /api/basket/``
without a session makes an empty basket and a Django session holding it (``Set-Cookie:
sessionid=...``); ``/api/baskets/<id>/`` and its ``lines/`` answer only to that session (401
otherwise, 404 once the basket is not editable); ``add-product`` answers 406 with a
``reason`` beyond the stock; line prices are line totals. ``/api/admin/baskets/`` is the
shop-side ``BasketChanges`` view of ``connectors/oscar/shop_views.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

SITE = "http://127.0.0.1:8001"
API = f"{SITE}/api"
USER = "brique"
PASSWORD = "oscar-test-pass-7c1e"
PARTNER = "store-1"
PAGE = 3
"""The fake site's DRF ``PAGE_SIZE``: small, so lists span several pages."""
T0 = datetime(2026, 11, 23, 17, 8, 43, 767643, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class FakeOscar:
    def __init__(self) -> None:
        self.partners: dict[int, str] = {1: PARTNER, 2: "warehouse"}
        self.products: dict[int, dict[str, Any]] = {}
        self.records: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.lines: dict[int, list[dict[str, Any]]] = {}
        self.patches: list[tuple[int, dict[str, Any]]] = []
        self.changes = 0
        self.requests: list[tuple[str, str]] = []
        self.forced: tuple[int, dict[str, str]] | None = None
        self.failure: BaseException | None = None
        self.auth_ok = True
        self.baskets: dict[int, dict[str, Any]] = {}
        self.django_sessions: dict[str, int | None] = {}
        """Django session key -> the id of the anonymous basket it holds."""
        self.basket_views = True
        """Whether the shop installed ``BasketChanges`` (``/api/admin/baskets/``)."""
        self.now = T0 + timedelta(hours=1)
        self.shopper_calls: list[tuple[str, str, bool]] = []
        """(method, URL, sent credentials?) of each call outside the admin API."""

    # -- data ------------------------------------------------------------------------------

    def add_product(
        self,
        sku: str,
        *,
        stock: int = 10,
        price: str = "19.99",
        currency: str = "EUR",
        partner: int = 1,
        upc: str | None = None,
    ) -> int:
        product_id = len(self.products) + 1
        record_id = len(self.records) + 1
        self.products[product_id] = {"id": product_id, "upc": upc or sku, "title": sku}
        self.records[record_id] = {
            "id": record_id,
            "product": product_id,
            "partner": partner,
            "partner_sku": sku,
            "price_currency": currency,
            "price": price,
            "num_in_stock": stock,
            "num_allocated": 0,
        }
        return record_id

    def add_order(
        self,
        number: str,
        lines: list[tuple[int, int, str]],
        *,
        placed: datetime | None = None,
        status: str = "Pending",
        email: str = "jane@example.com",
        basket: int | None = None,
    ) -> int:
        """``lines``: (stock record id, quantity, line total incl. tax); ``basket``: the id of
        the basket it was placed from (the order's own id if not given)."""
        order_id = len(self.orders) + 1
        self.orders[order_id] = {
            "basket": basket or order_id,
            "number": number,
            "placed": placed or T0 + timedelta(minutes=order_id),
            "status": status,
            "email": email,
            "total": str(sum(float(t) for _, _, t in lines)),
        }
        self.lines[order_id] = [
            {"record": r, "quantity": q, "total": t, "id": order_id * 100 + n}
            for n, (r, q, t) in enumerate(lines)
        ]
        return order_id

    def add_basket(
        self,
        lines: list[tuple[int, int]],
        *,
        status: str = "Open",
        owner: tuple[int, str] | None = None,
        at: datetime | None = None,
        order: str | None = None,
    ) -> int:
        """``lines``: (stock record id, quantity); all changed at ``at``."""
        basket_id = max([*self.baskets, *self.orders, 0]) + 1
        moment = at or self.tick()
        self.baskets[basket_id] = {
            "id": basket_id,
            "status": status,
            "owner": owner,
            "created": moment,
            "order": order,
            "lines": [],
        }
        for record, quantity in lines:
            self._add_line(self.baskets[basket_id], record, quantity, moment)
        return basket_id

    def tick(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def seed(self, stream: str, count: int) -> None:
        if stream == "baskets":
            record = self.add_product(f"SEED-{len(self.products):04d}")
            for n in range(count):  # pairs share one change time
                self.add_basket([(record, 1)], at=T0 + timedelta(minutes=n // 2))
            return
        if stream != "orders":
            raise ValueError(stream)
        record = self.add_product(f"SEED-{len(self.products):04d}")
        for n in range(count):
            # pairs of orders share one instant, as orders placed in the same microsecond
            self.add_order(
                f"2000{len(self.orders) + 1:02d}",
                [(record, 1, "19.99")],
                placed=T0 + timedelta(minutes=n // 2),
            )

    # -- harness protocol -----------------------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.failure = error

    def applied_changes(self) -> int:
        return self.changes

    def write_call_sizes(self) -> list[int]:
        return [1 for _ in self.patches]

    # -- rendering ------------------------------------------------------------------------

    def record_json(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{API}/admin/stockrecords/{record['id']}/",
            "product": record["product"],
            "partner_sku": record["partner_sku"],
            "price_currency": record["price_currency"],
            "price": record["price"],
            "num_in_stock": record["num_in_stock"],
            "num_allocated": record["num_allocated"],
            "low_stock_threshold": None,
            "date_created": stamp(T0),
            "date_updated": stamp(T0),
            "partner": f"{API}/admin/partners/{record['partner']}/",
        }

    def product_json(self, product: dict[str, Any]) -> dict[str, Any]:
        pid = product["id"]
        return {
            "id": pid,
            "attributes": [],
            "categories": [],
            "product_class": "t-shirts",
            "options": [],
            "recommended_products": [],
            "url": f"{API}/admin/products/{pid}/",
            "stockrecords": [
                self.record_json(r) for r in self.records.values() if r["product"] == pid
            ],
            "images": [],
            "children": [],
            "structure": "standalone",
            "is_public": True,
            "upc": product["upc"],
            "title": product["title"],
            "slug": product["title"].lower(),
            "parent": None,
        }

    def order_json(self, order_id: int) -> dict[str, Any]:
        order = self.orders[order_id]
        return {
            "number": order["number"],
            "basket": f"{API}/baskets/{order['basket']}/",
            "url": f"{API}/admin/orders/{order_id}/",
            "lines": f"{API}/admin/orders/{order_id}/lines/",
            "owner": None,
            "billing_address": None,
            "currency": "EUR",
            "total_incl_tax": order["total"],
            "total_excl_tax": order["total"],
            "shipping_incl_tax": "0.00",
            "shipping_excl_tax": "0.00",
            "shipping_address": None,
            "shipping_method": "Free shipping",
            "shipping_code": "free-shipping",
            "status": order["status"],
            "email": order["email"],
            "date_placed": stamp(order["placed"]),
            "payment_url": "You need to implement a view named 'api-payment' ...",
            "offer_discounts": [],
            "voucher_discounts": [],
            "surcharges": [],
        }

    def line_json(self, order_id: int, line: dict[str, Any]) -> dict[str, Any]:
        record = self.records[line["record"]]
        return {
            "attributes": [],
            "url": f"{API}/admin/orderlines/{line['id']}/",
            "product": f"{API}/products/{record['product']}/",
            "stockrecord": f"{API}/products/{record['product']}/stockrecords/{record['id']}/",
            "quantity": line["quantity"],
            "price_currency": "EUR",
            "price_excl_tax": line["total"],
            "price_incl_tax": line["total"],
            "price_incl_tax_excl_discounts": line["total"],
            "price_excl_tax_excl_discounts": line["total"],
            "order": f"{API}/orders/{order_id}/",
        }

    # -- serving --------------------------------------------------------------------------

    @contextmanager
    def serving(self) -> Iterator[FakeOscar]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            for method in ("GET", "PATCH", "POST", "PUT", "DELETE"):
                mock.add_callback(method, _any_url(SITE), callback=self._answer)
            yield self

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.requests.append((request.method, request.url))
        if self.failure is not None:
            raise self.failure
        if self.forced is not None:
            status, headers = self.forced
            return status, headers, json.dumps({"detail": "forced"})
        parts = urlsplit(request.url)
        path = parts.path.rstrip("/").split("/")[2:]  # after "/api"
        query = parse_qs(parts.query)
        if path[:1] != ["admin"]:
            return self._shopper(request, path)
        if not self._authorised(request):
            return 403, {}, json.dumps({"detail": "Invalid username/password."})
        if len(path) < 2:
            return 404, {"Content-Type": "text/html"}, "<h1>Not Found</h1>"
        return self._route(request, path[1:], query)

    def _authorised(self, request: Any) -> bool:
        import base64

        header = request.headers.get("Authorization", "")
        wanted = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return self.auth_ok and header == f"Basic {wanted}"

    def _route(self, request: Any, path: list[str], query: dict[str, list[str]]) -> Any:
        method = request.method
        if path == ["partners"] and method == "GET":
            items = [
                {"url": f"{API}/admin/partners/{i}/", "code": c, "name": c, "users": []}
                for i, c in self.partners.items()
            ]
            return self._page("partners", items, query)
        if path == ["products"] and method == "GET":
            items = [self.product_json(p) for p in self.products.values()]
            return self._page("products", items, query)
        if path[:1] == ["products"] and len(path) == 2 and method == "GET":
            product = self.products.get(int(path[1]))
            if product is None:
                return 404, {}, json.dumps({"detail": "No Product matches the given query."})
            return 200, {}, json.dumps(self.product_json(product))
        if path[:1] == ["stockrecords"] and len(path) == 2:
            return self._stockrecord(request, int(path[1]))
        if path == ["baskets"] and method == "GET" and self.basket_views:
            return self._basket_changes(query)
        if path[:1] == ["baskets"] and len(path) == 2 and method == "DELETE" and self.basket_views:
            basket = self.baskets.get(int(path[1]))
            if basket is None:
                return 404, {}, json.dumps({"detail": "No Basket matches the given query."})
            if basket["status"] not in ("Open", "Saved"):
                return 200, {}, json.dumps({"deleted": False, "status": basket["status"]})
            del self.baskets[basket["id"]]
            return 204, {}, ""
        if path == ["orders"] and method == "GET":
            ids = sorted(self.orders, key=lambda i: self.orders[i]["placed"], reverse=True)
            return self._page("orders", [self.order_json(i) for i in ids], query)
        if path[:1] == ["orders"] and path[2:] == ["lines"] and method == "GET":
            order_id = int(path[1])
            items = [self.line_json(order_id, line) for line in self.lines.get(order_id, [])]
            return self._page(f"orders/{order_id}/lines", items, query)
        return 404, {"Content-Type": "text/html"}, "<h1>Not Found</h1>"

    def _stockrecord(self, request: Any, record_id: int) -> Any:
        record = self.records.get(record_id)
        if record is None:
            return 404, {}, json.dumps({"detail": "No StockRecord matches the given query."})
        if request.method == "GET":
            return 200, {}, json.dumps(self.record_json(record))
        if request.method != "PATCH":
            return 405, {}, json.dumps({"detail": f'Method "{request.method}" not allowed.'})
        body = json.loads(request.body)
        self.patches.append((record_id, body))
        if "num_in_stock" in body:
            value = body["num_in_stock"]
            if not isinstance(value, int) or value < 0:
                msg = "Ensure this value is greater than or equal to 0."
                return 400, {}, json.dumps({"num_in_stock": [msg]})
        if "price" in body and not isinstance(body["price"], str):
            return 400, {}, json.dumps({"price": ["A valid number is required."]})
        changed = {k: v for k, v in body.items() if record.get(k) != v}
        self.changes += len(changed)
        record.update(body)
        return 200, {}, json.dumps(self.record_json(record))

    def _page(self, name: str, items: list[dict[str, Any]], query: dict[str, list[str]]) -> Any:
        page = int((query.get("page") or ["1"])[0])
        chunk = items[(page - 1) * PAGE : page * PAGE]
        more = page * PAGE < len(items)
        body = {
            "count": len(items),
            "next": f"{API}/admin/{name}/?page={page + 1}" if more else None,
            "previous": f"{API}/admin/{name}/?page={page - 1}" if page > 1 else None,
            "results": chunk,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    # -- baskets: the shop-side BasketChanges view --------------------------------------

    def changed(self, basket: dict[str, Any]) -> datetime:
        return max([basket["created"], *(line["updated"] for line in basket["lines"])])

    def basket_row(self, basket: dict[str, Any]) -> dict[str, Any]:
        owner = basket["owner"]
        lines = []
        for line in basket["lines"]:
            record = self.records[line["record"]]
            lines.append(
                {
                    "id": line["id"],
                    "product": record["product"],
                    "upc": self.products[record["product"]]["upc"],
                    "title": self.products[record["product"]]["title"],
                    "stockrecord": record["id"],
                    "partner": self.partners[record["partner"]],
                    "partner_sku": record["partner_sku"],
                    "quantity": line["quantity"],
                    "price_currency": record["price_currency"],
                    "price_excl_tax": line["price"],
                    "price_incl_tax": line["price"],
                    "date_updated": line["updated"].isoformat(),
                }
            )
        return {
            "id": basket["id"],
            "status": basket["status"],
            "changed": self.changed(basket).isoformat(),
            "date_created": basket["created"].isoformat(),
            "date_merged": None,
            "date_submitted": None,
            "owner": None if owner is None else {"id": owner[0], "email": owner[1]},
            "order": basket["order"],
            "currency": lines[0]["price_currency"] if lines else "EUR",
            "lines": lines,
        }

    def _basket_changes(self, query: dict[str, list[str]]) -> Any:
        since_text = (query.get("since") or [""])[0]
        since = datetime.fromisoformat(since_text) if since_text else None
        after = int((query.get("after") or ["0"])[0])
        limit = int((query.get("limit") or ["100"])[0])
        rows = sorted(self.baskets.values(), key=lambda b: (self.changed(b), b["id"]))
        if since is not None:
            rows = [b for b in rows if (self.changed(b), b["id"]) > (since, after)]
        page = [self.basket_row(b) for b in rows[:limit]]
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"results": page, "more": len(rows) > limit}),
        )

    # -- baskets: oscar-api as an anonymous shopper ------------------------------------------

    def _add_line(
        self, basket: dict[str, Any], record_id: int, quantity: int, moment: datetime
    ) -> None:
        record = self.records[record_id]
        basket["lines"].append(
            {
                "id": sum(len(b["lines"]) for b in self.baskets.values()) + 1,
                "record": record_id,
                "quantity": quantity,
                "price": record["price"],
                "updated": moment,
            }
        )

    def _shopper_basket_json(self, basket: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": basket["id"],
            "owner": None,
            "status": basket["status"],
            "lines": f"{API}/baskets/{basket['id']}/lines/",
            "url": f"{API}/baskets/{basket['id']}/",
            "currency": "EUR" if basket["lines"] else None,
        }

    def _shopper_line_json(self, basket: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        record = self.records[line["record"]]
        total = str(Decimal(line["price"]) * line["quantity"])
        return {
            "url": f"{API}/baskets/{basket['id']}/lines/{line['id']}/",
            "product": f"{API}/products/{record['product']}/",
            "quantity": line["quantity"],
            "attributes": [],
            "price_currency": record["price_currency"],
            "price_excl_tax": total,
            "price_incl_tax": total,
            "basket": f"{API}/baskets/{basket['id']}/",
            "stockrecord": f"{API}/products/{record['product']}/stockrecords/{record['id']}/",
        }

    def _shopper(self, request: Any, path: list[str]) -> Any:
        self.shopper_calls.append((request.method, request.url, "Authorization" in request.headers))
        cookies = request.headers.get("Cookie", "")
        key = next(
            (c.split("=", 1)[1] for c in cookies.split("; ") if c.startswith("sessionid=")), None
        )
        headers = {"Content-Type": "application/json"}
        if key not in self.django_sessions:
            key = None
        mine = self.django_sessions.get(key) if key else None
        method = request.method
        if path == ["basket"] and method == "GET":
            if mine is None or self.baskets.get(mine, {}).get("status") != "Open":
                if key is None:
                    key = f"session{len(self.django_sessions) + 1:028d}"
                    headers["Set-Cookie"] = f"sessionid={key}; HttpOnly; Path=/"
                mine = self.add_basket([])
                self.django_sessions[key] = mine
            return 200, headers, json.dumps(self._shopper_basket_json(self.baskets[mine]))
        if path == ["basket", "add-product"] and method == "POST":
            basket = self.baskets.get(mine) if mine else None
            if basket is None:
                return 401, headers, json.dumps({"detail": "no basket"})
            body = json.loads(request.body)
            product = int(body["url"].rstrip("/").rsplit("/", 1)[-1])
            record = next(r for r in self.records.values() if r["product"] == product)
            if body["quantity"] > record["num_in_stock"]:
                reason = f"a maximum of {record['num_in_stock']} can be bought"
                return 406, headers, json.dumps({"reason": reason})
            self._add_line(basket, record["id"], body["quantity"], self.tick())
            return 200, headers, json.dumps(self._shopper_basket_json(basket))
        if path[:1] == ["baskets"] and len(path) >= 2:
            basket = self.baskets.get(int(path[1]))
            if basket is None or basket["status"] not in ("Open", "Saved"):
                return 404, headers, json.dumps({"detail": "No Basket matches the given query."})
            if mine != basket["id"]:
                return (
                    401,
                    headers,
                    json.dumps({"detail": "Authentication credentials were not provided."}),
                )
            return self._shopper_on_basket(request, basket, path[2:], headers)
        return 404, {"Content-Type": "text/html"}, "<h1>Not Found</h1>"

    def _shopper_on_basket(
        self, request: Any, basket: dict[str, Any], rest: list[str], headers: dict[str, str]
    ) -> Any:
        method = request.method
        if not rest:
            if method == "DELETE":
                del self.baskets[basket["id"]]
                return 204, headers, ""
            return 200, headers, json.dumps(self._shopper_basket_json(basket))
        if rest == ["lines"]:
            items = [self._shopper_line_json(basket, line) for line in basket["lines"]]
            body = {"count": len(items), "next": None, "previous": None, "results": items}
            return 200, headers, json.dumps(body)
        line = next((x for x in basket["lines"] if [str(x["id"])] == rest[1:]), None)
        if rest[:1] != ["lines"] or line is None:
            return 404, headers, json.dumps({"detail": "No Line matches the given query."})
        if method == "DELETE":
            basket["lines"].remove(line)
            return 204, headers, ""
        if method == "PATCH":
            line["quantity"] = json.loads(request.body)["quantity"]
            line["updated"] = self.tick()
        return 200, headers, json.dumps(self._shopper_line_json(basket, line))


def _any_url(site: str) -> Any:
    import re

    return re.compile(re.escape(site) + r"/.*")
