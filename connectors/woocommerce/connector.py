"""The WooCommerce connector: stock and prices out, orders and stock levels in (REST API v3).

WooCommerce keeps **one** stock quantity per product or variation (``stock_quantity``, counted
only when ``manage_stock`` is true) and has no locations. Brique publishes to it as a single
platform location, ``location_id`` in the config (``"default"`` unless set): map the store or
the pool of stores the web shop sells from to that id in the mapping
(``ids: {webshop: default}``). A stock write for any other location is refused as a failed
item, never summed or guessed.

SKUs are resolved once through ``GET /products?sku=a,b,c`` (which also finds variations) and
remembered in the binding table as ``<product id>`` or ``<parent id>/<variation id>``. Writes
go through the documented batch endpoints, ``POST /products/batch`` and
``POST /products/<parent>/variations/batch``, at most 100 objects a call (the REST API's
default limit, ``woocommerce_rest_batch_items_limit``; a site that lowers it answers 413 and
the chunk is halved). Per-item errors in the batch answer fail that item alone.

Stock values are absolute (``stock_quantity`` with ``manage_stock: true``), so replaying a
batch writes the same numbers again and changes nothing. WooCommerce has no compare-and-set:
see ``_write_stock`` for how ``previous`` is honoured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
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
    StockWrite,
    WebhookRequest,
    WriteBatch,
    WriteResult,
)
from bridge.errors import AuthError, ConfigError, DataError, TransientError
from bridge.model.base import Record
from connectors.woocommerce.carts import CART, CART_TOKEN, CART_TOPICS, cart_event, decode_cart
from connectors.woocommerce.client import WooClient, WooRequestError, has_next, ids_of
from connectors.woocommerce.payloads import (
    ITEM_ENTITY,
    ORDER,
    ORDER_TOPICS,
    PRODUCT,
    PRODUCT_TOPICS,
    decode_order,
    decode_stock_level,
    gmt_text,
    held_stock,
    moment,
    optional_decimal,
    order_key,
    parse_time,
    platform_id,
)
from connectors.woocommerce.returns import write_returns

log = logging.getLogger(__name__)

MAX_BATCH = 100
"""Objects per batch call: "By default it's limited to up to 100 objects to be created,
updated or deleted" (WooCommerce REST API docs, Batch update products)."""
PER_PAGE = 100
"""WordPress caps ``per_page`` at 100."""
SKUS_PER_LOOKUP = 50
SKU_QUERY_MAX_CHARS = 1_500
LOOKUP_FIELDS = "id,sku,type,parent_id,manage_stock,stock_quantity"
MAX_IDLE_PAGES = 50
"""Pages of already-read orders (one second shared by many orders) before a read gives up."""
INVALID_ID_CODES = frozenset(
    {
        "woocommerce_rest_product_invalid_id",
        "woocommerce_rest_product_variation_invalid_id",
        "woocommerce_rest_invalid_product_id",
    }
)
MONEY_FIELDS = frozenset({"regular_price", "sale_price"})
STOCK_OWN = frozenset({"id", "manage_stock", "stock_quantity"})
"""Stock fields the connector sets itself; a mapping's outbound stock rules add others
(``backorders``, ``low_stock_amount``...)."""
_PING = re.compile(rb"\s*webhook_id=\d+\s*")


class WooCommerceConfig(ConnectorConfig):
    """One shop's REST API access. Secrets are ``SecretStr``: they never print nor log."""

    site_url: str
    """The WordPress site, ``https://shop.example.com`` (HTTPS: see ``query_string_auth``)."""
    consumer_key: SecretStr
    consumer_secret: SecretStr
    webhook_secret: SecretStr | None = None
    """The secret typed in each webhook (WooCommerce > Settings > Advanced > Webhooks)."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    """Read timeout in seconds for one call (connecting gets at most 3.05 s)."""
    location_id: str = "default"
    """The one platform location id Brique publishes WooCommerce's single stock under."""
    dates_are_gmt: bool = True
    """Poll orders with ``dates_are_gmt=true`` (WooCommerce otherwise compares ``modified_after``
    in the site's time zone); set false only for sites too old to know the parameter."""
    site_timezone: str = "UTC"
    """The site's time zone (IANA name), for payloads without ``*_gmt`` dates and for
    ``modified_after`` when ``dates_are_gmt`` is false."""
    query_string_auth: bool = False
    """Send the key and secret as query parameters instead of HTTP Basic, for servers that
    drop the ``Authorization`` header (documented for HTTPS only). The secret then lands in
    the web server's access logs: use it only when Basic auth cannot work."""
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    max_requests_per_second: float = Field(default=0.0, ge=0)
    """WooCommerce has no rate limit of its own; hosts and WAFs may. 0 means unpaced."""
    orders_since: datetime | None = None
    """Where the ``orders`` stream starts the first time (UTC if no offset); all orders if
    unset."""

    @field_validator("site_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(
                "site_url must be https://... (over plain HTTP WooCommerce requires OAuth 1.0a "
                "signatures, which Brique does not send)"
            )
        return value

    @field_validator("site_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @property
    def store(self) -> str:
        """The shop's host, used as the ``store`` of web sales' ticket keys."""
        return urlsplit(self.site_url).netloc


@dataclass(frozen=True)
class _Target:
    """Where a SKU lives: a product, or a variation of a parent product."""

    product: str
    variation: str | None = None

    @classmethod
    def parse(cls, external: str | None) -> _Target | None:
        if not external:
            return None
        parent, separator, child = external.partition("/")
        if separator:
            return cls(parent, child) if parent.isdigit() and child.isdigit() else None
        return cls(parent) if parent.isdigit() else None

    @classmethod
    def of(cls, node: Mapping[str, Any]) -> _Target | None:
        own = platform_id(node.get("id"))
        if own is None:
            return None
        if node.get("type") == "variation":
            parent = platform_id(node.get("parent_id"))
            return cls(parent, own) if parent else None
        return cls(own)

    @property
    def binding(self) -> str:
        return f"{self.product}/{self.variation}" if self.variation else self.product

    @property
    def endpoint(self) -> str:
        if self.variation:
            return f"products/{self.product}/variations/batch"
        return "products/batch"

    @property
    def item_id(self) -> int:
        return int(self.variation or self.product)


@dataclass
class _Update:
    """One object of a batch ``update`` list, with the result key it reports under."""

    key: str
    sku: str
    fields: dict[str, Any]
    target: _Target | None = None
    error: str = ""


@dataclass(frozen=True)
class _StockEntry:
    key: str
    sku: str
    quantity: int
    previous: int | None
    extra: dict[str, Any]


class WooCommerceConnector(Connector):
    """Publishes stock and prices to a WooCommerce shop and reads its orders and levels."""

    info = ConnectorInfo(
        name="woocommerce",
        kind="shop",
        version="0.1.0",
        capabilities=frozenset(
            {
                Capability.WRITE_STOCK,
                Capability.WRITE_PRICES,
                Capability.READ_STOCK,
                Capability.WEBHOOKS,
                Capability.READ_ORDERS,
                Capability.READ_BASKETS,
                Capability.WRITE_RETURNS,
            }
        ),
        config_model=WooCommerceConfig,
        description=(
            "WooCommerce REST API v3: stock and prices out (products and variations batch "
            "endpoints), orders in (webhooks and polling), stock levels in (product webhooks), "
            "Store API carts in (pushed by the shop, see connectors.woocommerce.carts)."
        ),
        batch_limits={"stock": MAX_BATCH, "prices": MAX_BATCH},
    )
    config: WooCommerceConfig

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = WooClient(
            self.config.site_url,
            self.config.consumer_key,
            self.config.consumer_secret,
            timeout=self.config.timeout,
            query_string_auth=self.config.query_string_auth,
            requests_per_second=self.config.max_requests_per_second,
            user_agent=f"brique-woocommerce/{self.info.version}",
        )
        self.zone = ZoneInfo(self.config.site_timezone)
        self._currency: str | None = None
        self._currency_asked = False

    def __repr__(self) -> str:
        return f"WooCommerceConnector({self.context.connection!r}, {self.config.site_url!r})"

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """An authenticated read of the store currency (a cheap, documented setting)."""
        response = self.client.get(
            "settings/general/woocommerce_currency", what="woocommerce check"
        )
        try:
            body = self.client.json(response, "woocommerce check")
        except TransientError:
            raise ConfigError(
                f"{self.config.site_url} did not answer with WooCommerce JSON; check site_url"
            ) from None
        if not isinstance(body, dict) or "value" not in body:
            raise ConfigError(f"{self.config.site_url} answered without the store currency")
        self._learn_currency(body)

    def close(self) -> None:
        self.client.close()

    def streams(self) -> Sequence[str]:
        return ("orders",)

    def store_currency(self) -> str | None:
        """The store's currency (prices are in it), asked once; None if not told."""
        if not self._currency_asked:
            response = self.client.get(
                "settings/general/woocommerce_currency", what="woocommerce store currency"
            )
            body = self.client.json(response, "woocommerce store currency")
            self._learn_currency(body if isinstance(body, dict) else {})
        return self._currency

    def _learn_currency(self, body: Mapping[str, Any]) -> None:
        value = body.get("value")
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{3}", value.strip()):
            self._currency = value.strip().upper()
        self._currency_asked = True

    # -- writes ---------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock``: absolute quantities (keys ``sku@location``); ``prices``: regular and sale
        prices (keys SKU). Refused items go to ``failed``, stale ones to ``stale``."""
        if sink == "stock":
            return self._write_stock(batch)
        if sink == "prices":
            return self._write_prices(batch)
        if sink == "returns":
            return write_returns(self, batch)
        raise DataError(f"woocommerce has no sink {sink!r}")

    def _write_stock(self, batch: WriteBatch) -> WriteResult:
        """Set ``stock_quantity`` (and ``manage_stock: true``) per SKU, plus the native fields
        of the mapping's outbound stock rules (``StockWrite.fields``), if any.

        WooCommerce has no compare-and-set: a PUT of ``stock_quantity`` overwrites whatever
        is there. So when a write carries ``previous`` (what Brique believes the shop holds),
        the current quantities are read first (one ``GET /products?sku=`` per 50 SKUs) and:

        - the shop already holds the new quantity: counted as written, nothing is sent (a
          replayed batch lands here);
        - the shop holds something other than ``previous`` (a web order, a hand edit): the
          item is **not written** and goes to ``result.stale`` with what the shop holds
          (None when it does not count the stock), so Brique recomputes from its ledger;
          it is never forced;
        - otherwise the quantity is written.

        The read and the write are two calls, so a sale landing between them is still
        overwritten; the window is one round trip instead of the whole push, and the next
        ``product.updated`` webhook or reconciliation reports the difference.
        """
        result = WriteResult()
        entries: dict[str, _StockEntry] = {}
        for position, raw in enumerate(batch.items):
            item = _stock_write(raw, position)
            key = f"{item.sku}@{item.location}"
            entries.pop(key, None)  # a later duplicate wins, valid or not
            result.failed.pop(key, None)
            if item.location != self.config.location_id:
                result.failed[key] = (
                    f"location {item.location!r} is not this shop's: WooCommerce keeps one stock "
                    f"per product, published as location {self.config.location_id!r}"
                )
                continue
            try:
                quantity = _whole(item.quantity, "quantity")
                previous = None if item.previous is None else _whole(item.previous, "previous")
            except DataError as exc:
                result.failed[key] = str(exc)
                continue
            extra = {k: _native(k, v) for k, v in item.fields.items() if k not in STOCK_OWN}
            entries[key] = _StockEntry(key, item.sku, quantity, previous, extra)
        if not entries:
            return result
        checked = {e.sku for e in entries.values() if e.previous is not None}
        nodes, failures = self._fetch(checked) if checked else ({}, {})
        targets = {sku: t for sku, node in nodes.items() if (t := _Target.of(node))}
        found, missing = self._resolve({e.sku for e in entries.values()} - checked)
        targets.update(found)
        failures.update(missing)
        updates: list[_Update] = []
        for entry in entries.values():
            if entry.sku in failures or entry.sku not in targets:
                result.failed[entry.key] = failures.get(entry.sku, f"SKU {entry.sku!r} unresolved")
                continue
            if entry.previous is not None:
                held = held_stock(nodes[entry.sku])
                if held == entry.quantity:
                    result.written += 1
                    result.observed[entry.key] = held
                    continue
                if held != entry.previous:
                    result.stale[entry.key] = held
                    continue
            fields = {**entry.extra, "manage_stock": True, "stock_quantity": entry.quantity}
            updates.append(_Update(entry.key, entry.sku, fields, targets[entry.sku]))
        quantities = {e.key: e.quantity for e in entries.values()}
        for key, answer in self._push(updates, result, "stock").items():
            result.written += 1
            seen = held_stock(answer)
            result.observed[key] = seen if seen is not None else Decimal(quantities[key])
        log.info(
            "woocommerce stock: %d written, %d stale, %d refused",
            result.written,
            len(result.stale),
            len(result.failed),
        )
        return result

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        """Set ``regular_price``/``sale_price`` per SKU; keys are SKUs.

        ``PriceWrite.fields`` (built by the mapping's outbound rules) go as they are, money as
        decimal text. Without fields: ``regular_price`` = the price and ``sale_price`` cleared,
        or, when a higher compare-at price is given, ``regular_price`` = compare-at and
        ``sale_price`` = the price (WooCommerce shows the regular price struck through).
        Values are absolute, so a replay rewrites the same prices and is harmless.
        """
        result = WriteResult()
        items = [_price_write(raw, position) for position, raw in enumerate(batch.items)]
        currency = self.store_currency() if items else None
        entries: dict[str, _Update] = {}
        for item in items:
            entries.pop(item.sku, None)
            result.failed.pop(item.sku, None)
            refusal = _currency_refusal(item, currency)
            if refusal:
                result.failed[item.sku] = refusal
            else:
                entries[item.sku] = _Update(item.sku, item.sku, _price_fields(item))
        targets, failures = self._resolve(entries)
        updates = []
        for update in entries.values():
            if update.sku in failures or update.sku not in targets:
                result.failed[update.sku] = failures.get(update.sku, "SKU unresolved")
                continue
            update.target = targets[update.sku]
            updates.append(update)
        for key, answer in self._push(updates, result, "prices").items():
            result.written += 1
            result.observed[key] = {
                "regular_price": optional_decimal(answer.get("regular_price")),
                "sale_price": optional_decimal(answer.get("sale_price")),
            }
        log.info("woocommerce prices: %d written, %d refused", result.written, len(result.failed))
        return result

    # -- batch calls ----------------------------------------------------------------------

    def _push(self, updates: list[_Update], result: WriteResult, what: str) -> dict[str, Any]:
        """Send updates in batches; returns key -> WooCommerce's answer for those applied.

        An id WooCommerce no longer knows (a product deleted and recreated) makes that SKU be
        looked up again and, if it moved, sent once more to its new id.
        """
        done: dict[str, Any] = {}
        invalid = self._send(updates, result, done, what)
        if not invalid:
            return done
        nodes, failures = self._fetch({u.sku for u in invalid})
        again: list[_Update] = []
        for update in invalid:
            node = nodes.get(update.sku)
            target = _Target.of(node) if node is not None else None
            if target is None or target == update.target:
                result.failed[update.key] = failures.get(update.sku) or update.error
            else:
                update.target = target
                again.append(update)
        for update in self._send(again, result, done, what):
            result.failed[update.key] = update.error
        return done

    def _send(
        self, updates: list[_Update], result: WriteResult, done: dict[str, Any], what: str
    ) -> list[_Update]:
        """Batch calls per endpoint (products, or one parent's variations); returns the
        updates refused for an unknown id."""
        groups: dict[str, list[_Update]] = {}
        for update in updates:
            assert update.target is not None
            groups.setdefault(update.target.endpoint, []).append(update)
        invalid: list[_Update] = []
        size = self.config.batch_size
        for endpoint, group in groups.items():
            for start in range(0, len(group), size):
                self._send_chunk(endpoint, group[start : start + size], result, done, invalid, what)
        return invalid

    def _send_chunk(
        self,
        endpoint: str,
        chunk: list[_Update],
        result: WriteResult,
        done: dict[str, Any],
        invalid: list[_Update],
        what: str,
    ) -> None:
        label = f"woocommerce {what} {endpoint} ({len(chunk)} items)"
        body = {"update": [{"id": u.target.item_id, **u.fields} for u in chunk if u.target]}
        try:
            response = self.client.post(endpoint, body, what=label)
        except WooRequestError as exc:
            if exc.status == 413 and len(chunk) > 1:
                half = len(chunk) // 2
                log.info("%s: the site accepts fewer items a call; halving", label)
                self._send_chunk(endpoint, chunk[:half], result, done, invalid, what)
                self._send_chunk(endpoint, chunk[half:], result, done, invalid, what)
                return
            for update in chunk:
                result.failed[update.key] = str(exc)
            return
        data = self.client.json(response, label)
        answers = data.get("update") if isinstance(data, dict) else None
        if not isinstance(answers, list):
            raise TransientError(f"{label}: the answer has no 'update' list")
        by_id: dict[str, dict[str, Any]] = {}
        for answer in answers:
            if isinstance(answer, dict):
                by_id.setdefault(str(answer.get("id")), answer)
        for position, update in enumerate(chunk):
            assert update.target is not None
            wanted = str(update.target.item_id)
            answer = answers[position] if position < len(answers) else None
            if not isinstance(answer, dict) or str(answer.get("id")) != wanted:
                answer = by_id.get(wanted)
            if answer is None:
                result.failed[update.key] = f"{label}: no answer for id {wanted}"
                continue
            error = answer.get("error")
            if isinstance(error, dict):
                text = _error_text(error)
                data_part = error.get("data")
                status = data_part.get("status") if isinstance(data_part, dict) else None
                if error.get("code") in INVALID_ID_CODES or status == 404:
                    update.error = f"id {update.target.binding} of SKU {update.sku!r}: {text}"
                    invalid.append(update)
                else:
                    result.failed[update.key] = text
                continue
            done[update.key] = answer

    # -- SKU resolution -------------------------------------------------------------------

    def _resolve(self, skus: Iterable[str]) -> tuple[dict[str, _Target], dict[str, str]]:
        """SKU -> where it lives, from the bindings, else looked up (and bound)."""
        bindings = self.context.bindings
        found: dict[str, _Target] = {}
        missing: set[str] = set()
        for sku in set(skus):
            target = _Target.parse(bindings.get_external(ITEM_ENTITY, sku))
            if target is None:
                missing.add(sku)
            else:
                found[sku] = target
        nodes, failures = self._fetch(missing) if missing else ({}, {})
        for sku, node in nodes.items():
            target = _Target.of(node)
            if target is None:
                failures[sku] = f"SKU {sku!r}: WooCommerce answered without usable ids"
            else:
                found[sku] = target
        return found, failures

    def _fetch(self, skus: Iterable[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Current product or variation per SKU, read now (and its ids bound); failures for
        SKUs WooCommerce does not know or shares between several products."""
        wanted = sorted(set(skus))
        matches = self._lookup(wanted)
        nodes: dict[str, dict[str, Any]] = {}
        failures: dict[str, str] = {}
        for sku in wanted:
            found = matches.get(sku, [])
            if not found:
                failures[sku] = f"SKU {sku!r} not found in WooCommerce"
            elif len(found) > 1:
                failures[sku] = f"SKU {sku!r} is shared by {len(found)} WooCommerce products"
            else:
                node = found[0]
                nodes[sku] = node
                target = _Target.of(node)
                if target is not None:
                    bindings = self.context.bindings
                    if bindings.get_external(ITEM_ENTITY, sku) != target.binding:
                        bindings.put(ITEM_ENTITY, sku, target.binding)
        if wanted:
            log.info("woocommerce lookup: %d of %d SKUs found", len(nodes), len(wanted))
        return nodes, failures

    def _lookup(self, skus: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``GET /products?sku=a,b,c``: products *and* variations with those exact SKUs."""
        matches: dict[str, dict[str, dict[str, Any]]] = {}
        for chunk in _sku_chunks(skus):
            wanted = set(chunk)
            page = 1
            previous: tuple[str, ...] | None = None
            while True:
                params = {
                    "sku": ",".join(chunk),
                    "per_page": PER_PAGE,
                    "page": page,
                    "_fields": LOOKUP_FIELDS,
                }
                what = f"woocommerce SKU lookup ({len(chunk)})"
                response = self.client.get("products", params, what=what)
                nodes = self.client.json(response, what)
                if not isinstance(nodes, list):
                    raise TransientError(f"{what}: the answer is not a list")
                ids = ids_of(nodes)
                if ids and ids == previous:
                    break  # the same page again: never loop
                for node in nodes:
                    sku = node.get("sku") if isinstance(node, dict) else None
                    if sku in wanted:  # WooCommerce may match loosely: keep exact SKUs
                        matches.setdefault(sku, {})[str(node.get("id"))] = node
                if not nodes or not has_next(response, page, len(nodes), PER_PAGE):
                    break
                page, previous = page + 1, ids
        return {sku: list(found.values()) for sku, found in matches.items()}

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Quantity per (sku, location) for reconciliation, read now by SKU.

        Only ``location_id`` exists on WooCommerce; other locations, unknown SKUs and products
        whose stock WooCommerce does not count are left out of the answer.
        """
        wanted = [(sku, loc) for sku, loc in pairs if loc == self.config.location_id]
        nodes, failures = self._fetch({sku for sku, _ in wanted})
        for sku, message in failures.items():
            log.info("woocommerce read_stock: %s (%s)", sku, message)
        found: dict[tuple[str, str], Decimal] = {}
        for sku, loc in wanted:
            node = nodes.get(sku)
            held = held_stock(node) if node is not None else None
            if held is not None:
                found[(sku, loc)] = held
        return found

    # -- orders in ------------------------------------------------------------------------

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        if stream != "orders":
            raise DataError(f"woocommerce has no stream {stream!r}")
        return self._read_orders(cursor)

    def _read_orders(self, cursor: str | None) -> Iterator[Page]:
        """Orders by modification date, oldest first, each page resumable.

        ``GET /orders?modified_after=..&dates_are_gmt=true&orderby=modified&order=asc
        &per_page=100&page=N``. The cursor is the last ``date_modified_gmt`` read and the ids
        read at that second (``2026-01-15T10:00:00|727,731``). After each page the next
        request starts again from the cursor (page 1, ``modified_after`` one second before it,
        the ids already read skipped) instead of asking for page N+1: an order modified while
        the stream is read moves to the end of the list, and page numbers would then skip
        the order that slid into the page already read. Page numbers are only followed over
        orders all already read (many orders sharing one second). The read ends at the last
        page (``X-WP-TotalPages``, else ``Link: rel="next"``) and stops if a page repeats the
        previous one.
        """
        since, seen = self._start(cursor)
        page = 1
        previous: tuple[str, ...] | None = None
        idle = 0
        while True:
            params: dict[str, Any] = {
                "per_page": PER_PAGE,
                "page": page,
                "orderby": "modified",
                "order": "asc",
            }
            if self.config.dates_are_gmt:
                params["dates_are_gmt"] = "true"
            if since is not None:
                params["modified_after"] = self._query_time(since - timedelta(seconds=1))
            what = f"woocommerce orders page {page}"
            response = self.client.get("orders", params, what=what)
            orders = self.client.json(response, what)
            if not isinstance(orders, list):
                raise TransientError(f"{what}: the answer is not a list")
            ids = ids_of(orders)
            if page > 1 and ids and ids == previous:
                log.warning("woocommerce orders: page %d repeats page %d; stopping", page, page - 1)
                return
            events, since_after, seen_after = self._new_orders(orders, since, seen)
            more = bool(orders) and has_next(response, page, len(orders), PER_PAGE)
            if events:
                since, seen = since_after, seen_after
                yield Page(events=events, cursor=_cursor_text(since, seen))
                if not more:
                    return
                page, previous, idle = 1, None, 0
                continue
            if not more:
                return
            idle += 1
            if idle > MAX_IDLE_PAGES:
                log.warning("woocommerce orders: %d pages without a new order; stopping", idle)
                return
            page, previous = page + 1, ids

    def _new_orders(
        self, orders: list[Any], since: datetime | None, seen: frozenset[str]
    ) -> tuple[list[InboundEvent], datetime | None, frozenset[str]]:
        events: list[InboundEvent] = []
        last, last_ids = since, set(seen)
        for order in orders:
            if not isinstance(order, dict):
                continue
            order_id = platform_id(order.get("id"))
            modified = moment(order, "date_modified", self.zone)
            key = order_key(order)
            if order_id is None or modified is None or key is None:
                log.warning("woocommerce orders: skipped an order without id or modified date")
                continue
            if since is not None and (modified < since or (modified == since and order_id in seen)):
                continue
            events.append(InboundEvent(key=key, kind=ORDER, payload=order, occurred_at=modified))
            if last is None or modified > last:
                last, last_ids = modified, {order_id}
            elif modified == last:
                last_ids.add(order_id)
        return events, last, frozenset(last_ids)

    def _start(self, cursor: str | None) -> tuple[datetime | None, frozenset[str]]:
        if cursor:
            text, _, ids = cursor.partition("|")
            since = parse_time(text, UTC)
            if since is None:
                raise DataError(f"woocommerce orders cursor {cursor!r} is not readable")
            return since, frozenset(i for i in ids.split(",") if i.strip().isdigit())
        start = self.config.orders_since
        if start is None:
            return None, frozenset()
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.astimezone(UTC), frozenset()

    def _query_time(self, value: datetime) -> str:
        if self.config.dates_are_gmt:
            return gmt_text(value)
        return value.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M:%S")

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        """``X-WC-Webhook-Signature`` = base64(HMAC-SHA256(secret, raw body)), compared in
        constant time over the bytes received (WooCommerce signs ``trim(wp_json_encode())``,
        which a re-dump would not reproduce).

        The ping WooCommerce posts when a webhook is created (form body ``webhook_id=<n>``,
        no topic, no signature) is let through: it carries nothing and yields no event, and
        WooCommerce needs a 200 to it.
        """
        signature = request.header("X-WC-Webhook-Signature")
        if not signature:
            if _is_ping(request):
                return
            raise AuthError("woocommerce webhook without X-WC-Webhook-Signature")
        if self.config.webhook_secret is None:
            raise ConfigError("woocommerce webhook_secret is not configured")
        digest = hmac.new(
            self.config.webhook_secret.get_secret_value().encode(), request.body, hashlib.sha256
        ).digest()
        if not hmac.compare_digest(base64.b64encode(digest), signature.strip().encode()):
            raise AuthError("woocommerce webhook signature does not match")

    def parse_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        """``order.created|updated|restored`` -> one ``order`` event keyed by the order's id
        and ``date_modified_gmt`` (the key the ``orders`` stream uses for that version, so a
        polled order and its webhook are one inbox row). ``product.created|updated|restored``
        -> one ``product`` event when the product counts its stock, keyed by delivery id and
        product id. The creation ping and other topics give no event.

        Not keyed by ``X-WC-Webhook-Delivery-ID`` alone: WooCommerce makes it from the webhook
        id and the current second (``wp_hash(id . time())``), so two deliveries of one
        webhook within a second share it.
        """
        if _is_ping(request):
            log.info("woocommerce webhook ping received")
            return []
        topic = (request.header("X-WC-Webhook-Topic") or "").strip()
        if not topic:
            raise DataError("woocommerce webhook without X-WC-Webhook-Topic")
        delivery = (request.header("X-WC-Webhook-Delivery-ID") or "").strip()
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise DataError(f"woocommerce webhook {topic} {delivery}: body is not JSON") from None
        if not isinstance(payload, dict):
            raise DataError(f"woocommerce webhook {topic} {delivery}: body is not an object")
        if topic in CART_TOPICS:
            token = (request.header(CART_TOKEN) or "").strip()
            if not token:
                raise DataError(f"woocommerce {topic} push without a {CART_TOKEN} header")
            return [cart_event(token, payload)]
        occurred = moment(payload, "date_modified", self.zone)
        if topic in ORDER_TOPICS:
            key = order_key(payload) or (f"order-delivery/{delivery}" if delivery else None)
            if key is None:
                raise DataError(f"woocommerce webhook {topic}: no order id nor delivery id")
            return [InboundEvent(key=key, kind=ORDER, payload=payload, occurred_at=occurred)]
        if topic in PRODUCT_TOPICS:
            product_id = platform_id(payload.get("id"))
            held = held_stock(payload)
            if product_id is None or held is None:
                return []
            if delivery:
                key = f"product/{product_id}/delivery/{delivery}"
            else:
                stamp = payload.get("date_modified_gmt") or ""
                key = f"product/{product_id}@{stamp}/{held}"
            return [InboundEvent(key=key, kind=PRODUCT, payload=payload, occurred_at=occurred)]
        log.info("woocommerce webhook topic %s ignored", topic)
        return []

    def decode(self, event: InboundEvent) -> list[Record]:
        bindings = self.context.bindings
        if event.kind == ORDER:

            def sku_of_line(product: str | None, variation: str | None) -> str | None:
                if product is None:
                    return None
                external = f"{product}/{variation}" if variation else product
                return bindings.get_internal(ITEM_ENTITY, external)

            return list(decode_order(event.payload, self.config.store, self.zone, sku_of_line))
        if event.kind == CART:
            return list(
                decode_cart(
                    event.payload.get("cart") or {},
                    str(event.payload.get("cart_id") or ""),
                    lambda product: bindings.get_internal(ITEM_ENTITY, product),
                )
            )
        if event.kind == PRODUCT:
            return list(
                decode_stock_level(
                    event.payload,
                    self.config.location_id,
                    lambda external: bindings.get_internal(ITEM_ENTITY, external),
                )
            )
        raise DataError(f"woocommerce cannot decode events of kind {event.kind!r}")


# -- helpers ------------------------------------------------------------------------------


def _is_ping(request: WebhookRequest) -> bool:
    """WooCommerce's creation ping (``WC_Webhook::deliver_ping``): ``webhook_id=<n>``."""
    return (
        request.header("X-WC-Webhook-Signature") is None
        and request.header("X-WC-Webhook-Topic") is None
        and _PING.fullmatch(request.body) is not None
    )


def _stock_write(raw: Record, position: int) -> StockWrite:
    try:
        if isinstance(raw, StockWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return StockWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"stock batch item {position} is not a stock write: {exc}") from None


def _price_write(raw: Record, position: int) -> PriceWrite:
    try:
        if isinstance(raw, PriceWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return PriceWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"prices batch item {position} is not a price write: {exc}") from None


def _whole(value: Decimal, what: str) -> int:
    if not value.is_finite() or value != value.to_integral_value():
        raise DataError(f"{what} {value} is not a whole number; WooCommerce counts units")
    return int(value)


def _money_text(value: Decimal) -> str:
    return format(value, "f")


def _native(name: str, value: Any) -> Any:
    """A mapped field as WooCommerce's schema wants it: money as text, Decimals as text."""
    if isinstance(value, Decimal):
        return _money_text(value)
    if name in MONEY_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return {k: _native(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_native(name, v) for v in value]
    return value


def _price_fields(item: PriceWrite) -> dict[str, Any]:
    if item.fields:
        return {k: _native(k, v) for k, v in item.fields.items() if k != "id"}
    price = item.price.amount
    compare_at = item.compare_at.amount if item.compare_at is not None else None
    if compare_at is not None and compare_at > price:
        return {"regular_price": _money_text(compare_at), "sale_price": _money_text(price)}
    return {"regular_price": _money_text(price), "sale_price": ""}


def _currency_refusal(item: PriceWrite, currency: str | None) -> str | None:
    if currency is None:
        return None
    for what, money in (("price", item.price), ("compare-at price", item.compare_at)):
        if money is not None and money.currency != currency:
            return (
                f"{what} {money} is not in the store's currency {currency}; "
                "the mapping must give this channel prices in its currency"
            )
    return None


def _error_text(error: Mapping[str, Any]) -> str:
    code = error.get("code") or "error"
    return f"{code}: {error.get('message') or 'refused by WooCommerce'}"


def _cursor_text(since: datetime | None, seen: frozenset[str]) -> str | None:
    if since is None:
        return None
    return f"{gmt_text(since)}|{','.join(sorted(seen, key=int))}"


def _sku_chunks(skus: Sequence[str]) -> Iterator[list[str]]:
    """SKUs per lookup, within a URL length any server takes. A SKU holding a comma goes
    alone: WooCommerce splits the ``sku`` filter on commas."""
    chunk: list[str] = []
    length = 0
    for sku in skus:
        if "," in sku:
            yield [sku]
            continue
        if chunk and (len(chunk) >= SKUS_PER_LOOKUP or length + len(sku) + 3 > SKU_QUERY_MAX_CHARS):
            yield chunk
            chunk, length = [], 0
        chunk.append(sku)
        length += len(sku) + 3
    if chunk:
        yield chunk
