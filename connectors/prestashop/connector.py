"""The PrestaShop connector: stock and product prices out, orders polled in (Webservice XML).

Stock. PrestaShop keeps what a shop may sell in ``stock_availables``, one row per product or
combination (and per shop, or per shop group when stock is shared). There is no batch write:
each item is one GET of ``/api/stock_availables/{id}`` then one PUT of the whole document as
read with only ``quantity`` changed (PUT sets every optional field left out to NULL). The GET
gives the quantity the shop holds, which makes the write compare-and-set and idempotent:

* the shop already holds the target (a replayed batch): counted as written, nothing is sent;
* ``previous`` is given and the shop holds something else (a web order, a hand edit): the
  item goes to ``WriteResult.stale`` with what the shop holds, and nothing is sent;
* otherwise the document is sent back with the new quantity.

GET and PUT are two calls and PrestaShop has no conditional PUT (no ETag), so a change landing
between them is overwritten: the outcome a refused compare-and-set reaches one round later
anyway, since Brique recomputes the quantity from its ledger and writes it again. A row whose
quantity PrestaShop computes from warehouses (``depends_on_stock``) is refused.

Locations are PrestaShop shop ids (``id_shop`` of the stock row; a row with ``id_shop`` 0, a
shop group's shared stock, is taken when the shop has no row of its own).

SKUs are product or combination ``reference``s, resolved once (combinations first, then
products; exact, case-sensitive matches only, PrestaShop's filter is case-insensitive) and
remembered in the binding table: ``prestashop_item`` (SKU -> ``id_product:id_product_attribute``)
and ``prestashop_stock_available`` (``SKU@shop`` -> stock row id). A bound row that is gone
(HTTP 404) is resolved again once.

Prices. PrestaShop stores a product's price tax excluded (``products.price``, 6 decimals; the
tax comes from ``id_tax_rules_group``), so the mapping's outbound rules must give this channel
the ``price`` field, tax excluded (``mappings/defaults/poslog-prestashop.yaml``: the channel's
``tax_included: false`` and 6 places): ``PriceWrite.fields`` is written as given, with GET then
PUT of the product, leaving out its associations and virtual fields (they keep their values).
A combination's ``price`` is an *impact* added to its product's price, so a combination SKU
is refused (``WriteResult.failed``) rather than written wrong: Brique writes the prices of
products only.

Orders. PrestaShop has no webhooks: the ``orders`` stream polls ``/api/orders`` on
``date_upd`` (``date=1``), sorted ``[date_upd_ASC,id_ASC]``, in keyset pages of ``limit``;
each version of an order is one event keyed ``order/<id>/<date_upd>``. See ``read``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    PriceWrite,
    Rejection,
    StockWrite,
    WriteBatch,
    WriteResult,
)
from bridge.errors import ConfigError, DataError
from bridge.model import Price, SaleStatus
from bridge.model.base import Record
from bridge.model.types import CurrencyCode
from connectors.prestashop import xml
from connectors.prestashop.client import NotFound, WebserviceClient
from connectors.prestashop.orders import (
    DATE_FORMAT,
    DEFAULT_ORDER_STATES,
    decode_order,
    local_datetime,
)

log = logging.getLogger(__name__)

MAX_STOCK_BATCH = 50
"""Items per stock batch: two calls each (GET, PUT) at the paced rate, about 20 s per batch
at the default 5 calls/s, so one batch never holds a worker for long."""
MAX_PRICE_BATCH = 50
"""Prices per batch, for the same reason (GET then PUT of each product)."""
QUANTITY_LIMIT = 2_147_483_647
"""``stock_available.quantity`` is a signed 32-bit column (``isInt``)."""
MAX_ID = 4_294_967_295
"""Upper end of an id interval filter (ids are unsigned 32-bit columns)."""
READ_STOCK_CHUNK = 50
"""Stock rows read per call by ``read_stock`` (``filter[id]=[1|2|...]``)."""

ITEM_ENTITY = "prestashop_item"
"""Binding: SKU -> ``<id_product>:<id_product_attribute>`` (0 for a product)."""
STOCK_ENTITY = "prestashop_stock_available"
"""Binding: ``<SKU>@<id_shop>`` -> ``stock_available`` id."""

ORDERS = "orders"
ORDER_EVENT = "order"
EPOCH = "1970-01-01 00:00:00"

REQUIRED_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "stock_availables": ("get", "put"),
    "products": ("get", "put"),
    "combinations": ("get",),
    "orders": ("get",),
    "currencies": ("get",),
}
"""What the webservice key must allow (Advanced Parameters > Webservice), checked by check()."""

NOT_WRITABLE_PRODUCT_FIELDS = ("manufacturer_name", "quantity", "position_in_category")
"""Virtual product fields left out of a PUT: the first two have no setter (PrestaShop answers
"parameter ... not writable", error 93); ``position_in_category`` is re-set when present and
refuses an empty value (error 134). Left out, they keep their stored values."""

PRIVATE_ORDER_FIELDS = ("secure_key",)
"""Order fields kept out of inbound payloads (the key of a guest's order-tracking link)."""

_INTERVAL = re.compile(r"^[\d.:\-\s]+,[\d.:\-\s]+$")
_SHOP_ID = re.compile(r"^\d+$")


class PrestaShopConfig(ConnectorConfig):
    """One shop's Webservice access. The key is a ``SecretStr``: it never prints nor logs."""

    shop_url: str
    """The shop's base URL, e.g. ``https://shop.example.com`` (``/api`` is added)."""
    api_key: SecretStr
    """The 32-character webservice key, sent as HTTP Basic user name with no password."""
    timezone: str
    """The shop's time zone (``PS_TIMEZONE``: International > Localization), e.g.
    ``Europe/Paris``: PrestaShop dates carry no offset."""
    id_shop: int | None = Field(default=None, ge=1)
    """Multistore: the shop context of every call (``id_shop`` parameter); also the ``store``
    of web sales' ticket keys (``web`` when unset)."""
    id_lang: int | None = Field(default=None, ge=1)
    """When set, products are read (for price writes) in this language only, so a PUT carries
    one language's texts; the others keep their stored values."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    """Seconds to wait for an answer (connecting has 3.05 s)."""
    poll_page_size: int = Field(default=50, ge=1, le=1000)
    """Orders per page of the ``orders`` stream (``limit=offset,N``)."""
    requests_per_second: float = Field(default=5.0, gt=0, le=100)
    """Client-side pace (token bucket, burst of the same size): PrestaShop has no rate limit
    of its own and each call runs the whole shop; see ``connectors.prestashop.client``."""
    currency: CurrencyCode | None = None
    """The shop's default currency (product prices are in it); a price in another currency
    is refused when set."""
    orders_since: str | None = None
    """Shop-local ``YYYY-MM-DD HH:MM:SS`` to start polling orders from the first time (all
    orders when unset)."""
    settle_seconds: int = Field(default=5, ge=0, le=3600)
    """Orders changed in the last seconds are left to the next poll, so an order saved in a
    transaction still open is never skipped."""
    order_states: dict[str, SaleStatus] = Field(default_factory=dict)
    """``current_state`` id -> sale status, over the defaults (``connectors.prestashop.orders``)."""

    @field_validator("shop_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.endswith("/api"):
            value = value[: -len("/api")]
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("shop_url must look like https://shop.example.com")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name, e.g. Europe/Paris)"
            ) from exc
        return value.strip()

    @field_validator("orders_since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            datetime.strptime(value.strip(), DATE_FORMAT)
        except ValueError as exc:
            raise ValueError("orders_since must be YYYY-MM-DD HH:MM:SS (shop-local)") from exc
        return value.strip()

    @property
    def store(self) -> str:
        """The ``store`` of web sales' ticket keys."""
        return str(self.id_shop) if self.id_shop is not None else "web"


@dataclass(frozen=True)
class _Row:
    """One order of a page: its sort key and its payload."""

    date: str
    id: int
    payload: dict[str, Any]


class PrestaShopConnector(Connector):
    """Publishes stock and product prices to a PrestaShop shop and polls its orders."""

    info = ConnectorInfo(
        name="prestashop",
        kind="shop",
        version="0.1.0",
        capabilities=frozenset(
            {
                Capability.WRITE_STOCK,
                Capability.WRITE_PRICES,
                Capability.READ_STOCK,
                Capability.READ_ORDERS,
            }
        ),
        config_model=PrestaShopConfig,
        description=(
            "PrestaShop Webservice (XML): stock_availables and product prices out (GET then "
            "PUT of the whole resource), orders polled on date_upd."
        ),
        batch_limits={"stock": MAX_STOCK_BATCH, "prices": MAX_PRICE_BATCH},
    )
    config: PrestaShopConfig

    def __init__(
        self,
        config: ConnectorConfig,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(config, context)
        rate = self.config.requests_per_second
        self.client = WebserviceClient(
            self.config.shop_url,
            self.config.api_key,
            id_shop=self.config.id_shop,
            timeout=(3.05, self.config.timeout),
            rate=rate,
            burst=max(1.0, rate),
            user_agent=f"brique-prestashop/{self.info.version}",
            clock=clock,
            sleep=sleep,
        )
        self.zone = ZoneInfo(self.config.timezone)
        self._now = now or (lambda: datetime.now(UTC))
        self._currencies: dict[str, str] = {}
        self._states = {**DEFAULT_ORDER_STATES, **self.config.order_states}

    def __repr__(self) -> str:
        return f"PrestaShopConnector({self.context.connection!r}, {self.config.shop_url!r})"

    def close(self) -> None:
        self.client.close()

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """``GET /api/``: the key works and may use the resources Brique needs."""
        try:
            root = self.client.get("", what="check (GET /api/)")
        except NotFound as exc:
            raise ConfigError(
                f"no PrestaShop webservice at {self.client.base} ({exc}); check shop_url and "
                "that the webservice is enabled with friendly URLs"
            ) from None
        api = root.find("api")
        if api is None:
            raise ConfigError(f"{self.client.base} answered without the list of resources")
        missing = []
        for name, methods in REQUIRED_PERMISSIONS.items():
            node = api.find(name)
            for method in methods:
                if node is None or node.get(method) != "true":
                    missing.append(f"{name} {method.upper()}")
        if missing:
            raise ConfigError(
                "the webservice key lacks permissions Brique needs: " + ", ".join(missing)
            )

    def streams(self) -> Sequence[str]:
        return (ORDERS,)

    # -- writes ---------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock``: stock_available quantities; ``prices``: product prices."""
        if sink == "stock":
            return self._write_stock(batch)
        if sink == "prices":
            return self._write_prices(batch)
        raise DataError(f"prestashop has no sink {sink!r}")

    # -- stock out ------------------------------------------------------------------------

    def _write_stock(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        entries: dict[str, StockWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _stock_write(raw, position)
            key = f"{item.sku}@{item.location}"
            entries.pop(key, None)  # a later duplicate wins
            result.failed.pop(key, None)
            try:
                _whole(item.quantity, "quantity")
                if item.previous is not None:
                    _whole(item.previous, "previous")
            except DataError as exc:
                result.failed[key] = str(exc)
                continue
            entries[key] = item
        for key, item in entries.items():
            try:
                self._write_level(key, item, result)
            except DataError as exc:
                result.failed[key] = str(exc)
        log.info(
            "prestashop stock %s: %d written, %d stale, %d refused",
            batch.idempotency_key,
            result.written,
            len(result.stale),
            len(result.failed),
        )
        return result

    def _write_level(self, key: str, item: StockWrite, result: WriteResult) -> None:
        """GET the stock row, compare, PUT it back with the new quantity (or not)."""
        row_id, root = self._stock_document(item.sku, item.location)
        element = xml.resource(root, "stock_available", f"stock_availables/{row_id}")
        if xml.text(element, "depends_on_stock") == "1":
            raise DataError(
                f"SKU {item.sku!r}: stock_available {row_id} depends on warehouse stock "
                "(advanced stock management), so PrestaShop computes its quantity; turn "
                "depends_on_stock off for the products Brique publishes"
            )
        held = _int_field(element, "quantity", f"stock_available {row_id}")
        target = _whole(item.quantity, "quantity")
        if held == target:
            # Already there: a replay of this batch, or the shop holds it anyway.
            result.written += 1
            result.observed[key] = Decimal(held)
            return
        if item.previous is not None and held != _whole(item.previous, "previous"):
            result.stale[key] = Decimal(held)
            return
        quantity = element.find("quantity")
        xml.set_text(quantity, str(target))
        answer = self.client.put(
            f"stock_availables/{row_id}",
            xml.serialize(root),
            what=f"PUT stock_availables/{row_id} ({item.sku})",
        )
        result.written += 1
        result.observed[key] = Decimal(target)
        written = answer.find("stock_available")
        if written is not None:
            try:
                result.observed[key] = Decimal(_int_field(written, "quantity", "answer"))
            except DataError:
                pass

    def _stock_document(self, sku: str, location: str) -> tuple[str, Any]:
        """The stock row id of (SKU, shop) and its document; a vanished bound row is looked
        up again once (a product re-created, combinations regenerated)."""
        row_id = self._stock_row(sku, location)
        try:
            return row_id, self.client.get(
                f"stock_availables/{row_id}", what=f"GET stock_availables/{row_id} ({sku})"
            )
        except NotFound:
            log.info(
                "prestashop: stock row %s of %s@%s is gone; resolving it again",
                row_id,
                sku,
                location,
            )
        row_id = self._stock_row(sku, location, fresh=True)
        try:
            return row_id, self.client.get(
                f"stock_availables/{row_id}", what=f"GET stock_availables/{row_id} ({sku})"
            )
        except NotFound as exc:
            raise DataError(f"SKU {sku!r}: stock_available {row_id} does not exist") from exc

    def _stock_row(self, sku: str, location: str, *, fresh: bool = False) -> str:
        """SKU and shop -> stock_available id, from the bindings or looked up (then bound)."""
        if not _SHOP_ID.match(location):
            raise DataError(
                f"location {location!r} is not a PrestaShop shop id; map the store to the shop "
                'whose stock it publishes (e.g. webshop: "1")'
            )
        bindings = self.context.bindings
        internal = f"{sku}@{location}"
        if not fresh:
            bound = bindings.get_external(STOCK_ENTITY, internal)
            if bound:
                return bound
        product, attribute = self._item(sku, fresh=fresh)
        params = {"filter[id_product]": f"[{product}]", "display": "full"}
        if attribute != "0":
            params["filter[id_product_attribute]"] = f"[{attribute}]"
        url = "stock_availables"
        root = self.client.get(url, params, what=f"stock rows of {sku!r}")
        rows = xml.listing(root, "stock_availables", "stock_available", url)
        if attribute == "0" and any(
            xml.text(row, "id_product_attribute") not in ("0", "") for row in rows
        ):
            raise DataError(
                f"SKU {sku!r} is product {product}, which has combinations: its quantity is "
                "the sum of theirs. Give each combination its own reference and publish those"
            )
        rows = [row for row in rows if (xml.text(row, "id_product_attribute") or "0") == attribute]
        chosen = [row for row in rows if xml.text(row, "id_shop") == location]
        if not chosen:
            chosen = [row for row in rows if xml.text(row, "id_shop") in ("0", "")]
        if not chosen:
            raise DataError(f"SKU {sku!r} has no stock row in shop {location}")
        if len(chosen) > 1:
            raise DataError(
                f"SKU {sku!r} has {len(chosen)} stock rows for shop {location}; clean up the "
                "orphan stock_availables rows in PrestaShop"
            )
        row_id = xml.text(chosen[0], "id")
        if not row_id:
            raise DataError(f"the stock row of SKU {sku!r} has no id")
        bindings.put(STOCK_ENTITY, internal, row_id)
        return row_id

    def _item(self, sku: str, *, fresh: bool = False) -> tuple[str, str]:
        """SKU -> (id_product, id_product_attribute): a combination's reference first, then a
        product's; exact matches only. Looked up once, then bound."""
        bindings = self.context.bindings
        if not fresh:
            bound = bindings.get_external(ITEM_ENTITY, sku)
            if bound and ":" in bound:
                product, _, attribute = bound.partition(":")
                return product, attribute
        value = _reference_filter(sku)
        url = "combinations"
        root = self.client.get(
            url,
            {"filter[reference]": value, "display": "[id,id_product,reference]"},
            what=f"combinations with reference {sku!r}",
        )
        matches = {
            (xml.text(c, "id_product") or "", xml.text(c, "id") or "")
            for c in xml.listing(root, "combinations", "combination", url)
            if xml.text(c, "reference") == sku
        }
        if not matches:
            url = "products"
            root = self.client.get(
                url,
                {"filter[reference]": value, "display": "[id,reference]"},
                what=f"products with reference {sku!r}",
            )
            matches = {
                (xml.text(p, "id") or "", "0")
                for p in xml.listing(root, "products", "product", url)
                if xml.text(p, "reference") == sku
            }
        if not matches:
            raise DataError(f"SKU {sku!r} is the reference of no PrestaShop product or combination")
        if len(matches) > 1:
            raise DataError(
                f"SKU {sku!r} is the reference of {len(matches)} PrestaShop items; make it unique"
            )
        ((product, attribute),) = matches
        if not product or not attribute:
            raise DataError(f"SKU {sku!r}: PrestaShop answered an item without ids")
        bindings.put(ITEM_ENTITY, sku, f"{product}:{attribute}")
        return product, attribute

    # -- prices out -----------------------------------------------------------------------

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        """GET then PUT each product with the mapped fields. Keys are SKUs. A price is an
        absolute value, so a replay rewrites it (or finds it already there: nothing sent)."""
        result = WriteResult()
        items: dict[str, PriceWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _price_write(raw, position)
            items.pop(item.sku, None)  # a later duplicate wins
            items[item.sku] = item
        for sku, item in items.items():
            try:
                self._write_price(item, result)
            except DataError as exc:
                result.failed[sku] = str(exc)
        log.info(
            "prestashop prices %s: %d written, %d refused",
            batch.idempotency_key,
            result.written,
            len(result.failed),
        )
        return result

    def _write_price(self, item: PriceWrite, result: WriteResult) -> None:
        fields = self._price_fields(item)
        product, attribute = self._item(item.sku)
        if attribute != "0":
            raise DataError(
                f"SKU {item.sku!r} is combination {attribute} of product {product}: PrestaShop "
                "stores a combination's price as an impact on its product's price, and Brique "
                "writes product prices only. Set the impact in PrestaShop, or sell the item "
                "as a product of its own"
            )
        path = f"products/{product}"
        params = {"language": str(self.config.id_lang)} if self.config.id_lang else None
        try:
            root = self.client.get(path, params, what=f"GET {path} ({item.sku})")
        except NotFound as exc:
            raise DataError(
                f"SKU {item.sku!r}: product {product} does not exist any more ({exc})"
            ) from None
        element = xml.resource(root, "product", path)
        current: dict[str, str] = {}
        for name in fields:
            node = element.find(name)
            if node is None:
                raise DataError(f"SKU {item.sku!r}: PrestaShop products have no field {name!r}")
            if len(node):
                raise DataError(
                    f"SKU {item.sku!r}: {name!r} is a multilingual or composite field; "
                    "price writes set plain fields only"
                )
            current[name] = (node.text or "").strip()
        if all(_same(current[name], value) for name, value in fields.items()):
            result.written += 1
            result.observed[item.sku] = _observed(current)
            return
        for name, value in fields.items():
            xml.set_text(element.find(name), value)
        for name in (*NOT_WRITABLE_PRODUCT_FIELDS, "associations"):
            # Left out, associations and virtual fields keep what PrestaShop holds.
            node = element.find(name)
            if node is not None:
                element.remove(node)
        answer = self.client.put(path, xml.serialize(root), what=f"PUT {path} ({item.sku})")
        result.written += 1
        written = answer.find("product")
        seen = {name: xml.text(written, name) if written is not None else None for name in fields}
        result.observed[item.sku] = _observed(
            {name: value if value is not None else fields[name] for name, value in seen.items()}
        )

    def _price_fields(self, item: PriceWrite) -> dict[str, str]:
        if self.config.currency and item.price.currency != self.config.currency:
            raise DataError(
                f"price {item.price} of {item.sku!r} is not in the shop's currency "
                f"{self.config.currency}; the mapping must give this channel prices in it"
            )
        if item.fields:
            fields = {
                str(name): _field_text(value, name)
                for name, value in item.fields.items()
                if name != "id"
            }
        elif isinstance(item.price, Price) and not item.price.tax_included:
            fields = {"price": _field_text(item.price.amount, "price")}
        else:
            raise DataError(
                f"no price field for {item.sku!r}: PrestaShop stores product prices tax "
                "excluded; give this connection's price rules a 'price' field "
                "(connections.<name>.price.outbound.fields, e.g. with tax_out)"
            )
        if not fields:
            raise DataError(f"no field to write for {item.sku!r}")
        for name in NOT_WRITABLE_PRODUCT_FIELDS:
            if name in fields:
                raise DataError(f"{name!r} is not writable on PrestaShop products")
        if "price" in fields:
            try:
                amount = Decimal(fields["price"])
            except InvalidOperation as exc:
                raise DataError(
                    f"price {fields['price']!r} of {item.sku!r} is not a number"
                ) from exc
            if not amount.is_finite() or amount < 0:
                raise DataError(f"price {fields['price']!r} of {item.sku!r} is refused")
        return fields

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """``quantity`` per (SKU, shop id), for reconciliation; unknown SKUs are left out."""
        rows: dict[tuple[str, str], str] = {}
        for sku, location in dict.fromkeys(pairs):
            try:
                rows[(sku, location)] = self._stock_row(sku, location)
            except DataError as exc:
                log.info("prestashop read_stock: %s", exc)
        ids = sorted(set(rows.values()), key=int)
        held: dict[str, Decimal] = {}
        url = "stock_availables"
        for start in range(0, len(ids), READ_STOCK_CHUNK):
            part = ids[start : start + READ_STOCK_CHUNK]
            root = self.client.get(
                url,
                {"filter[id]": "[" + "|".join(part) + "]", "display": "[id,quantity]"},
                what=f"stock rows ({len(part)})",
            )
            for row in xml.listing(root, "stock_availables", "stock_available", url):
                row_id = xml.text(row, "id") or ""
                try:
                    held[row_id] = Decimal(_int_field(row, "quantity", f"stock_available {row_id}"))
                except DataError as exc:
                    log.info("prestashop read_stock: %s", exc)
        return {pair: held[row_id] for pair, row_id in rows.items() if row_id in held}

    # -- orders in ------------------------------------------------------------------------

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """Orders changed since ``cursor`` (``<date_upd>|<id>`` of the last order read).

        Queries are ``filter[date_upd]=[FROM,TO]&date=1&sort=[date_upd_ASC,id_ASC]&
        limit=0,N&display=full``, TO being now (shop time) less ``settle_seconds``. Pages are
        keyset pages, not offsets: after each page FROM moves to the last order's ``date_upd``
        and the orders up to (date_upd, id) of the cursor are skipped here. With offsets, an
        order updated during the read (it moves to the end of the list) would shift every
        later order one place down and the next page would start past an unread one.

        When a whole page falls in one second (a bulk import), FROM cannot move: that second
        is read on by id (``filter[date_upd]=[S,S]&filter[id]=[last+1,...]``), then the read
        goes on from the next second. A short page ends the read. A page identical to the
        previous one cannot happen with keyset pages, so it raises (the shop, or a cache in
        front of it, ignores the query) instead of looping.
        """
        if stream != ORDERS:
            raise DataError(f"prestashop has no stream {stream!r}")
        size = self.config.poll_page_size
        floor = _parse_cursor(cursor) if cursor else (self._since(), 0)
        now = self._now().astimezone(self.zone)
        upper = (now - timedelta(seconds=self.config.settle_seconds)).strftime(DATE_FORMAT)
        rewind = self._fold_back(floor[0], now)
        if rewind:
            # The wall clock went back (end of daylight saving time) since the cursor: orders
            # changed in the repeated hour carry earlier dates. Read that hour again; orders
            # already read come back as the same events, which the inbox drops.
            start = datetime.strptime(floor[0], DATE_FORMAT) - rewind
            floor = (start.strftime(DATE_FORMAT), 0)
        query_from = floor[0]
        second: str | None = None  # reading on by id within this one second
        previous: list[tuple[str, int]] = []
        while second is not None or query_from <= upper:
            params = {
                "filter[date_upd]": f"[{query_from},{upper}]",
                "date": "1",
                "sort": "[date_upd_ASC,id_ASC]",
                "limit": f"0,{size}",
                "display": "full",
            }
            if second is not None:
                params["filter[date_upd]"] = f"[{second},{second}]"
                params["filter[id]"] = f"[{floor[1] + 1},{MAX_ID}]"
            where = second or query_from
            root = self.client.get("orders", params, what=f"orders from {where} (after {floor})")
            elements = xml.listing(root, "orders", "order", "orders")
            rows, rejections = self._rows(elements, where)
            signature = [(row.date, row.id) for row in rows]
            if signature and signature == previous:
                raise DataError(
                    f"prestashop orders: the page from {where} after {floor} repeats the "
                    "previous page; the shop (or a cache in front of it) ignores the filter "
                    "or limit parameters. Stopped instead of looping"
                )
            previous = signature
            fresh = [row for row in rows if (row.date, row.id) > floor]
            if fresh:
                floor = (fresh[-1].date, fresh[-1].id)
                yield Page(
                    events=[self._event(row) for row in fresh],
                    cursor=f"{floor[0]}|{floor[1]}",
                    rejections=rejections,
                )
            elif rejections:
                yield Page(events=[], cursor=None, rejections=rejections)
            full = len(elements) >= size
            if full and not rows:
                raise DataError(
                    f"prestashop orders: a full page of unreadable orders from {where}; "
                    "cannot page on without their date_upd and id"
                )
            if second is not None:
                if not full:
                    second, query_from = None, _next_second(second)
            elif not full:
                return
            elif rows and rows[0].date == floor[0] and rows[-1].date == floor[0]:
                second = floor[0]  # a whole page in one second: read on by id
            else:
                query_from = floor[0]

    def _rows(self, elements: list[Any], query_from: str) -> tuple[list[_Row], list[Rejection]]:
        rows: list[_Row] = []
        rejections: list[Rejection] = []
        for position, element in enumerate(elements):
            payload = xml.to_dict(element)
            for name in PRIVATE_ORDER_FIELDS:
                payload.pop(name, None)
            order_id, date = payload.get("id", ""), payload.get("date_upd", "")
            try:
                if not str(order_id).isdigit():
                    raise DataError(f"order without a numeric id ({order_id!r})")
                datetime.strptime(date, DATE_FORMAT)
            except (DataError, ValueError) as exc:
                rejections.append(
                    Rejection(
                        source=f"{self.client.base}orders (since {query_from}, item {position})",
                        error=f"unreadable order: {exc}",
                        payload=str(payload)[:2000],
                    )
                )
                continue
            rows.append(_Row(date, int(order_id), payload))
        return rows, rejections

    def _event(self, row: _Row) -> InboundEvent:
        return InboundEvent(
            key=f"order/{row.id}/{row.date}",
            kind=ORDER_EVENT,
            payload=row.payload,
            occurred_at=local_datetime(row.date, self.zone, f"order {row.id} date_upd"),
        )

    def _since(self) -> str:
        return self.config.orders_since or EPOCH

    def _fold_back(self, anchor: str, now: datetime) -> timedelta | None:
        then = datetime.strptime(anchor, DATE_FORMAT).replace(tzinfo=self.zone).utcoffset()
        current = now.utcoffset()
        if then is None or current is None or then <= current:
            return None
        return then - current

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != ORDER_EVENT:
            raise DataError(f"prestashop events of kind {event.kind!r} are not handled")
        return list(
            decode_order(
                event.payload,
                store=self.config.store,
                zone=self.zone,
                currency_of=self.currency_iso,
                states=self._states,
            )
        )

    def currency_iso(self, id_currency: str) -> str:
        """``iso_code`` of a currency id, asked once per process."""
        if id_currency not in self._currencies:
            path = f"currencies/{id_currency}"
            try:
                root = self.client.get(path, what=f"GET {path}")
            except NotFound as exc:
                raise DataError(f"currency {id_currency} does not exist ({exc})") from None
            code = xml.text(xml.resource(root, "currency", path), "iso_code")
            if not code:
                raise DataError(f"currency {id_currency} has no iso_code")
            self._currencies[id_currency] = code.upper()
        return self._currencies[id_currency]


def _stock_write(raw: Record, position: int) -> StockWrite:
    try:
        if isinstance(raw, StockWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return StockWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"stock batch item {position} is not a stock write: {exc}") from exc


def _price_write(raw: Record, position: int) -> PriceWrite:
    try:
        if isinstance(raw, PriceWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return PriceWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"prices batch item {position} is not a price write: {exc}") from exc


def _whole(value: Decimal, what: str) -> int:
    if not value.is_finite() or value != value.to_integral_value():
        raise DataError(f"{what} {value} is not a whole number; PrestaShop counts units")
    number = int(value)
    if abs(number) > QUANTITY_LIMIT:
        raise DataError(f"{what} {number} is beyond PrestaShop's +/-{QUANTITY_LIMIT:,}")
    return number


def _int_field(element: Any, name: str, what: str) -> int:
    value = xml.text(element, name)
    try:
        return int(value or "")
    except ValueError:
        raise DataError(f"{what}: {name} {value!r} is not a whole number") from None


def _reference_filter(sku: str) -> str:
    """A ``filter[reference]`` value matching at least the SKU (exact matches are kept after).

    ``[v]`` is an equality, but ``|`` splits it into an OR, ``a,b`` of digits becomes a
    BETWEEN and ``%`` a LIKE (``SQLUtils::getSQLRetrieveFilter``): such SKUs are searched with
    ``%[v]%`` (contains) instead. Brackets cannot be expressed at all.
    """
    if "[" in sku or "]" in sku:
        raise DataError(
            f"SKU {sku!r} contains a bracket, which PrestaShop's filter syntax cannot express"
        )
    if "|" in sku or "%" in sku or _INTERVAL.match(sku):
        return f"%[{sku}]%"
    return f"[{sku}]"


def _field_text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | str):
        return str(value).strip()
    if isinstance(value, float):
        raise DataError(f"field {name!r}: float {value!r} refused; send it as a string")
    raise DataError(f"field {name!r}: {type(value).__name__} values cannot be written")


def _same(held: str, wanted: str) -> bool:
    """Equal as PrestaShop stores them (``16.658333`` = ``16.658333000``)."""
    if held == wanted:
        return True
    try:
        return Decimal(held) == Decimal(wanted)
    except InvalidOperation:
        return False


def _observed(values: Mapping[str, str]) -> dict[str, Any]:
    observed: dict[str, Any] = {}
    for name, value in values.items():
        try:
            observed[name] = Decimal(value)
        except InvalidOperation:
            observed[name] = value
    return observed


def _next_second(date: str) -> str:
    return (datetime.strptime(date, DATE_FORMAT) + timedelta(seconds=1)).strftime(DATE_FORMAT)


def _parse_cursor(cursor: str) -> tuple[str, int]:
    date, separator, order_id = cursor.rpartition("|")
    try:
        if not separator or not order_id.isdigit():
            raise ValueError(cursor)
        datetime.strptime(date, DATE_FORMAT)
    except ValueError:
        raise DataError(
            f"orders cursor {cursor!r} is not '<YYYY-MM-DD HH:MM:SS>|<order id>'"
        ) from None
    return date, int(order_id)
