"""Test doubles for the PrestaShop connector: a fake clock and an in-memory Webservice.

``FakePrestaShop`` answers through ``responses`` the way ``WebserviceRequest`` does, in the
documented XML shapes (``data/*.xml`` are the same shapes, written out): resources rendered
field by field in CDATA with ``xlink:href``, lists (minimal, ``display=full`` or a field list),
``filter[...]`` with PrestaShop's operators (``[a|b]``, ``[a,b]`` as BETWEEN, ``%[x]%`` LIKE,
case-insensitive equality), ``date=1`` required to filter on dates, ``sort``, ``limit=o,n``;
HTTP Basic with the key as user name; a PUT that sets every optional field left out to NULL
and refuses non-writable fields (error 93), as ``saveEntityFromXml`` does.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import responses
from lxml import etree

SHOP_URL = "https://shop.example.test"
API = f"{SHOP_URL}/api/"
API_KEY = "ZQ88PRJX5VWQHCWE4EE7SQ7HPNX00RAJ"
TIMEZONE = "Europe/Paris"
DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
"""The tests' wall clock: 13:00 in the shop (Europe/Paris, winter time)."""

HEADERS = {
    "Content-Type": "text/xml;charset=utf-8",
    "X-Powered-By": "PrestaShop Webservice",
    "PSWS-Version": "8.2.0",
}


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def make_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "shop_url": SHOP_URL,
        "api_key": API_KEY,
        "timezone": TIMEZONE,
        "poll_page_size": 3,
        "settle_seconds": 0,
    }
    config.update(overrides)
    return config


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 1e-6)


# -- rendering, in WebserviceOutputXML's layout ---------------------------------------------

XLINKS = {
    "id_product": "products",
    "id_shop": "shops",
    "id_currency": "currencies",
    "id_customer": "customers",
    "id_carrier": "carriers",
    "current_state": "order_states",
    "id_lang": "languages",
    "id_tax_rules_group": "tax_rule_groups",
    "id_category_default": "categories",
}


def _field(name: str, value: Any) -> str:
    if isinstance(value, dict):  # i18n: language id -> text
        inner = "".join(
            f'<language id="{lang}"><![CDATA[{text}]]></language>' for lang, text in value.items()
        )
        return f"\t<{name}>{inner}</{name}>\n"
    href = f' xlink:href="{API}{XLINKS[name]}/{value}"' if name in XLINKS and value != "" else ""
    body = f"<![CDATA[{value}]]>" if value != "" else ""
    return f"\t<{name}{href}>{body}</{name}>\n"


def _document(content: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n' + content + "</prestashop>\n"
    ).encode()


def error_document(code: int | str, message: str) -> bytes:
    return _document(
        f"<errors>\n<error>\n<code><![CDATA[{code}]]></code>\n"
        f"<message><![CDATA[{message}]]></message>\n</error>\n</errors>\n"
    )


@dataclass
class Resource:
    """One kind of resource: its node names, its fields in order, its rows by id."""

    plural: str
    node: str
    fields: tuple[str, ...]
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    not_writable: tuple[str, ...] = ()
    virtual: tuple[str, ...] = ()
    """Fields computed by a getter: left out of a PUT, they keep their value."""
    required: tuple[str, ...] = ()
    writable: bool = True

    def render(self, row: dict[str, Any], only: list[str] | None = None) -> str:
        names = only if only is not None else list(self.fields)
        out = "".join(_field(name, row.get(name, "")) for name in names)
        rows = row.get("order_rows")
        if only is None and rows is not None:
            out += '<associations>\n<order_rows nodeType="order_row" virtualEntity="true">\n'
            for line in rows:
                out += "\t<order_row>\n" + "".join(_field(k, v) for k, v in line.items())
                out += "\t</order_row>\n"
            out += "</order_rows>\n</associations>\n"
        return f"<{self.node}>\n{out}</{self.node}>\n"


STOCK_FIELDS = (
    "id",
    "id_product",
    "id_product_attribute",
    "id_shop",
    "id_shop_group",
    "quantity",
    "depends_on_stock",
    "out_of_stock",
    "location",
)
PRODUCT_FIELDS = (
    "id",
    "id_category_default",
    "id_tax_rules_group",
    "position_in_category",
    "manufacturer_name",
    "quantity",
    "type",
    "reference",
    "ean13",
    "on_sale",
    "ecotax",
    "price",
    "wholesale_price",
    "active",
    "name",
    "link_rewrite",
)
COMBINATION_FIELDS = ("id", "id_product", "reference", "ean13", "price", "quantity")
ORDER_FIELDS = (
    "id",
    "id_currency",
    "id_lang",
    "id_customer",
    "current_state",
    "valid",
    "date_add",
    "date_upd",
    "id_shop",
    "secure_key",
    "total_paid",
    "total_paid_tax_incl",
    "reference",
)
DATE_FIELDS = ("date_add", "date_upd")

_FILTER = re.compile(r"^(.*)\[(.*)\](.*)$")
_INTERVAL = re.compile(r"^([\d.:\-\s]+),([\d.:\-\s]+)$")


def _matches(value: str, expression: str) -> bool:
    """PrestaShop's filter operators (SQLUtils::getSQLRetrieveFilter), with MySQL's
    case-insensitive comparisons."""
    found = _FILTER.match(expression)
    if not found:
        return value.lower() == expression.lower()
    before, inner, after = found.groups()
    if before == "%" or after == "%":
        pattern = re.escape(before + inner + after).replace("%", ".*").replace("_", ".")
        return re.fullmatch(pattern, value, re.IGNORECASE | re.DOTALL) is not None
    if before == "" and after == "":
        if "|" in inner[1:]:
            return value.lower() in {v.lower() for v in inner.split("|")}
        interval = _INTERVAL.match(inner)
        if interval:
            # PHP's sort() orders numeric strings as numbers
            low, high = sorted(
                interval.groups(), key=lambda v: (0, int(v), "") if v.isdigit() else (1, 0, v)
            )
            return _sql_between(value, low, high)
        return value.lower() == inner.lower()
    if before == ">":
        return value > inner
    if before == "<":
        return value < inner
    raise ValueError(expression)


def _sort_key(value: Any, numeric: bool) -> Any:
    if numeric:
        return int(value) if str(value).isdigit() else -1
    return str(value)


def _sql_between(value: str, low: str, high: str) -> bool:
    if value.isdigit() and low.isdigit() and high.isdigit():
        return int(low) <= int(value) <= int(high)
    return low <= value <= high


class FakePrestaShop:
    """An in-memory PrestaShop Webservice behind ``responses``."""

    def __init__(self) -> None:
        self.stock = Resource("stock_availables", "stock_available", STOCK_FIELDS)
        self.products = Resource(
            "products",
            "product",
            PRODUCT_FIELDS,
            not_writable=("manufacturer_name", "quantity"),
            virtual=("position_in_category",),
            required=("price",),
        )
        self.combinations = Resource(
            "combinations", "combination", COMBINATION_FIELDS, writable=False
        )
        self.orders = Resource("orders", "order", ORDER_FIELDS, writable=False)
        self.currencies = {1: "EUR", 2: "USD"}
        self.resources = {
            r.plural: r for r in (self.stock, self.products, self.combinations, self.orders)
        }
        self.permissions: dict[str, set[str]] = {
            "stock_availables": {"get", "put", "head"},
            "products": {"get", "put", "head"},
            "combinations": {"get", "head"},
            "orders": {"get", "head"},
            "currencies": {"get", "head"},
        }
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.puts: list[tuple[str, bytes]] = []
        self.applied = 0
        self.ignore_paging = False
        self.ignore_query = False
        """Answer every list the first answer given (a cache ignoring query strings)."""
        self._frozen: dict[str, tuple[int, Mapping[str, str], bytes]] = {}
        self.on_request: list[Any] = []
        """Callables run before each answer (to change data between two calls)."""

    # -- seeding ------------------------------------------------------------------------

    def add_product(self, pid: int, reference: str, price: str = "10.000000") -> None:
        self.products.rows[pid] = {
            "id": str(pid),
            "id_category_default": "2",
            "id_tax_rules_group": "1",
            "position_in_category": "3",
            "manufacturer_name": "Studio Design",
            "quantity": "0",
            "type": "simple",
            "reference": reference,
            "ean13": "",
            "on_sale": "0",
            "ecotax": "0.000000",
            "price": price,
            "wholesale_price": "4.000000",
            "active": "1",
            "name": {"1": f"Product {pid}", "2": f"Produit {pid}"},
            "link_rewrite": {"1": f"product-{pid}", "2": f"produit-{pid}"},
        }

    def add_combination(self, cid: int, pid: int, reference: str, impact: str = "0.000000"):
        self.combinations.rows[cid] = {
            "id": str(cid),
            "id_product": str(pid),
            "reference": reference,
            "ean13": "",
            "price": impact,
            "quantity": "0",
        }

    def add_stock(
        self, sid: int, pid: int, attribute: int = 0, quantity: int = 0, shop: int = 1
    ) -> None:
        self.stock.rows[sid] = {
            "id": str(sid),
            "id_product": str(pid),
            "id_product_attribute": str(attribute),
            "id_shop": str(shop),
            "id_shop_group": "0",
            "quantity": str(quantity),
            "depends_on_stock": "0",
            "out_of_stock": "2",
            "location": "",
        }

    def add_order(
        self,
        oid: int,
        date_upd: str,
        *,
        reference: str | None = None,
        state: str = "2",
        date_add: str | None = None,
        rows: list[dict[str, str]] | None = None,
        currency: int = 1,
    ) -> None:
        self.orders.rows[oid] = {
            "id": str(oid),
            "id_currency": str(currency),
            "id_lang": "1",
            "id_customer": "2",
            "current_state": state,
            "valid": "1" if state in {"2", "3", "4", "5", "11"} else "0",
            "date_add": date_add or date_upd,
            "date_upd": date_upd,
            "id_shop": "1",
            "secure_key": "b44a6d9efd7a0076a0fbce6b15eaf3b1",
            "total_paid": "23.900000",
            "total_paid_tax_incl": "23.900000",
            "reference": reference if reference is not None else f"REF{oid:06d}",
            "order_rows": rows
            if rows is not None
            else [
                {
                    "id": str(oid * 10),
                    "product_id": "2",
                    "product_attribute_id": "0",
                    "product_quantity": "1",
                    "product_name": "Hummingbird printed t-shirt",
                    "product_reference": "demo_2",
                    "product_price": "19.916667",
                    "unit_price_tax_incl": "23.900000",
                    "unit_price_tax_excl": "19.916667",
                }
            ],
        }

    # -- what tests look at ---------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[Any]:
        return [
            r
            for r in self.requests
            if (method is None or r[0] == method) and (path in (None, r[1]))
        ]

    def stock_puts(self) -> list[tuple[str, bytes]]:
        return [(p, b) for p, b in self.puts if p.startswith("stock_availables/")]

    # -- the HTTP side --------------------------------------------------------------------

    @contextmanager
    def serving(self) -> Iterator[FakePrestaShop]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            self.install(mock)
            yield self

    def install(self, mock: responses.RequestsMock) -> None:
        pattern = re.compile(re.escape(API) + r".*")
        for method in (responses.GET, responses.PUT):
            mock.add_callback(method, pattern, callback=self)

    def __call__(self, request: Any) -> tuple[int, Mapping[str, str], bytes]:
        parts = urlsplit(request.url)
        path = parts.path[len("/api/") :].strip("/")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.requests.append((request.method, path, params))
        for hook in list(self.on_request):
            hook(request.method, path, params)
        if not self._authorized(request):
            return (
                401,
                {**HEADERS, "WWW-Authenticate": 'Basic realm="Welcome to PrestaShop Webservice"'},
                error_document(18, "Invalid authentication key format"),
            )
        if path == "":
            return 200, HEADERS, self._api_root()
        resource, _, ident = path.partition("/")
        method = request.method.lower()
        if resource not in self.permissions:
            return (
                400,
                HEADERS,
                error_document(27, f'Resource of type "{resource}" does not exists'),
            )
        if method not in self.permissions[resource]:
            return (
                405,
                HEADERS,
                error_document(
                    25,
                    f"Method {request.method} is not allowed for the resource {resource} "
                    "with this authentication key",
                ),
            )
        if resource == "currencies":
            return self._currency(ident)
        table = self.resources[resource]
        if request.method == "PUT":
            return self._put(table, ident, request.body)
        if ident:
            return self._get_one(table, ident, params)
        if self.ignore_query:
            return self._frozen.setdefault(resource, self._list(table, params))
        return self._list(table, params)

    def _authorized(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == API_KEY and password == ""

    def _api_root(self) -> bytes:
        out = '<api shopName="Brique Test Shop">\n'
        for name, methods in sorted(self.permissions.items()):
            flags = " ".join(
                f'{m}="{"true" if m in methods else "false"}"'
                for m in ("get", "put", "post", "patch", "delete", "head")
            )
            out += f'<{name} xlink:href="{API}{name}" {flags}>\n</{name}>\n'
        return _document(out + "</api>\n")

    def _currency(self, ident: str) -> tuple[int, Mapping[str, str], bytes]:
        code = self.currencies.get(int(ident)) if ident.isdigit() else None
        if code is None:
            return 404, HEADERS, b""
        body = f"<currency>\n{_field('id', ident)}{_field('iso_code', code)}</currency>\n"
        return 200, HEADERS, _document(body)

    def _get_one(
        self, table: Resource, ident: str, params: dict[str, str]
    ) -> tuple[int, Mapping[str, str], bytes]:
        row = table.rows.get(int(ident)) if ident.isdigit() else None
        if row is None:
            return 404, HEADERS, b""
        language = params.get("language")
        if language:
            row = {
                k: ({language: v[language]} if isinstance(v, dict) else v) for k, v in row.items()
            }
        return 200, HEADERS, _document(table.render(row))

    def _list(
        self, table: Resource, params: dict[str, str]
    ) -> tuple[int, Mapping[str, str], bytes]:
        rows = list(table.rows.values())
        for key, expression in params.items():
            found = re.fullmatch(r"filter\[(\w+)\]", key)
            if not found:
                continue
            name = found.group(1)
            if name in DATE_FIELDS and params.get("date") != "1":
                return 400, HEADERS, error_document(32, "This filter does not exist")
            if name not in table.fields:
                return 400, HEADERS, error_document(32, "This filter does not exist")
            rows = [r for r in rows if _matches(str(r.get(name, "")), expression)]
        sort = params.get("sort")
        if sort:
            for term in reversed(sort.strip("[]").split(",")):
                name, _, direction = term.rpartition("_")
                numeric = name == "id" or name.startswith("id_")
                rows.sort(
                    key=lambda r, n=name, num=numeric: _sort_key(r.get(n, ""), num),
                    reverse=direction == "DESC",
                )
        else:
            rows.sort(key=lambda r: int(r["id"]))
        limit = params.get("limit")
        if limit and not self.ignore_paging:
            start, _, count = limit.partition(",")
            if count:
                rows = rows[int(start) : int(start) + int(count)]
            else:
                rows = rows[: int(start)]
        display = params.get("display")
        if display is None:
            items = "".join(
                f'<{table.node} id="{r["id"]}" xlink:href="{API}{table.plural}/{r["id"]}"/>\n'
                for r in rows
            )
        elif display == "full":
            items = "".join(table.render(r) for r in rows)
        else:
            only = display.strip("[]").split(",")
            items = "".join(table.render(r, only) for r in rows)
        return 200, HEADERS, _document(f"<{table.plural}>\n{items}</{table.plural}>\n")

    def _put(
        self, table: Resource, ident: str, body: bytes | str
    ) -> tuple[int, Mapping[str, str], bytes]:
        raw = body.encode() if isinstance(body, str) else body
        self.puts.append((f"{table.plural}/{ident}", raw))
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.fromstring(raw, parser)
        except etree.XMLSyntaxError as exc:
            return 500, HEADERS, error_document(127, f"XML error : {exc}")
        entity = root.find(table.node)
        if entity is None or (entity.findtext("id") or "").strip() != ident:
            return 400, HEADERS, error_document(90, "id is required when modifying a resource")
        row = table.rows.get(int(ident)) if ident.isdigit() else None
        if row is None:
            return 404, HEADERS, error_document(92, "Invalid ID")
        new: dict[str, Any] = {}
        for name in table.fields:
            node = entity.find(name)
            if node is not None and name in table.not_writable:
                return (
                    400,
                    HEADERS,
                    error_document(
                        93,
                        f'parameter "{name}" not writable. '
                        "Please remove this attribute of this XML",
                    ),
                )
            if node is None:
                if name in table.required:
                    return 400, HEADERS, error_document(41, f'parameter "{name}" required')
                # What saveEntityFromXml does with an optional field left out: NULL.
                kept = name in table.not_writable or name in table.virtual
                new[name] = row[name] if kept else ""
            elif len(node):
                # Languages left out keep their texts (the object is loaded, then set).
                sent = {lang.get("id"): (lang.text or "") for lang in node}
                new[name] = {**row[name], **sent} if isinstance(row[name], dict) else sent
            else:
                new[name] = (node.text or "").strip()
        if table is self.stock and new["quantity"] != row["quantity"]:
            self.applied += 1
        row.update(new)
        return 200, HEADERS, _document(table.render(row))


class ShopHarness:
    """The contract kit's ``RemoteHarness`` over ``FakePrestaShop``."""

    def __init__(self, shop: FakePrestaShop | None = None) -> None:
        self.shop = shop or FakePrestaShop()
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None
        self.seeded = 0

    def __call__(self, request: Any) -> tuple[int, Mapping[str, str], bytes]:
        if self.error is not None:
            raise self.error
        if self.forced is not None:
            status, headers = self.forced
            return status, {**HEADERS, **headers}, error_document(status, f"HTTP {status}")
        return self.shop(request)

    # FailingRemote
    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    # WriteRecorder
    def applied_changes(self) -> int:
        return self.shop.applied

    def write_call_sizes(self) -> list[int]:
        return [1 for _ in self.shop.stock_puts()]

    # StreamSource
    def seed(self, stream: str, count: int) -> None:
        assert stream == "orders", stream
        for _ in range(count):
            self.seeded += 1
            n = self.seeded
            # Two orders per second at times, as a busy shop has them.
            self.shop.add_order(1000 + n, f"2026-02-{1 + n // 40:02d} 10:{(n // 2) % 60:02d}:00")

    @contextmanager
    def serving(self) -> Iterator[ShopHarness]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            pattern = re.compile(re.escape(API) + r".*")
            for method in (responses.GET, responses.PUT):
                mock.add_callback(method, pattern, callback=self)
            yield self
