"""The Django Oscar connector (django-oscar-api's admin API, ``/api/admin/``).

Store = partner. Oscar keeps stock and price per ``StockRecord``, one per (product,
partner); a connection manages the stock records of one partner (``partner``, its code).
A Brique location maps to that partner code (``ids: {webshop: <partner code>}``).

SKU. Brique's SKU is the stock record's ``partner_sku`` (unique per partner, Oscar's
``unique_together``) by default, or the product's ``upc`` (``sku_field: upc``). oscar-api has
no stock record list nor filter: SKUs are resolved by reading ``GET /api/admin/products/``
(each product carries its ``stockrecords``) once, and remembered in the binding table
(``oscar_stockrecord``: SKU -> stock record id); a bound id that answers 404 (the record was
deleted) is looked up again once.

Stock: ``PATCH /api/admin/stockrecords/<id>/ {"num_in_stock": N}``. Oscar's stock record
has ``num_in_stock`` (physically held) and ``num_allocated`` (reserved by placed, unshipped
orders; shipping lowers both); what a shopper may buy is ``num_in_stock - num_allocated``.
Brique publishes what is physically in the store (its ledger's on-hand less buffers), so it
writes ``num_in_stock`` only and never touches ``num_allocated``: Oscar keeps subtracting
its own open orders. ``read_stock`` returns ``num_in_stock``. ``num_in_stock`` is a
non-negative integer: a fractional quantity is refused, a negative one is written as 0.

Compare-and-set: Oscar has none; every stock item is read first (``GET`` the record): it
already holds the target -> counted as written, nothing sent (a replay lands here); it holds
something other than ``previous`` (a hand edit, a shipment) -> ``WriteResult.stale`` with
what it holds, **not** written; otherwise it is written. One round trip of window.

Prices: ``PATCH`` the record's ``price`` from ``PriceWrite.fields`` (the mapping builds
``{"price": "24.99"}``; without fields the amount is sent). The price's currency must be the
record's ``price_currency``, else the item fails.

Orders: Oscar has no outbound webhooks; see ``read``. An order names the basket it was placed
from (``Sale.basket`` = the basket id).

Baskets: read (``baskets`` stream, with the shop-side ``shop_views.py``) and handed off
(``baskets`` sink, as anonymous oscar-api baskets): see ``connectors.oscar.baskets``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from bridge.connector import (
    BasketWrite,
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    PriceWrite,
    StockWrite,
    WriteBatch,
    WriteResult,
)
from bridge.errors import ConfigError, DataError
from bridge.model.base import Record
from connectors.oscar import order_status
from connectors.oscar.baskets import (
    BASKET,
    BASKET_ENTITY,
    EXTENSION_HINT,
    SESSION_ENTITY,
    BasketWriter,
    basket_key,
    decode_basket,
)
from connectors.oscar.client import OscarClient, OscarNotFound, OscarRequestError, id_from_url
from connectors.oscar.orders import (
    ORDER,
    decode_order,
    optional_decimal,
    order_key,
    parse_time,
    time_text,
)

log = logging.getLogger(__name__)

MAX_BATCH = 25
"""Items per write batch: Oscar has no bulk write, each item is a read and a PATCH."""
RECORD_ENTITY = "oscar_stockrecord"
"""Binding: SKU -> stock record id (of this connection's partner)."""
PRICE_FIELDS = frozenset({"price"})
MAX_BASKETS = 10
"""Baskets per ``baskets`` batch: each is a few calls."""
BLOCKED_HINT = (
    "the admin API answers 404: django-oscar-api blocks it by default; set "
    "OSCARAPI_BLOCK_ADMIN_API_ACCESS = False in the shop's Django settings, and check base_url"
)


class OscarConfig(ConnectorConfig):
    """One Oscar site's admin API access, as a staff user (HTTP Basic) or a DRF token."""

    base_url: str
    """The site's URL, ``https://shop.example.com`` (oscar-api mounted at ``/api/``)."""
    username: str | None = None
    password: SecretStr | None = None
    """A staff user's credentials (oscar-api's admin API requires ``is_staff``)."""
    token: SecretStr | None = None
    """Instead of username/password: a DRF token, when the site enables
    ``rest_framework.authtoken`` (sent as ``Authorization: Token <key>``)."""
    partner: str
    """The Oscar partner code whose stock records Brique manages (store = partner)."""
    sku_field: Literal["partner_sku", "upc"] = "partner_sku"
    """What Brique's SKU is on Oscar: the stock record's ``partner_sku`` or the product's
    ``upc``."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    page_size: int = Field(default=100, ge=1, le=1000)
    """Orders per stream page (Brique's pages; Oscar's own page size is the site's)."""
    orders_store: str = "web"
    """``TicketKey.store`` of web orders (map it in the mapping's locations)."""
    cancelled_statuses: tuple[str, ...] = ("Cancelled", "Canceled")
    """Order statuses that are not sales (compared without case)."""
    orders_since: datetime | None = None
    """Where the ``orders`` stream starts the first time (UTC if no offset); all if unset."""
    orders_recheck_days: float = Field(default=0, ge=0, le=366)
    """Stream ``order_statuses``: orders placed within this many days are read again on each
    poll, a changed status (a cancellation, a shipment) being a new event. 0: off."""
    read_baskets: bool = False
    """Poll the ``baskets`` stream: needs ``BasketChanges`` of ``shop_views.py`` in the shop."""
    baskets_path: str = "admin/baskets/"
    """Where the shop serves ``BasketChanges``, under ``/api/``."""
    baskets_since: datetime | None = None
    """Where the ``baskets`` stream starts the first time (UTC if no offset); all if unset."""
    basket_url: str | None = None
    """The link a handed-off basket is resumed by, a template with ``{session}`` and optionally
    ``{basket}`` and ``{code}``; ``<base_url>/basket/resume/?session={session}`` (the
    ``resume_basket`` view of ``shop_views.py``) when unset."""
    session_cookie: str = "sessionid"
    """The shop's Django ``SESSION_COOKIE_NAME``."""

    @field_validator("basket_url")
    @classmethod
    def _basket_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            value.format(session="s", basket="b", code="c")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"basket_url may only use {{session}}, {{basket}} and {{code}}: {exc}"
            ) from None
        if "{session}" not in value:
            raise ValueError("basket_url must carry {session}: it is what resumes the basket")
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("basket_url must be an https:// address: the link carries the session")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("base_url must be https://<your shop>")
        if parts.scheme == "http" and not local:
            raise ValueError("base_url must use https: credentials would cross the network")
        if parts.path.rstrip("/").endswith("/api"):
            raise ValueError("base_url is the site's URL, without /api")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> OscarConfig:
        if self.token is None and not (self.username and self.password is not None):
            raise ValueError("set username and password (a staff user), or token")
        return self


@dataclass
class _Record:
    id: str
    sku: str
    num_in_stock: Decimal | None
    price: Decimal | None
    currency: str | None
    product: str | None = None


class OscarConnector(Connector):
    """Publishes stock and prices to one Oscar partner's stock records; polls orders."""

    info = ConnectorInfo(
        name="oscar",
        kind="shop",
        version="0.1.0",
        capabilities=frozenset(
            {
                Capability.WRITE_STOCK,
                Capability.WRITE_PRICES,
                Capability.READ_STOCK,
                Capability.READ_ORDERS,
                Capability.READ_BASKETS,
                Capability.WRITE_BASKETS,
            }
        ),
        config_model=OscarConfig,
        description=(
            "Django Oscar (django-oscar-api admin API): one partner's stock records "
            "(num_in_stock, price) out, orders polled."
        ),
        batch_limits={"stock": MAX_BATCH, "prices": MAX_BATCH, "baskets": MAX_BASKETS},
    )
    config: OscarConfig

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = OscarClient(
            self.config.base_url,
            username=self.config.username,
            password=self.config.password,
            token=self.config.token,
            timeout=self.config.timeout,
            user_agent=f"brique-oscar/{self.info.version}",
        )
        self._partner_id: str | None = None
        self._partner_codes: dict[str, str] = {}
        self.shopper = OscarClient(
            self.config.base_url,
            username=None,
            password=None,
            token=None,
            timeout=self.config.timeout,
            user_agent=f"brique-oscar/{self.info.version}",
        )
        """oscar-api as an anonymous shopper (no credentials), for handed-off baskets."""

    def __repr__(self) -> str:
        return f"OscarConnector({self.context.connection!r}, {self.config.base_url!r})"

    def close(self) -> None:
        self.client.close()
        self.shopper.close()

    def streams(self) -> Sequence[str]:
        found = ("orders", "baskets") if self.config.read_baskets else ("orders",)
        return (*found, order_status.STREAM) if self.config.orders_recheck_days else found

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """An authenticated ``GET /api/admin/partners/``: the URL, the credentials (a staff
        user), the admin API being unblocked and the partner code are right."""
        self._partners(refresh=True)

    def _partners(self, refresh: bool = False) -> str:
        if self._partner_id is not None and not refresh:
            return self._partner_id
        try:
            partners = list(self.client.listing("admin/partners/", what="oscar partners"))
        except OscarNotFound:
            raise ConfigError(BLOCKED_HINT) from None
        self._partner_codes = {
            pid: str(p.get("code")) for p in partners if (pid := id_from_url(p.get("url")))
        }
        for pid, code in self._partner_codes.items():
            if code == self.config.partner:
                self._partner_id = pid
                return pid
        known = ", ".join(sorted(self._partner_codes.values())) or "none"
        raise ConfigError(
            f"partner {self.config.partner!r} is not an Oscar partner (known: {known})"
        )

    # -- stock records --------------------------------------------------------------------

    def _resolve(
        self, skus: Sequence[str], fresh: bool = False
    ) -> tuple[dict[str, str], dict[str, str]]:
        """SKU -> stock record id from the bindings (unless ``fresh``), else from the
        product list."""
        bindings = self.context.bindings
        found: dict[str, str] = {}
        missing = []
        for sku in sorted(set(skus)):
            bound = None if fresh else bindings.get_external(RECORD_ENTITY, sku)
            if bound:
                found[sku] = bound
            else:
                missing.append(sku)
        refused: dict[str, str] = {}
        if missing:
            wanted = set(missing)
            partner = self._partners()
            for product in self.client.listing("admin/products/", what="oscar products"):
                for record in product.get("stockrecords") or ():
                    if (
                        not isinstance(record, dict)
                        or id_from_url(record.get("partner")) != partner
                    ):
                        continue
                    sku = self._sku_of(record, product)
                    record_id = id_from_url(record.get("url"))
                    if sku in wanted and record_id and sku not in found:
                        found[sku] = record_id
                        bindings.put(RECORD_ENTITY, sku, record_id)
            for sku in missing:
                if sku not in found:
                    refused[sku] = (
                        f"SKU {sku!r} has no stock record of partner {self.config.partner!r} "
                        f"in Oscar (by {self.config.sku_field})"
                    )
        return found, refused

    def _sku_of(self, record: dict[str, Any], product: dict[str, Any] | None) -> str:
        if self.config.sku_field == "upc":
            return str((product or {}).get("upc") or "").strip()
        return str(record.get("partner_sku") or "").strip()

    def _read_record(self, record_id: str) -> _Record:
        body = self.client.get(
            f"admin/stockrecords/{record_id}/", what=f"oscar stock record {record_id}"
        )
        if not isinstance(body, dict):
            raise DataError(f"oscar stock record {record_id}: the answer is not an object")
        stock = optional_decimal(body.get("num_in_stock"))
        return _Record(
            id=record_id,
            sku=str(body.get("partner_sku") or ""),
            num_in_stock=stock,
            price=optional_decimal(body.get("price")),
            currency=str(body.get("price_currency") or "").upper() or None,
            product=id_from_url(body.get("product")),
        )

    def _record_for(self, sku: str, record_id: str) -> tuple[str, _Record]:
        """Read the bound record; a deleted one (404) is resolved again once."""
        try:
            return record_id, self._read_record(record_id)
        except OscarNotFound:
            log.info("oscar stock record %s of %r is gone; resolving again", record_id, sku)
        found, refused = self._resolve([sku], fresh=True)
        if sku not in found:
            raise DataError(refused.get(sku, f"SKU {sku!r} unresolved"))
        return found[sku], self._read_record(found[sku])

    # -- writes ---------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock`` (keys ``sku@partner``) and ``prices`` (keys SKU)."""
        if sink == "stock":
            return self._write_stock(batch)
        if sink == "prices":
            return self._write_prices(batch)
        if sink == "baskets":
            return self._write_baskets(batch)
        raise DataError(f"oscar has no sink {sink!r}")

    def _basket_writer(self) -> BasketWriter:
        template = (
            self.config.basket_url or f"{self.config.base_url}/basket/resume/?session={{session}}"
        )
        return BasketWriter(
            self.shopper,
            self.context.bindings,
            template,
            self.config.session_cookie,
            self._products,
            staff_close=self._close_as_staff if self.config.read_baskets else None,
        )

    def _close_as_staff(self, basket_id: str) -> None:
        """``BasketClose`` of the shop-side views: delete a shopper's basket still open."""
        try:
            self.client.call(
                "DELETE",
                f"{self.config.baskets_path}{basket_id}/",
                what=f"oscar close basket {basket_id}",
            )
        except OscarNotFound:
            pass  # deleted already; a basket no longer open (paid for, ordered) is left

    def _write_baskets(self, batch: WriteBatch) -> WriteResult:
        """Open or close handed-off baskets (``connectors.oscar.baskets``); keys are handoff
        codes."""
        result = WriteResult()
        writer = self._basket_writer()
        for position, raw in enumerate(batch.items):
            item = _coerce(BasketWrite, raw, position, "baskets")
            result.failed.pop(item.code, None)
            try:
                if item.action == "open":
                    opened = writer.open(item)
                    result.observed[item.code] = {"id": opened.id, "url": opened.url}
                else:
                    result.observed[item.code] = {"id": writer.close(item), "closed": True}
            except DataError as exc:
                result.failed[item.code] = str(exc)
                result.observed.pop(item.code, None)
                continue
            result.written += 1
        log.info("oscar baskets: %d written, %d refused", result.written, len(result.failed))
        return result

    def _products(self, skus: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """SKU -> the product id of its stock record (of this connection's partner)."""
        found, refused = self._resolve(skus)
        products: dict[str, str] = {}
        for sku, record_id in found.items():
            try:
                _, held = self._record_for(sku, record_id)
            except DataError as exc:
                refused[sku] = str(exc)
                continue
            if held.product is None:
                refused[sku] = f"SKU {sku!r}: stock record {record_id} names no product"
            else:
                products[sku] = held.product
        return products, refused

    def _write_stock(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        items: dict[str, StockWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _coerce(StockWrite, raw, position, "stock")
            key = f"{item.sku}@{item.location}"
            items.pop(key, None)
            result.failed.pop(key, None)
            if item.location != self.config.partner:
                result.failed[key] = (
                    f"location {item.location!r} is not this connection's partner "
                    f"{self.config.partner!r}; map the store to the partner code"
                )
                continue
            try:
                _units(item.quantity, "quantity")
            except DataError as exc:
                result.failed[key] = str(exc)
                continue
            items[key] = item
        found, refused = self._resolve([i.sku for i in items.values()]) if items else ({}, {})
        for key, item in items.items():
            if item.sku not in found:
                result.failed[key] = refused.get(item.sku, f"SKU {item.sku!r} unresolved")
                continue
            try:
                self._put_stock(key, item, found[item.sku], result)
            except (OscarRequestError, OscarNotFound) as exc:
                result.failed[key] = str(exc)
            except DataError as exc:
                result.failed[key] = str(exc)
        log.info(
            "oscar stock: %d written, %d stale, %d refused",
            result.written,
            len(result.stale),
            len(result.failed),
        )
        return result

    def _put_stock(self, key: str, item: StockWrite, record_id: str, result: WriteResult) -> None:
        target = max(_units(item.quantity, "quantity"), 0)
        record_id, held = self._record_for(item.sku, record_id)
        if held.num_in_stock is not None and held.num_in_stock == target:
            result.written += 1  # already there (a replay): nothing sent
            result.observed[key] = held.num_in_stock
            return
        if item.previous is not None and held.num_in_stock != max(item.previous, 0):
            result.stale[key] = held.num_in_stock  # changed behind Brique: never forced
            return
        answer = self.client.patch(
            f"admin/stockrecords/{record_id}/",
            {"num_in_stock": target},
            what=f"oscar stock record {record_id} ({item.sku})",
        )
        result.written += 1
        now = optional_decimal(answer.get("num_in_stock")) if isinstance(answer, dict) else None
        result.observed[key] = now if now is not None else Decimal(target)

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        items: dict[str, PriceWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _coerce(PriceWrite, raw, position, "prices")
            items.pop(item.sku, None)
            result.failed.pop(item.sku, None)
            items[item.sku] = item
        found, refused = self._resolve(list(items)) if items else ({}, {})
        for sku, item in items.items():
            if sku not in found:
                result.failed[sku] = refused.get(sku, f"SKU {sku!r} unresolved")
                continue
            try:
                self._put_price(item, found[sku], result)
            except DataError as exc:
                result.failed[sku] = str(exc)
        log.info("oscar prices: %d written, %d refused", result.written, len(result.failed))
        return result

    def _put_price(self, item: PriceWrite, record_id: str, result: WriteResult) -> None:
        fields = dict(item.fields) if item.fields else {"price": item.price.amount}
        unknown = sorted(set(fields) - PRICE_FIELDS)
        if unknown:
            raise DataError(
                f"price fields {', '.join(unknown)} are not stock record price fields "
                f"({', '.join(sorted(PRICE_FIELDS))})"
            )
        value = fields.get("price")
        if isinstance(value, float):
            raise DataError(f"price {value!r} is a float; the mapping must give money as text")
        price = optional_decimal(value)
        if price is None or price < 0:
            raise DataError(f"price {value!r} is missing, negative or not a number")
        record_id, held = self._record_for(item.sku, record_id)
        if held.currency and item.price.currency != held.currency:
            raise DataError(
                f"price {item.price.amount} {item.price.currency} is not in the stock record's "
                f"currency {held.currency}; the mapping must give this channel prices in it"
            )
        if held.price is not None and held.price == price:
            result.written += 1
            result.observed[item.sku] = {"price": held.price}
            return
        self.client.patch(
            f"admin/stockrecords/{record_id}/",
            {"price": format(price, "f")},
            what=f"oscar stock record {record_id} price ({item.sku})",
        )
        result.written += 1
        result.observed[item.sku] = {"price": price}

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """``num_in_stock`` per (sku, partner code) of this connection's partner; SKUs
        without a stock record are left out."""
        wanted = [(sku, loc) for sku, loc in pairs if loc == self.config.partner]
        found, _ = self._resolve([sku for sku, _ in wanted]) if wanted else ({}, {})
        levels: dict[tuple[str, str], Decimal] = {}
        for sku, loc in wanted:
            if sku not in found:
                continue
            try:
                _, held = self._record_for(sku, found[sku])
            except DataError:
                continue
            if held.num_in_stock is not None:
                levels[(sku, loc)] = held.num_in_stock
        return levels

    # -- orders in ------------------------------------------------------------------------

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        if stream == "baskets" and self.config.read_baskets:
            return self._read_baskets(cursor)
        if stream == order_status.STREAM and self.config.orders_recheck_days:
            return order_status.read_statuses(self, cursor)
        if stream != "orders":
            raise DataError(f"oscar has no stream {stream!r}")
        return self._read_orders(cursor)

    def _read_baskets(self, cursor: str | None) -> Iterator[Page]:
        """Baskets changed since the cursor, oldest change first, from the shop's
        ``BasketChanges`` (``shop_views.py``): a keyset on (change time, basket id), the
        cursor being the last pair read (``2026-11-23T18:29:23.954432+00:00|12``)."""
        since: str | None = None
        after = "0"
        if cursor:
            since, _, after = cursor.rpartition("|")
            if parse_time(since) is None or not after.isdigit():
                raise DataError(f"oscar baskets cursor {cursor!r} is not readable")
        elif self.config.baskets_since is not None:
            start = self.config.baskets_since
            start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
            since = start.astimezone(UTC).isoformat()
        path = self.config.baskets_path
        while True:
            params: dict[str, Any] = {"limit": self.config.page_size}
            if since is not None:
                params.update(since=since, after=after)
            try:
                body = self.client.get(path, what="oscar baskets", **params)
            except OscarNotFound:
                raise ConfigError(EXTENSION_HINT.format(path=f"/api/{path}")) from None
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise DataError("oscar baskets: the answer is not a BasketChanges page")
            rows = [r for r in body["results"] if isinstance(r, dict)]
            events = []
            for row in rows:
                key = basket_key(row)
                if key is None:
                    log.warning("oscar baskets: skipped a basket without id or change time")
                    continue
                events.append(
                    InboundEvent(
                        key=key, kind=BASKET, payload=row, occurred_at=parse_time(row["changed"])
                    )
                )
            if not rows:
                return
            last = rows[-1]
            if str(last.get("changed")) == since and str(last.get("id")) == after:
                raise DataError("oscar baskets: the shop answered the same page twice")
            since, after = str(last.get("changed")), str(last.get("id"))
            yield Page(events=events, cursor=f"{since}|{after}")
            if not body.get("more"):
                return

    def _read_orders(self, cursor: str | None) -> Iterator[Page]:
        """New orders, oldest first, in pages of ``page_size``, each page resumable.

        oscar-api's order list has no filter and is sorted newest first (``Order.Meta.ordering
        = ["-date_placed"]``). So the list is read from its start, following ``next``, until
        an order placed before the cursor: only the orders placed since are read, a keyset
        on ``date_placed`` kept by walking down. The cursor is the last ``date_placed`` read
        and the order ids placed at that instant (``2026-11-23T17:08:43.767643Z|1,2``), so
        orders sharing an instant are neither lost nor read twice. Each new order's lines
        are read (``GET /api/admin/orders/<id>/lines/``) and their stock records named.

        Orders are read once, when placed: a later status change (a cancellation) is not
        seen by the poll, as Oscar's order has no modification time.
        """
        since, seen = self._start(cursor)
        fresh: list[tuple[datetime, int, dict[str, Any]]] = []
        for order in self.client.listing("admin/orders/", what="oscar orders"):
            placed = parse_time(order.get("date_placed"))
            order_id = id_from_url(order.get("url"))
            if placed is None or order_id is None or order_key(order) is None:
                log.warning("oscar orders: skipped an order without url, number or date_placed")
                continue
            if since is not None and placed < since:
                break  # newest first: everything after this was read before
            if since is not None and placed == since and order_id in seen:
                continue
            fresh.append((placed, int(order_id), order))
        fresh.sort(key=lambda entry: (entry[0], entry[1]))
        last, last_ids = since, set(seen)
        size = self.config.page_size
        for start in range(0, len(fresh), size):
            events = []
            for placed, order_id, order in fresh[start : start + size]:
                payload = self._with_lines(dict(order), str(order_id))
                key = order_key(payload)
                assert key is not None
                events.append(
                    InboundEvent(key=key, kind=ORDER, payload=payload, occurred_at=placed)
                )
                if last is None or placed > last:
                    last, last_ids = placed, {str(order_id)}
                else:
                    last_ids.add(str(order_id))
            assert last is not None
            yield Page(
                events=events, cursor=f"{time_text(last)}|{','.join(sorted(last_ids, key=int))}"
            )

    def _with_lines(self, order: dict[str, Any], order_id: str) -> dict[str, Any]:
        lines = []
        what = f"oscar order {order.get('number')} lines"
        for line in self.client.listing(f"admin/orders/{order_id}/lines/", what=what):
            row = dict(line)
            row["id"] = id_from_url(line.get("url"))
            record_id = id_from_url(line.get("stockrecord"))
            row["stockrecord_id"] = record_id
            row["sku"], row["partner"] = self._line_sku(record_id, line.get("product"))
            lines.append(row)
        order["id"] = order_id
        order["lines"] = lines
        return order

    def _line_sku(self, record_id: str | None, product_url: Any) -> tuple[str | None, str | None]:
        """The SKU of a line's stock record: from the bindings, else read from Oscar."""
        if record_id is None:
            return None, None
        bound = self.context.bindings.get_internal(RECORD_ENTITY, record_id)
        if bound:
            return bound, self.config.partner
        try:
            record = self.client.get(
                f"admin/stockrecords/{record_id}/", what=f"oscar stock record {record_id}"
            )
        except OscarNotFound:
            return None, None
        if not isinstance(record, dict):
            return None, None
        product = None
        if self.config.sku_field == "upc":
            product_id = id_from_url(product_url) or id_from_url(record.get("product"))
            product = self.client.get(
                f"admin/products/{product_id}/", what=f"oscar product {product_id}"
            )
        partner_id = id_from_url(record.get("partner"))
        if not self._partner_codes:
            self._partners()
        code = self._partner_codes.get(partner_id or "")
        sku = self._sku_of(record, product if isinstance(product, dict) else None) or None
        if sku and code == self.config.partner:
            self.context.bindings.put(RECORD_ENTITY, sku, record_id)
        return sku, code

    def _start(self, cursor: str | None) -> tuple[datetime | None, frozenset[str]]:
        if cursor:
            text, _, ids = cursor.partition("|")
            since = parse_time(text)
            if since is None:
                raise DataError(f"oscar orders cursor {cursor!r} is not readable")
            return since, frozenset(i for i in ids.split(",") if i.strip().isdigit())
        start = self.config.orders_since
        if start is None:
            return None, frozenset()
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.astimezone(UTC), frozenset()

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind == BASKET:
            basket_id = id_from_url(event.payload.get("id")) or ""
            handoff = self.context.bindings.get_internal(BASKET_ENTITY, basket_id)
            session = (
                self.context.bindings.get_external(SESSION_ENTITY, handoff) if handoff else None
            )
            url = (
                self._basket_writer().url(session, basket_id, handoff)
                if session and handoff
                else None
            )
            return list(
                decode_basket(
                    event.payload, sku_field=self.config.sku_field, handoff=handoff, url=url
                )
            )
        if event.kind != ORDER:
            raise DataError(f"oscar cannot decode events of kind {event.kind!r}")
        return list(
            decode_order(
                event.payload,
                store=self.config.orders_store,
                cancelled=self.config.cancelled_statuses,
            )
        )


def _coerce(model: type[BaseModel], raw: Record, position: int, sink: str) -> Any:
    try:
        if isinstance(raw, model):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"{sink} batch item {position} is not a {model.__name__}: {exc}") from None


def _units(value: Decimal, what: str) -> int:
    """Oscar's ``num_in_stock`` is a whole number of units."""
    if not value.is_finite() or value != value.to_integral_value():
        raise DataError(f"{what} {value} is not a whole number; Oscar keeps whole units")
    return int(value)
