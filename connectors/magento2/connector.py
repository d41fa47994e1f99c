"""The Magento 2 / Adobe Commerce connector: MSI source quantities and base prices out, orders
polled in (REST ``/rest/<store_code>/V1``).

Stock: source quantity, not salable quantity. Magento's Multi-Source Inventory keeps a
*source item* per (SKU, source): the ``quantity`` physically at that source and an in/out of
stock ``status``. What a shopper may buy is the *salable* quantity of a stock (a group of
sources), ``salable = sum(source quantities) - reservations``: placing an order appends a
negative reservation, and shipping it deducts the source quantity and compensates the
reservation. Brique publishes what is physically at the source (the ledger's on-hand, less
buffers), so it writes **source quantities** and never salable ones, and ``read_stock``
returns source quantities. Writing a salable figure would subtract the open web orders
twice (magento/inventory#1971, #2725). Orders placed on the web but not shipped are
therefore still in the source quantity Brique sees, as they are in the store's shelves.
``salable_quantity`` reads ``GET /V1/inventory/get-product-salable-quantity/{sku}/{stockId}``
for diagnostics.

A Brique location maps to an MSI ``source_code`` (``ids: {webshop: <source_code>}`` in the
mapping); only the codes in ``source_codes`` are written. Writes are ``POST
/V1/inventory/source-items`` with ``{"sourceItems": [{sku, source_code, quantity, status}]}``,
``status`` 1 when the quantity is above 0 (a mapping's outbound stock rule may set ``status``
itself, e.g. to keep back-ordered items in stock). Values are absolute: a replayed batch
writes the same numbers again and changes nothing.

Batches: at most 20 source items or prices a call. Magento has no limit of its own, but its
*input limiting* (Adobe Commerce web API, "API security"; enabled out of the box on 2.4.3 and
2.3.7-p1, optional since) refuses a synchronous request whose list holds more than 20
entities. 20 works on every installation. The asynchronous bulk API (5,000 entities) is not
used: it answers with a bulk id whose outcome must be polled, and a refused item would not
be reported with the write. A site that lowered the limit further answers 400: the batch is
halved until it passes.

Magento does not check that a SKU exists when saving source items (magento/magento2#38154:
an unknown SKU is stored as an orphan row and 200 is answered; some versions answer 400
"Could not save Source Item" for the whole batch instead). So SKUs are looked up once in the
catalog (``GET /V1/products`` with a ``sku in (...)`` filter) and remembered in the binding
table (``magento2_product``: SKU -> product id); an unknown SKU, or one of a type that holds
no stock (configurable, bundle, grouped), is a failed item and nothing is sent for it.

Compare-and-set: Magento has none. When a write carries ``previous``, the source items are
read first (``GET /V1/inventory/source-items`` filtered on ``sku in`` and ``source_code in``):
the source already holds the target -> counted as written, nothing sent (a replay lands
here); it holds something other than ``previous`` (a hand edit, a shipment) -> the item goes
to ``WriteResult.stale`` with what it holds (None when the SKU has no source item there) and
is **not** written; otherwise it is written. The read and the write are two calls: a change
in between is overwritten, a window of one round trip instead of a whole push.

Prices: ``POST /V1/products/base-prices`` with ``{"prices": [{sku, price, store_id}]}``. The
mapping's outbound price rules build ``PriceWrite.fields`` (``{"price": "19.99"}``, optionally
``store_id``); without fields the price amount is sent. ``store_id`` defaults to
``price_store_id`` (0, the global scope, Magento's default price scope). Magento validates
each item and answers the refused ones as ``[{message, parameters}]``, applying the others;
each refusal is matched to its SKU (a parameter equal to it, or ``SKU = <sku>`` in the
message) and fails that item. A refusal naming no SKU makes the chunk's items be sent one by
one (prices are absolute: sending one again is harmless) so it lands on the right one.
Special prices (``/V1/products/special-price``) need a date range and are not written.

Orders: Magento Open Source has no webhooks. The ``orders`` stream polls ``GET /V1/orders``
on ``updated_at``; see ``read``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

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
    WriteBatch,
    WriteResult,
)
from bridge.errors import ConfigError, DataError, TransientError
from bridge.model.base import Record
from connectors.magento2.client import (
    MagentoClient,
    MagentoNotFound,
    MagentoRequestError,
    listing,
    render,
    search_criteria,
)
from connectors.magento2.orders import (
    ORDER,
    decode_order,
    optional_decimal,
    order_key,
    parse_time,
    platform_id,
    time_text,
)

log = logging.getLogger(__name__)

MAX_BATCH = 20
"""Source items or prices per call: input limiting's default for synchronous requests."""
MAX_PAGE_SIZE = 300
"""Input limiting's default maximum page size; also a sane ceiling without it."""
SKUS_PER_QUERY = 50
"""SKUs per ``in`` filter, keeping the query string short enough for any web server."""
MAX_IDLE_PAGES = 50
"""Pages of already-read orders (many sharing one second) before a read gives up."""
ITEM_ENTITY = "magento2_product"
"""Binding: SKU -> Magento product entity id, for SKUs that hold stock."""
NO_SOURCE_ITEMS = frozenset({"configurable", "bundle", "grouped"})
"""Product types MSI keeps no source items for: their stock is their children's."""
STOCK_FIELDS = frozenset({"status"})
"""Source item fields a mapping's outbound stock rules may set (Brique sets the others)."""
PRICE_FIELDS = frozenset({"price", "store_id"})
"""Base price fields a mapping's outbound price rules may set (Brique sets ``sku``)."""
_SKU_IN_MESSAGE = re.compile(r"SKU = (.*?)(?:, Store ID|\.?$)")


class Magento2Config(ConnectorConfig):
    """One Magento installation's REST access. The token is a ``SecretStr``."""

    base_url: str
    """The shop's base URL, ``https://shop.example.com`` (without ``/rest``)."""
    store_code: str = "all"
    """The store code in ``/rest/<store_code>/V1``. ``all`` is the admin scope: nothing Brique
    does then creates store-view overrides; orders are listed for every store either way."""
    access_token: SecretStr
    """The integration's access token (System > Extensions > Integrations), needing the
    resources Magento_Backend::store (check), Magento_Catalog::products, Magento_InventoryApi
    ::source and ::source_item (stock), Magento_Catalog::catalog (prices) and
    Magento_Sales::sales (orders)."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    source_codes: tuple[str, ...] = ("default",)
    """The MSI sources Brique may write; a Brique location maps to one of them."""
    stock_id: int = Field(default=1, ge=1)
    """The MSI stock whose salable quantity ``salable_quantity`` reads (1: Default Stock)."""
    price_store_id: int = Field(default=0, ge=0)
    """``store_id`` of base prices: 0 is the global scope (Magento's default price scope);
    a store view id when the catalog price scope is per website."""
    page_size: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    max_requests_per_second: float = Field(default=0.0, ge=0)
    """Magento core has no rate limit; hosts, WAFs and CDNs may. 0 means unpaced."""
    orders_since: datetime | None = None
    """Where the ``orders`` stream starts the first time (UTC if no offset); all if unset."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("base_url must be https://<your shop> (without /rest)")
        if parts.scheme == "http" and not local:
            raise ValueError(
                "base_url must use https: the bearer token would cross the network in clear"
            )
        if parts.path.rstrip("/").endswith("/rest") or "/rest/" in parts.path:
            raise ValueError("base_url is the shop's URL without /rest/<store_code>")
        return value

    @field_validator("store_code")
    @classmethod
    def _store_code(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"[A-Za-z0-9_]+", value):
            raise ValueError(f"store_code {value!r} is not a Magento store code")
        return value

    @field_validator("source_codes")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
        if not codes:
            raise ValueError("source_codes needs at least one MSI source code")
        return codes


@dataclass
class _StockEntry:
    key: str
    sku: str
    source: str
    quantity: Decimal
    previous: Decimal | None
    status: int

    def native(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "source_code": self.source,
            "quantity": self.quantity,
            "status": self.status,
        }


@dataclass
class _PriceEntry:
    sku: str
    price: Decimal
    store_id: int

    def native(self) -> dict[str, Any]:
        return {"sku": self.sku, "price": self.price, "store_id": self.store_id}


@dataclass
class _Held:
    quantity: Decimal
    status: int | None


@dataclass
class _Catalog:
    products: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


class Magento2Connector(Connector):
    """Publishes source quantities and base prices to Magento 2 and polls its orders."""

    info = ConnectorInfo(
        name="magento2",
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
        config_model=Magento2Config,
        description=(
            "Magento 2 / Adobe Commerce REST: MSI source quantities and base prices out "
            "(20 a call), orders polled on updated_at."
        ),
        batch_limits={"stock": MAX_BATCH, "prices": MAX_BATCH},
    )
    config: Magento2Config

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = MagentoClient(
            self.config.base_url,
            self.config.store_code,
            self.config.access_token,
            timeout=self.config.timeout,
            requests_per_second=self.config.max_requests_per_second,
            user_agent=f"brique-magento2/{self.info.version}",
        )
        self._currency: str | None = None
        self._currency_asked = False

    def __repr__(self) -> str:
        return f"Magento2Connector({self.context.connection!r}, {self.config.base_url!r})"

    def close(self) -> None:
        self.client.close()

    def streams(self) -> Sequence[str]:
        return ("orders",)

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """Authenticated reads of the store views and of the MSI sources: the URL, the store
        code, the token and its resources, and every configured source code are right."""
        # An unknown store code is part of the path Magento then fails to route: a 404 that
        # names base_url and store_code.
        self._store_configs()
        params = search_criteria(page_size=MAX_PAGE_SIZE, current_page=1)
        body = self.client.get("inventory/sources", params, what="magento2 check sources")
        sources, _ = listing(body, "magento2 check sources")
        known = {str(s.get("source_code")) for s in sources}
        missing = [code for code in self.config.source_codes if code not in known]
        if missing:
            raise ConfigError(
                f"source_codes {', '.join(missing)} are not MSI sources of "
                f"{self.config.base_url} (known: {', '.join(sorted(known)) or 'none'})"
            )

    def _store_configs(self) -> list[dict[str, Any]]:
        what = "magento2 store configs"
        try:
            body = self.client.get("store/storeConfigs", what=what)
        except TransientError as exc:
            if "not JSON" in str(exc):
                raise ConfigError(
                    f"{self.config.base_url} did not answer with Magento JSON; check base_url"
                ) from None
            raise
        if not isinstance(body, list):
            raise ConfigError(f"{self.config.base_url} answered {what} without a list")
        configs = [c for c in body if isinstance(c, dict)]
        self._learn_currency(configs)
        return configs

    def base_currency(self) -> str | None:
        """The currency base prices are in, asked once; None if the store views disagree."""
        if not self._currency_asked:
            self._store_configs()
        return self._currency

    def _learn_currency(self, configs: list[dict[str, Any]]) -> None:
        chosen = [c for c in configs if c.get("id") == self.config.price_store_id]
        if not chosen and self.config.store_code not in ("all", "default"):
            chosen = [c for c in configs if c.get("code") == self.config.store_code]
        currencies = {
            str(c.get("base_currency_code")).upper()
            for c in (chosen or configs)
            if c.get("base_currency_code")
        }
        self._currency = currencies.pop() if len(currencies) == 1 else None
        self._currency_asked = True

    # -- writes ---------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock``: source quantities (keys ``sku@source_code``); ``prices``: base prices
        (keys SKU). Refused items go to ``failed``, compare-and-set misses to ``stale``."""
        if sink == "stock":
            return self._write_stock(batch)
        if sink == "prices":
            return self._write_prices(batch)
        raise DataError(f"magento2 has no sink {sink!r}")

    def _write_stock(self, batch: WriteBatch) -> WriteResult:
        """See the module docstring: catalog check, compare-and-set read, batched POSTs."""
        result = WriteResult()
        entries: dict[str, _StockEntry] = {}
        for position, raw in enumerate(batch.items):
            item = _stock_write(raw, position)
            key = f"{item.sku}@{item.location}"
            entries.pop(key, None)  # a later duplicate wins, valid or not
            result.failed.pop(key, None)
            try:
                entries[key] = self._stock_entry(key, item)
            except DataError as exc:
                result.failed[key] = str(exc)
        if not entries:
            return result
        catalog = self._catalog({e.sku for e in entries.values()})
        checked = [e for e in entries.values() if e.previous is not None]
        held = self._source_items(
            {e.sku for e in checked if e.sku in catalog.products}, {e.source for e in checked}
        )
        outgoing: list[_StockEntry] = []
        for entry in entries.values():
            if entry.sku not in catalog.products:
                result.failed[entry.key] = catalog.refused.get(
                    entry.sku, f"SKU {entry.sku!r} unresolved"
                )
                continue
            if entry.previous is not None:
                now = held.get((entry.sku, entry.source))
                quantity = now.quantity if now is not None else None
                if now is not None and quantity == entry.quantity and now.status == entry.status:
                    result.written += 1  # already there (a replay): nothing to send
                    result.observed[entry.key] = quantity
                    continue
                if quantity not in (entry.quantity, entry.previous):
                    result.stale[entry.key] = quantity  # changed behind Brique: never forced
                    continue
            outgoing.append(entry)
        size = self.config.batch_size
        for start in range(0, len(outgoing), size):
            self._post_source_items(outgoing[start : start + size], result)
        log.info(
            "magento2 stock: %d written, %d stale, %d refused",
            result.written,
            len(result.stale),
            len(result.failed),
        )
        return result

    def _stock_entry(self, key: str, item: StockWrite) -> _StockEntry:
        if item.location not in self.config.source_codes:
            raise DataError(
                f"location {item.location!r} is not one of this connection's MSI sources "
                f"({', '.join(self.config.source_codes)}); map the store to a source_code"
            )
        quantity = _quantity(item.quantity, "quantity")
        previous = None if item.previous is None else _quantity(item.previous, "previous")
        status = 1 if quantity > 0 else 0
        for name, value in item.fields.items():
            if name not in STOCK_FIELDS:
                raise DataError(
                    f"stock field {name!r} is not a source item field Brique may set "
                    f"({', '.join(sorted(STOCK_FIELDS))})"
                )
            status = _status(value)
        return _StockEntry(key, item.sku, item.location, quantity, previous, status)

    def _post_source_items(self, chunk: list[_StockEntry], result: WriteResult) -> None:
        """One ``POST /V1/inventory/source-items``; a refused chunk is halved to find the
        item Magento refuses (the save is one transaction: a 400 wrote nothing)."""
        label = f"magento2 source-items ({len(chunk)} items)"
        try:
            self.client.post(
                "inventory/source-items", {"sourceItems": [e.native() for e in chunk]}, what=label
            )
        except (MagentoRequestError, MagentoNotFound) as exc:
            if len(chunk) > 1:
                half = len(chunk) // 2
                log.info("%s refused (%s); halving to find the item", label, exc)
                self._post_source_items(chunk[:half], result)
                self._post_source_items(chunk[half:], result)
                return
            result.failed[chunk[0].key] = str(exc)
            return
        for entry in chunk:
            result.written += 1
            result.observed[entry.key] = entry.quantity

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        """Base prices, 20 a call; per-item refusals fail their SKU (module docstring)."""
        result = WriteResult()
        items = [_price_write(raw, position) for position, raw in enumerate(batch.items)]
        currency = self.base_currency() if items else None
        entries: dict[str, _PriceEntry] = {}
        for item in items:
            entries.pop(item.sku, None)
            result.failed.pop(item.sku, None)
            try:
                entries[item.sku] = self._price_entry(item, currency)
            except DataError as exc:
                result.failed[item.sku] = str(exc)
        outgoing = list(entries.values())
        size = self.config.batch_size
        for start in range(0, len(outgoing), size):
            self._post_prices(outgoing[start : start + size], result)
        log.info("magento2 prices: %d written, %d refused", result.written, len(result.failed))
        return result

    def _price_entry(self, item: PriceWrite, currency: str | None) -> _PriceEntry:
        for what, money in (("price", item.price), ("compare-at price", item.compare_at)):
            if currency and money is not None and money.currency != currency:
                raise DataError(
                    f"{what} {money.amount} {money.currency} is not in the base currency "
                    f"{currency}; the mapping must give this channel prices in it"
                )
        fields = dict(item.fields) if item.fields else {"price": item.price.amount}
        unknown = sorted(set(fields) - PRICE_FIELDS)
        if unknown:
            raise DataError(
                f"price fields {', '.join(unknown)} are not base price fields "
                f"({', '.join(sorted(PRICE_FIELDS))}); Brique writes base prices only"
            )
        price = _money(fields.get("price"), "price")
        store_id = fields.get("store_id", self.config.price_store_id)
        if isinstance(store_id, bool) or not str(store_id).strip().isdigit():
            raise DataError(f"store_id {store_id!r} is not a Magento store id")
        return _PriceEntry(item.sku, price, int(str(store_id).strip()))

    def _post_prices(self, chunk: list[_PriceEntry], result: WriteResult) -> None:
        label = f"magento2 base-prices ({len(chunk)} items)"
        try:
            answer = self.client.post(
                "products/base-prices", {"prices": [e.native() for e in chunk]}, what=label
            )
        except (MagentoRequestError, MagentoNotFound) as exc:
            if len(chunk) > 1:
                half = len(chunk) // 2
                self._post_prices(chunk[:half], result)
                self._post_prices(chunk[half:], result)
                return
            result.failed[chunk[0].sku] = str(exc)
            return
        if answer is None:
            answer = []
        if not isinstance(answer, list):
            raise TransientError(f"{label}: the answer is not a list of refusals")
        skus = {e.sku for e in chunk}
        refused: dict[str, list[str]] = {}
        unattributed: list[str] = []
        for error in answer:
            if not isinstance(error, Mapping):
                continue
            text = render(error.get("message"), error.get("parameters"))
            named = _skus_named(error.get("parameters"), text, skus)
            if len(chunk) == 1:
                named = named or skus
            for sku in named:
                refused.setdefault(sku, []).append(text)
            if not named:
                unattributed.append(text)
        if unattributed:
            # Magento refused something without naming the SKU: send each item not known to
            # be refused on its own, so every refusal names its item.
            log.info("%s: refusals name no SKU (%s); sending items one by one", label, unattributed)
            for entry in chunk:
                if entry.sku not in refused:
                    self._post_prices([entry], result)
        for entry in chunk:
            if entry.sku in refused:
                result.failed[entry.sku] = f"{label}: " + "; ".join(refused[entry.sku])
            elif not unattributed:
                result.written += 1
                result.observed[entry.sku] = {"price": entry.price, "store_id": entry.store_id}

    # -- catalog and source items ---------------------------------------------------------

    def _catalog(self, skus: Iterable[str]) -> _Catalog:
        """SKU -> product id for SKUs that hold stock, from the bindings or looked up."""
        catalog = _Catalog()
        bindings = self.context.bindings
        missing = []
        for sku in sorted(set(skus)):
            bound = bindings.get_external(ITEM_ENTITY, sku)
            if bound:
                catalog.products[sku] = bound
            else:
                missing.append(sku)
        if not missing:
            return catalog
        found, near_misses = self._lookup(missing)
        for sku in missing:
            product = found.get(sku)
            if product is None:
                catalog.refused[sku] = f"SKU {sku!r} is not in the Magento catalog"
                near = near_misses.get(sku.lower())
                if near is not None:
                    catalog.refused[sku] += (
                        f" (Magento has {near.get('sku')!r}: SKUs must match exactly)"
                    )
                continue
            kind = str(product.get("type_id") or "")
            product_id = platform_id(product.get("id"))
            if kind in NO_SOURCE_ITEMS:
                catalog.refused[sku] = (
                    f"SKU {sku!r} is a {kind} product: Magento keeps no stock for it, only for "
                    "its simple children"
                )
            elif product_id is None:
                catalog.refused[sku] = f"SKU {sku!r}: Magento answered without a product id"
            else:
                catalog.products[sku] = product_id
                bindings.put(ITEM_ENTITY, sku, product_id)
        usable = sum(1 for sku in missing if sku in catalog.products)
        log.info("magento2 catalog lookup: %d of %d SKUs usable", usable, len(missing))
        return catalog

    def _lookup(
        self, skus: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """``GET /V1/products`` with ``sku in (...)``: products by exact SKU, and those whose
        SKU differs only in case by lower-cased SKU (Magento compares SKUs without case, so
        they answer the filter; Brique's SKUs must match exactly)."""
        exact: dict[str, dict[str, Any]] = {}
        near: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(skus):
            if len(chunk) == 1:
                filters = [("sku", chunk[0], "eq")]
            else:
                filters = [("sku", ",".join(chunk), "in")]
            wanted = set(chunk)
            what = f"magento2 catalog lookup ({len(chunk)} SKUs)"
            for product in self._search("products", [filters], what, _product_id):
                sku = str(product.get("sku") or "")
                if sku in wanted:
                    exact[sku] = product
                else:
                    near.setdefault(sku.lower(), product)
        return exact, near

    def _source_items(
        self, skus: Iterable[str], sources: Iterable[str]
    ) -> dict[tuple[str, str], _Held]:
        """What each (SKU, source) holds now; pairs without a source item are absent."""
        wanted_sources = sorted(set(sources))
        held: dict[tuple[str, str], _Held] = {}
        if not wanted_sources:
            return held
        for chunk in _chunks(sorted(set(skus))):
            groups = [
                [("sku", ",".join(chunk), "in")],
                [("source_code", ",".join(wanted_sources), "in")],
            ]
            what = f"magento2 source items ({len(chunk)} SKUs)"
            for row in self._search("inventory/source-items", groups, what, _source_item_id):
                sku, source = str(row.get("sku") or ""), str(row.get("source_code") or "")
                quantity = optional_decimal(row.get("quantity"))
                if sku in chunk and source in wanted_sources and quantity is not None:
                    status = row.get("status")
                    held[(sku, source)] = _Held(
                        quantity, status if isinstance(status, int) else None
                    )
        return held

    def _search(
        self, path: str, groups: list[list[tuple[str, str, str]]], what: str, identify: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item of a search, page by page, never looping: Magento answers a page past
        the end with the last page again, so paging stops at ``total_count`` and when a page
        repeats the previous one."""
        size = self.config.page_size
        page, previous = 1, None
        while True:
            params = search_criteria(groups, page_size=size, current_page=page)
            items, total = listing(self.client.get(path, params, what=what), what)
            ids = tuple(identify(i) for i in items)
            if page > 1 and (not ids or ids == previous):
                return
            yield from items
            if not _more(page, size, len(items), total):
                return
            page, previous = page + 1, ids

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Source quantity per (sku, source_code), for reconciliation (not the salable
        quantity: see the module docstring). Sources not configured and SKUs without a
        source item there are left out of the answer."""
        wanted = [(sku, loc) for sku, loc in pairs if loc in self.config.source_codes]
        held = self._source_items({s for s, _ in wanted}, {loc for _, loc in wanted})
        return {pair: held[pair].quantity for pair in wanted if pair in held}

    def salable_quantity(self, sku: str) -> Decimal | None:
        """``GET /V1/inventory/get-product-salable-quantity/{sku}/{stock_id}``: the source
        quantities of the stock less its reservations. None for a SKU Magento does not
        know (HTTP 404) or cannot tell (a composite product)."""
        sku_part = quote(sku, safe="")
        path = f"inventory/get-product-salable-quantity/{sku_part}/{self.config.stock_id}"
        try:
            answer = self.client.get(path, what=f"magento2 salable quantity of {sku!r}")
        except (MagentoNotFound, MagentoRequestError) as exc:
            log.info("magento2 salable quantity of %r: %s", sku, exc)
            return None
        return optional_decimal(answer)

    # -- orders in ------------------------------------------------------------------------

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        if stream != "orders":
            raise DataError(f"magento2 has no stream {stream!r}")
        return self._read_orders(cursor)

    def _read_orders(self, cursor: str | None) -> Iterator[Page]:
        """Orders by ``updated_at``, oldest first, each page resumable.

        ``GET /V1/orders?searchCriteria[filterGroups][0][filters][0][field]=updated_at
        &...[conditionType]=gteq&...[value]=<cursor second>&sortOrders updated_at ASC then
        entity_id ASC&pageSize=N&currentPage=P``. The cursor is the last ``updated_at`` read
        and the ids read at that second (``2026-01-15 10:00:00|727,731``), so an order
        changed again within the same second as the last one read is still read.

        After a page with new orders the next request starts again from the cursor at page 1
        instead of asking for page P+1: an order updated while the stream is read moves to
        the end of the list, and page numbers would skip the order sliding into the page
        already read. Page numbers are followed only over orders all already read (many
        sharing one second). Magento answers a page past the end with the last page again
        (magento/magento2#3787, #8099), so paging stops when ``page * pageSize`` reaches
        ``total_count`` (or, without it, at a short page), when a page is past
        ``total_count``, and when a page repeats the previous page's ids: never a loop.
        """
        since, seen = self._start(cursor)
        size = self.config.page_size
        page, previous, idle = 1, None, 0
        while True:
            groups = [[("updated_at", time_text(since), "gteq")]] if since else []
            params = search_criteria(
                groups,
                sort=[("updated_at", "ASC"), ("entity_id", "ASC")],
                page_size=size,
                current_page=page,
            )
            what = f"magento2 orders page {page}"
            orders, total = listing(self.client.get("orders", params, what=what), what)
            ids = tuple(str(o.get("entity_id")) for o in orders)
            if page > 1 and total is not None and (page - 1) * size >= total:
                log.info("magento2 orders: page %d is past total_count %d; stopping", page, total)
                return
            if page > 1 and ids and ids == previous:
                log.warning("magento2 orders: page %d repeats page %d; stopping", page, page - 1)
                return
            events, since_after, seen_after = self._new_orders(orders, since, seen)
            more = bool(orders) and _more(page, size, len(orders), total)
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
                log.warning("magento2 orders: %d pages without a new order; stopping", idle)
                return
            page, previous = page + 1, ids

    def _new_orders(
        self, orders: list[dict[str, Any]], since: datetime | None, seen: frozenset[str]
    ) -> tuple[list[InboundEvent], datetime | None, frozenset[str]]:
        events: list[InboundEvent] = []
        last, last_ids = since, set(seen)
        for order in orders:
            order_id = platform_id(order.get("entity_id"))
            updated = parse_time(order.get("updated_at"))
            key = order_key(order)
            if order_id is None or updated is None or key is None:
                log.warning("magento2 orders: skipped an order without entity_id or updated_at")
                continue
            if since is not None and (updated < since or (updated == since and order_id in seen)):
                continue
            order.pop("protect_code", None)  # the guest order-view secret: not Brique's
            events.append(InboundEvent(key=key, kind=ORDER, payload=order, occurred_at=updated))
            if last is None or updated > last:
                last, last_ids = updated, {order_id}
            elif updated == last:
                last_ids.add(order_id)
        return events, last, frozenset(last_ids)

    def _start(self, cursor: str | None) -> tuple[datetime | None, frozenset[str]]:
        if cursor:
            text, _, ids = cursor.partition("|")
            since = parse_time(text)
            if since is None:
                raise DataError(f"magento2 orders cursor {cursor!r} is not readable")
            return since, frozenset(i for i in ids.split(",") if i.strip().isdigit())
        start = self.config.orders_since
        if start is None:
            return None, frozenset()
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.astimezone(UTC).replace(microsecond=0), frozenset()

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != ORDER:
            raise DataError(f"magento2 cannot decode events of kind {event.kind!r}")
        return list(decode_order(event.payload, self.config.store_code))


# -- helpers ------------------------------------------------------------------------------


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


def _quantity(value: Decimal, what: str) -> Decimal:
    """MSI keeps quantities as ``decimal(12,4)``."""
    if not value.is_finite() or value != value.quantize(Decimal("0.0001")):
        raise DataError(f"{what} {value} has more than 4 decimals; MSI keeps 4")
    if abs(value) >= Decimal("1e8"):
        raise DataError(f"{what} {value} is too large for MSI (decimal(12,4))")
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _money(value: Any, what: str) -> Decimal:
    if isinstance(value, float):
        raise DataError(f"{what} {value!r} is a float; the mapping must give money as text")
    amount = optional_decimal(value)
    if amount is None:
        raise DataError(f"{what} {value!r} is missing or not a number")
    if amount < 0:
        raise DataError(f"{what} {amount} is negative")
    return amount


def _status(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if text in ("0", "1"):
        return int(text)
    raise DataError(f"source item status {value!r} is not 0 (out of stock) or 1 (in stock)")


def _skus_named(parameters: Any, text: str, skus: set[str]) -> set[str]:
    """The SKUs of a batch a price refusal names: a parameter equal to one, else the
    ``SKU = <sku>`` of its message."""
    values = parameters.values() if isinstance(parameters, Mapping) else parameters
    named = set()
    if isinstance(values, Iterable) and not isinstance(values, str | bytes):
        named = {str(v) for v in values if v is not None and str(v) in skus}
    if not named:
        match = _SKU_IN_MESSAGE.search(text)
        if match and match.group(1) in skus:
            named = {match.group(1)}
    return named


def _more(page: int, size: int, count: int, total: int | None) -> bool:
    """Whether a search goes on after this page: ``total_count`` says, else a full page."""
    if total is not None:
        return page * size < total
    return count >= size


def _product_id(product: Mapping[str, Any]) -> str:
    return str(product.get("id"))


def _source_item_id(row: Mapping[str, Any]) -> str:
    return f"{row.get('sku')}@{row.get('source_code')}"


def _chunks(skus: Sequence[str]) -> Iterator[list[str]]:
    """SKUs per ``in`` filter. A SKU holding a comma goes alone, with ``eq``: Magento splits
    an ``in`` value on commas."""
    chunk: list[str] = []
    for sku in skus:
        if "," in sku:
            yield [sku]
            continue
        chunk.append(sku)
        if len(chunk) >= SKUS_PER_QUERY:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cursor_text(since: datetime | None, seen: frozenset[str]) -> str | None:
    if since is None:
        return None
    return f"{time_text(since)}|{','.join(sorted(seen, key=int))}"
