"""A scripted trytond 8.2 behind ``responses``: the JSON-RPC endpoint the connector calls.

Shaped like the exchanges verified against a real server (PLATFORMS.md, Part B section 5,
and ``test_tryton_e2e``): ``POST <url>/<db>/rpc/`` with ``{"id", "method", "params"}``;
``common.db.login`` answers ``[user_id, session, null]`` and a wrong password is a plain
HTTP 401 with an HTML body; later calls need ``Authorization: Session
base64(login:user_id:session)``; ``model.<model>.<method>`` takes the context last;
Decimal, date and datetime values travel as ``{"__class__": ...}`` objects, Float fields
(quantities) as JSON floats; a dotted field (``point.name``) answers under ``"point."``;
application errors are HTTP 200 with ``{"error": [name, args]}``.

Also the contract kit's harness: forced HTTP statuses, network failures, seeded sales.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import responses

URL = "https://erp.example.com"
DATABASE = "shop"
USERNAME = "brique"
PASSWORD = "middleware-secret-1"
UID = 4
SESSION = "213eb25b9c0e4f7a8d61648a"
PREFERENCES = {"company": 1, "companies": [1], "company_filter": "one", "language": "en"}

RELATIONS = {
    ("sale.point.sale", "point"): "sale.point",
    ("sale.point.sale", "currency"): "currency.currency",
    ("sale.point.sale.line", "product"): "product.product",
    ("sale.point.sale.line", "sale"): "sale.point.sale",
    ("sale.point.payment", "method"): "sale.point.payment.method",
    ("sale.point.payment", "sale"): "sale.point.sale",
    ("sale.point", "storage_location"): "stock.location",
}


def settings(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": URL,
        "database": DATABASE,
        "username": USERNAME,
        "password": PASSWORD,
        "timezone": "Europe/Paris",
        "start_at": "2026-11-01T00:00:00Z",
        "overlap_seconds": 0,
    }
    base.update(overrides)
    return base


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            **{
                k: getattr(value, k)
                for k in ("year", "month", "day", "hour", "minute", "second", "microsecond")
            },
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    raise TypeError(type(value).__name__)


def _decode(dct: dict[str, Any]) -> Any:
    kind = dct.get("__class__")
    if kind == "Decimal":
        return Decimal(dct["decimal"])
    if kind == "datetime":
        return dt.datetime(
            dct["year"], dct["month"], dct["day"], dct["hour"], dct["minute"],
            dct["second"], dct["microsecond"],
        )  # fmt: skip
    if kind == "date":
        return dt.date(dct["year"], dct["month"], dct["day"])
    return dct


class FakeTryton:
    """One database's records and trytond's JSON-RPC rules; ``__call__`` is the callback."""

    def __init__(self) -> None:
        at = dt.datetime(2026, 11, 23, 9, 0, 0, 120000)
        self.tables: dict[str, dict[int, dict[str, Any]]] = {
            "sale.point": {
                1: {"id": 1, "name": "Store 1", "storage_location": 3},
                2: {"id": 2, "name": "Store 2", "storage_location": 13},
            },
            "currency.currency": {1: {"id": 1, "code": "EUR", "digits": 2}},
            "stock.location": {3: {"id": 3, "code": "STO"}, 13: {"id": 13, "code": "STO2"}},
            "product.product": {
                1: {"id": 1, "code": "SKU-TSHIRT-BLUE", "name": "T-shirt blue"},
                2: {"id": 2, "code": "SKU-CAP", "name": "Cap"},
                3: {"id": 3, "code": None, "name": "Gift wrap"},
            },
            "sale.point.payment.method": {
                1: {"id": 1, "name": "Cash", "cash": True},
                2: {"id": 2, "name": "Terminal", "cash": False},
            },
            "sale.point.sale": {},
            "sale.point.sale.line": {},
            "sale.point.payment": {},
        }
        self.stock: dict[tuple[int, int], float] = {(1, 3): 8.0, (2, 3): 4.0, (1, 13): 1.0}
        """(product, location) -> quantity of done moves."""
        self.add_sale(1, at, [(1, 2.0, "12.0000")], [(1, "24.00")])
        self.add_sale(
            2,
            at + dt.timedelta(minutes=5),
            [(1, -1.0, "12.0000"), (3, 1.0, "0.5000")],
            [(1, "-11.50")],
        )
        self.add_sale(3, at + dt.timedelta(minutes=5), [(2, 1.5, "7.3333")], [(2, "11.00")])
        self.add_sale(4, at + dt.timedelta(minutes=6), [(2, 1.0, "9.00")], [], state="open")
        self.calls: list[dict[str, Any]] = []
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None
        self.rpc_errors: dict[str, list[Any]] = {}
        """``"<model>.<method>"`` -> the JSON-RPC ``error`` value to answer."""
        self.expire_next = 0
        """Answer this many more authenticated calls with 401 (an expired session)."""
        self.ignore_domain = False
        self.logins = 0

    # -- seeding --------------------------------------------------------------------------

    def add_sale(
        self,
        sale_id: int,
        written: dt.datetime,
        lines: list[tuple[int, float, str]],
        payments: list[tuple[int, str]],
        *,
        state: str = "posted",
        point: int = 1,
    ) -> dict[str, Any]:
        total = sum((Decimal(str(q)) * Decimal(p) for _, q, p in lines), Decimal(0))
        sale = {
            "id": sale_id,
            "number": str(sale_id) if state != "open" else None,
            "state": state,
            "date": written.date(),
            "point": point,
            "currency": 1,
            "total": total.quantize(Decimal("0.01")),
            "create_date": written - dt.timedelta(seconds=30),
            "write_date": written,
        }
        self.tables["sale.point.sale"][sale_id] = sale
        for product, quantity, price in lines:
            line_id = len(self.tables["sale.point.sale.line"]) + 1
            amount = (Decimal(str(quantity)) * Decimal(price)).quantize(Decimal("0.01"))
            self.tables["sale.point.sale.line"][line_id] = {
                "id": line_id,
                "sale": sale_id,
                "product": product,
                "quantity": quantity,
                "unit_price": Decimal(price),
                "unit_gross_price": Decimal(price),
                "unit_list_price": (Decimal(price) / Decimal("1.2")).quantize(Decimal("0.0001")),
                "amount": amount,
            }
        for method, amount_text in payments:
            payment_id = len(self.tables["sale.point.payment"]) + 1
            self.tables["sale.point.payment"][payment_id] = {
                "id": payment_id,
                "sale": sale_id,
                "method": method,
                "amount": Decimal(amount_text),
            }
        return sale

    def seed(self, stream: str, count: int) -> None:
        """Kit ``StreamSource``: ``count`` posted sales, several in the same microsecond."""
        assert stream == "sales"
        start = max(self.tables["sale.point.sale"]) + 1
        base = dt.datetime(2026, 11, 24, 8, 0, 0, 250000)
        for n in range(count):
            moment = base + dt.timedelta(minutes=(start + n) // 2)
            self.add_sale(start + n, moment, [(1, 1.0, "12.0000")], [(1, "12.00")])

    # -- kit harness ----------------------------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    @contextmanager
    def serving(self) -> Iterator[FakeTryton]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.POST, re.compile(re.escape(URL) + r"/.*"), callback=self)
            yield self

    def model_calls(self, model: str, method: str = "search_read") -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == f"model.{model}.{method}"]

    # -- dispatch -------------------------------------------------------------------------

    def __call__(self, request: Any) -> tuple:
        if self.error is not None:
            raise self.error
        if self.forced is not None:
            status, headers = self.forced
            return status, {"Content-Type": "text/html", **headers}, f"<h1>HTTP {status}</h1>"
        if request.path_url == f"/{DATABASE}/":
            return 405, {"Content-Type": "text/html"}, "<h1>Method Not Allowed</h1>"
        if request.path_url != f"/{DATABASE}/rpc/":
            return 404, {"Content-Type": "text/html"}, "<h1>Not Found</h1>"
        body = json.loads(request.body, object_hook=_decode)
        assert set(body) == {"id", "method", "params"}, body
        method, params = body["method"], body["params"]
        self.calls.append({"method": method, "params": params})
        if method == "common.db.login":
            login, parameters, _language = params
            if (login, parameters.get("password")) != (USERNAME, PASSWORD):
                return 401, {"Content-Type": "text/html"}, "<h1>Unauthorized</h1>"
            self.logins += 1
            return self._answer(body["id"], result=[UID, SESSION, None])
        raw = f"{USERNAME}:{UID}:{SESSION}".encode()
        if request.headers.get("Authorization") != "Session " + base64.b64encode(raw).decode():
            return 401, {"Content-Type": "text/html"}, "<h1>Unauthorized</h1>"
        if self.expire_next:
            self.expire_next -= 1
            return 401, {"Content-Type": "text/html"}, "<h1>Unauthorized</h1>"
        if method == "common.db.logout":
            return self._answer(body["id"], result=None)
        if method == "model.res.user.get_preferences":
            return self._answer(body["id"], result=PREFERENCES)
        assert method.startswith("model."), method
        model, name = method[len("model.") :].rsplit(".", 1)
        context = params[-1]
        assert isinstance(context, dict), "the context is always the last parameter"
        error = self.rpc_errors.get(f"{model}.{name}")
        if error is not None:
            return self._answer(body["id"], error=error)
        if model not in self.tables:
            return self._answer(body["id"], error=[f"'{model}'", "Traceback ..."])
        if name == "search_read":
            domain, offset, limit, order, fields, _ = params
            rows = self._search_read(model, domain, offset, limit, order, fields, context)
            return self._answer(body["id"], result=rows)
        if name == "search_count":
            return self._answer(body["id"], result=len(self._search(model, params[0])))
        return self._answer(body["id"], error=["UserError", [f"no {name} here", "", None]])

    @staticmethod
    def _answer(request_id: Any, **outcome: Any) -> tuple:
        text = json.dumps({"id": request_id, **outcome}, default=_encode)
        return 200, {"Content-Type": "application/json"}, text

    # -- ORM ------------------------------------------------------------------------------

    def _search(self, model: str, domain: list[Any]) -> list[dict[str, Any]]:
        rows = list(self.tables[model].values())
        if self.ignore_domain:
            return rows
        return [row for row in rows if self._matches(row, domain)]

    def _search_read(
        self, model: str, domain: Any, offset: int, limit: Any, order: Any, fields: Any, ctx: Any
    ) -> list[dict[str, Any]]:
        rows = self._search(model, domain)
        keys = [(name, direction) for name, direction in (order or [["id", "ASC"]])]
        assert all(direction == "ASC" for _, direction in keys)
        rows.sort(key=lambda r: tuple(r[name] for name, _ in keys))
        rows = rows[offset : offset + limit if limit else None]
        answer = []
        for row in rows:
            out: dict[str, Any] = {"id": row["id"]}
            for name in fields:
                if "." in name:
                    head, tail = name.split(".", 1)
                    target = RELATIONS[(model, head)]
                    related = self.tables[target].get(row.get(head))
                    if related is None:
                        out[f"{head}."] = None
                    else:
                        nested = out.setdefault(f"{head}.", {"id": related["id"]})
                        nested[tail] = self._value(target, related, tail)
                elif name == "quantity" and model == "product.product":
                    locations = ctx.get("locations") or []
                    out[name] = sum(self.stock.get((row["id"], loc), 0.0) for loc in locations)
                else:
                    if name not in row and name not in ("rec_name",):
                        return self._unknown(name)
                    out[name] = self._value(model, row, name)
            answer.append(copy.deepcopy(out))
        return answer

    @staticmethod
    def _unknown(name: str) -> Any:
        raise AssertionError(f"unknown field {name!r}")

    @staticmethod
    def _value(model: str, row: dict[str, Any], name: str) -> Any:
        if name == "rec_name" and model == "product.product":
            return f"[{row['code']}] {row['name']}" if row.get("code") else row["name"]
        if name == "rec_name":
            return row.get("name")
        return row.get(name)

    def _matches(self, row: dict[str, Any], domain: list[Any]) -> bool:
        if not domain:
            return True
        if isinstance(domain[0], str) and domain[0] in ("OR", "AND"):
            parts = [self._clause(row, part) for part in domain[1:]]
            return any(parts) if domain[0] == "OR" else all(parts)
        return all(self._clause(row, part) for part in domain)

    def _clause(self, row: dict[str, Any], clause: Any) -> bool:
        if clause and isinstance(clause[0], str) and clause[0] not in ("OR", "AND"):
            name, operator, value = clause
            held = row.get(name)
            if operator == "in":
                return held in value
            if operator == "=":
                return held == value
            if held is None:
                return False
            if operator == ">":
                return held > value
            if operator == ">=":
                return held >= value
            raise AssertionError(f"operator {operator!r} not faked")
        return self._matches(row, clause)
