"""A scripted Odoo behind ``responses``: the JSON-RPC endpoint the connector calls.

``POST <url>/jsonrpc`` answers ``common.authenticate`` (the uid, or ``false`` for wrong
credentials) and ``object.execute_kw`` (``search_read``, ``search_count``, ``fields_get``)
the way Odoo 16/17 do: records as ``search_read`` returns them (many2one ``[id, "name"]``,
``false`` for empty fields, Float and Monetary values as JSON floats written by Python's
``repr``), errors as JSON-RPC ``error`` objects with HTTP 200. Domains are evaluated (prefix
``&``/``|``/``!``, implicit AND) and ``write_date`` keeps microseconds internally, as
PostgreSQL does, while answers show whole seconds, as Odoo's JSON does.

Also the contract kit's harness: forced HTTP statuses, network failures, seeded orders.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import responses

DATA = Path(__file__).parent / "data"
URL = "https://odoo.example.com"
DATABASE = "brique-demo"
USERNAME = "brique-bot"
API_KEY = "0f3c1b7e9a2d4c6e8f0a1b2c3d4e5f6a7b8c9d0e"
UID = 7
SECOND = "%Y-%m-%d %H:%M:%S"

MODELS = {
    "pos.config": "pos_config.json",
    "pos.order": "pos_order.json",
    "pos.order.line": "pos_order_line.json",
    "pos.payment": "pos_payment.json",
    "product.product": "product_product.json",
    "res.partner": "res_partner.json",
    "res.currency": "res_currency.json",
}
DATETIME_FIELDS = {"write_date", "date_order", "create_date", "payment_date"}


def load(name: str) -> Any:
    """A fixture as Odoo's JSON has it: floats stay Python floats, as on the server."""
    return json.loads((DATA / name).read_text())


def settings(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": URL,
        "database": DATABASE,
        "username": USERNAME,
        "api_key": API_KEY,
        "timezone": "Europe/Brussels",
        "start_at": "2024-03-01T00:00:00Z",
        "overlap_seconds": 0,
    }
    base.update(overrides)
    return base


def rpc_error(name: str, message: str, code: int = 200) -> dict[str, Any]:
    return {
        "code": code,
        "message": "Odoo Server Error",
        "data": {
            "name": name,
            "debug": f"Traceback (most recent call last):\n{name}: {message}\n",
            "message": message,
            "arguments": [message],
            "context": {},
        },
    }


class FakeOdoo:
    """One database's records and Odoo's JSON-RPC rules; ``__call__`` is the callback."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, dict[str, Any]]] = {
            model: {row["id"]: row for row in load(name)} for model, name in MODELS.items()
        }
        self.precise: dict[int, datetime] = {
            order_id: _parse(order["write_date"])
            for order_id, order in self.tables["pos.order"].items()
        }
        """pos.order id -> write_date with microseconds (what PostgreSQL holds)."""
        self.hidden: dict[str, set[str]] = {}
        """Fields this Odoo version lacks, per model (``fields_get`` leaves them out)."""
        self.calls: list[dict[str, Any]] = []
        self.bodies: list[Any] = []
        """Every HTTP request body received, decoded (forced answers included)."""
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None
        self.rpc_errors: dict[str, dict[str, Any]] = {}
        """``"<model>.<method>"`` or ``"common.authenticate"`` -> the error to answer."""
        self.ignore_domain = False
        """Answer every search_read as if the domain were empty (a broken proxy or module)."""
        self.on_search: Any = None
        """Called before each pos.order search_read (to change data mid-read)."""

    # -- seeding --------------------------------------------------------------------------

    def add_order(
        self,
        order_id: int,
        write_date: str,
        *,
        microsecond: int = 0,
        state: str = "paid",
        config: int = 1,
        template: int = 102,
    ) -> dict[str, Any]:
        """A copy of order ``template`` (lines and payments too) as ``order_id``."""
        order = copy.deepcopy(self.tables["pos.order"][template])
        order.update(
            id=order_id,
            name=f"Shop/{order_id:04d}",
            pos_reference=f"Order 00020-001-{order_id % 10000:04d}",
            sequence_number=order_id,
            write_date=write_date,
            date_order=write_date,
            state=state,
            config_id=[config, {1: "Shop", 2: "Bar"}[config]],
            lines=[],
            payment_ids=[],
        )
        for line in [
            row
            for row in self.tables["pos.order.line"].values()
            if _id(row["order_id"]) == template
        ]:
            new = copy.deepcopy(line)
            new["id"] = order_id * 10 + len(order["lines"])
            new["order_id"] = [order_id, order["name"]]
            self.tables["pos.order.line"][new["id"]] = new
            order["lines"].append(new["id"])
        for payment in [
            row
            for row in self.tables["pos.payment"].values()
            if _id(row["pos_order_id"]) == template
        ]:
            new = copy.deepcopy(payment)
            new["id"] = order_id * 10 + len(order["payment_ids"])
            new["pos_order_id"] = [order_id, order["name"]]
            self.tables["pos.payment"][new["id"]] = new
            order["payment_ids"].append(new["id"])
        self.tables["pos.order"][order_id] = order
        self.precise[order_id] = _parse(write_date).replace(microsecond=microsecond)
        return order

    def touch(self, order_id: int, write_date: str, microsecond: int = 0) -> None:
        """An order rewritten (e.g. posted by the session closing) at ``write_date``."""
        self.tables["pos.order"][order_id]["write_date"] = write_date
        self.precise[order_id] = _parse(write_date).replace(microsecond=microsecond)

    def seed(self, stream: str, count: int) -> None:
        """Kit ``StreamSource``: ``count`` paid orders changed one minute apart."""
        assert stream == "orders"
        start = 9000 + len(self.tables["pos.order"])
        base = datetime(2024, 4, 1, 8, 0, 0)
        for n in range(count):
            moment = (base + timedelta(minutes=start - 9000 + n)).strftime(SECOND)
            self.add_order(start + n, moment)

    def search_calls(self, model: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c.get("model") == model and c["method"] == "search_read"]

    # -- kit harness ----------------------------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    @contextmanager
    def serving(self) -> Iterator[FakeOdoo]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.POST, re.compile(re.escape(URL) + r"/.*"), callback=self)
            yield self

    # -- dispatch -------------------------------------------------------------------------

    def __call__(self, request: Any) -> tuple:
        self.bodies.append(json.loads(request.body) if request.body else None)
        if self.error is not None:
            raise self.error
        if self.forced is not None:
            status, headers = self.forced
            return status, {"Content-Type": "text/html", **headers}, f"<h1>HTTP {status}</h1>"
        if request.path_url != "/jsonrpc":
            return 404, {"Content-Type": "text/html"}, "<h1>Not Found</h1>"
        assert request.headers.get("Content-Type") == "application/json"
        body = json.loads(request.body)
        assert body["jsonrpc"] == "2.0" and body["method"] == "call"
        params = body["params"]
        service, method, args = params["service"], params["method"], params["args"]
        try:
            result = self._dispatch(service, method, args)
        except _RpcError as exc:
            return self._answer(body["id"], error=exc.error)
        return self._answer(body["id"], result=result)

    @staticmethod
    def _answer(request_id: Any, **outcome: Any) -> tuple:
        # json.dumps writes floats with repr(): 0.30000000000000004 stays as Odoo writes it.
        text = json.dumps({"jsonrpc": "2.0", "id": request_id, **outcome})
        return 200, {"Content-Type": "application/json"}, text

    def _dispatch(self, service: str, method: str, args: list[Any]) -> Any:
        if service == "common" and method == "authenticate":
            self.calls.append({"service": service, "method": method})
            self._maybe_fail("common.authenticate")
            db, login, key, user_agent_env = args
            assert isinstance(user_agent_env, dict)
            return UID if (db, login, key) == (DATABASE, USERNAME, API_KEY) else False
        if service == "common" and method == "version":
            return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0]}
        assert (service, method) == ("object", "execute_kw"), (service, method)
        db, uid, key, model, name, positional, keywords = args
        self.calls.append(
            {"service": service, "method": name, "model": model, "args": positional, **keywords}
        )
        if (db, uid, key) != (DATABASE, UID, API_KEY):
            raise _RpcError(rpc_error("odoo.exceptions.AccessDenied", "Access Denied"))
        self._maybe_fail(f"{model}.{name}")
        if model not in self.tables:
            raise _RpcError(rpc_error("builtins.KeyError", repr(model)))
        if name == "fields_get":
            return {f: {"type": "char"} for f in self._fields(model)}
        if name == "search_count":
            return len(self._search(model, positional[0]))
        if name == "search_read":
            return self._search_read(model, positional, keywords)
        raise _RpcError(rpc_error("builtins.AttributeError", f"The method '{name}' does not exist"))

    def _maybe_fail(self, where: str) -> None:
        error = self.rpc_errors.get(where)
        if error is not None:
            raise _RpcError(error)

    # -- ORM ------------------------------------------------------------------------------

    def _fields(self, model: str) -> set[str]:
        known = {"id", "display_name", "write_date", "create_date"}
        for row in self.tables[model].values():
            known |= set(row)
        return known - self.hidden.get(model, set())

    def _search(self, model: str, domain: list[Any]) -> list[dict[str, Any]]:
        rows = list(self.tables[model].values())
        if model in ("product.product", "res.partner", "res.currency", "pos.config"):
            rows = [r for r in rows if r.get("active", True)]  # active_test (overridden below)
        if self.ignore_domain:
            return rows
        return [row for row in rows if self._matches(model, row, domain)]

    def _search_read(self, model: str, positional: list[Any], kw: dict[str, Any]) -> Any:
        domain = positional[0] if positional else kw.get("domain", [])
        fields = kw.get("fields") or []
        unknown = [f for f in fields if f not in self._fields(model)]
        if unknown:
            raise _RpcError(
                rpc_error("builtins.ValueError", f"Invalid field {unknown[0]!r} on model {model!r}")
            )
        if model == "pos.order" and self.on_search is not None:
            self.on_search(self)
        context = kw.get("context") or {}
        rows = (
            [r for r in self.tables[model].values() if self._matches(model, r, domain)]
            if context.get("active_test") is False and not self.ignore_domain
            else self._search(model, domain)
        )
        order = (kw.get("order") or "id asc").replace(" ", "")
        if order == "write_dateasc,idasc":
            assert model == "pos.order"
            rows.sort(key=lambda r: (self.precise[r["id"]], r["id"]))
        else:
            assert order == "idasc", order
            rows.sort(key=lambda r: r["id"])
        offset = kw.get("offset", 0)
        limit = kw.get("limit")
        rows = rows[offset : offset + limit if limit else None]
        return [
            {"id": r["id"], **{f: copy.deepcopy(r.get(f, False)) for f in fields}} for r in rows
        ]

    def _matches(self, model: str, row: dict[str, Any], domain: list[Any]) -> bool:
        stack: list[bool] = []
        for term in reversed(domain):
            if term == "&":
                stack.append(stack.pop() & stack.pop())
            elif term == "|":
                stack.append(stack.pop() | stack.pop())
            elif term == "!":
                stack.append(not stack.pop())
            else:
                stack.append(self._leaf(model, row, term))
        return all(stack)

    def _leaf(self, model: str, row: dict[str, Any], term: list[Any]) -> bool:
        name, operator, value = term
        if name not in self._fields(model):
            raise _RpcError(rpc_error("builtins.ValueError", f"Invalid field {name!r}"))
        if model == "pos.order" and name == "write_date":
            held: Any = self.precise[row["id"]]
            value = _parse(value)
        elif name in DATETIME_FIELDS:
            held, value = _parse(row[name]), _parse(value)
        else:
            held = row.get(name, False)
            if isinstance(held, list) and len(held) == 2 and isinstance(held[1], str):
                held = held[0]  # many2one [id, "name"]
        if operator == "in":
            if isinstance(held, list):  # x2many: any of its ids
                return bool(set(held) & set(value))
            return held in value
        if operator == "not in":
            return held not in value
        if operator == "=":
            return held == value
        if operator == "!=":
            return held != value
        if operator == ">=":
            return held >= value
        if operator == ">":
            return held > value
        if operator == "<=":
            return held <= value
        if operator == "<":
            return held < value
        raise AssertionError(f"operator {operator!r} not faked")


class _RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["data"]["message"])
        self.error = error


def _parse(value: str) -> datetime:
    return datetime.strptime(value, SECOND)


def _id(value: Any) -> int:
    return value[0] if isinstance(value, list) else value
