"""The Vendure connector (Admin GraphQL API, ``/admin-api``), checked against Vendure 3.7.3.

Authentication: ``login(username, password)`` as an administrator; the session token comes
back in the ``vendure-auth-token`` header and is sent as ``Authorization: Bearer``. A token
made beforehand (``token``) may be given instead. ``channel_token`` picks the channel
(``vendure-token`` header); without it, the default channel.

SKU -> ProductVariant id: ``productVariants(options: {filter: {sku: {in: [...]}}})`` once,
then remembered in the binding table (``vendure_variant``). A bound id Vendure no longer
knows is looked up again once.

Stock: Vendure ≥ 2 keeps ``stockOnHand`` per stock location (``stockLevels``); a Brique
location maps to a Vendure stock location id (``ids: {webshop: "1"}``, the ``Default Stock
Location``). ``stock_location_id`` in the settings, when set, is the only location the
connection accepts. Brique publishes what is physically in the store, so it writes
``stockOnHand`` only; Vendure subtracts its own ``stockAllocated`` (placed, unfulfilled
orders) to get what may be sold. ``read_stock`` returns ``stockOnHand``.

Compare-and-set: Vendure has none. The variants of a batch are read first (one query):
holding the target already -> counted as written, nothing sent (a replay); holding something
other than ``previous`` -> ``WriteResult.stale``, not written; the others are written with
one ``updateProductVariants(input: [{id, stockLevels: [{stockLocationId, stockOnHand}]}])``.
That mutation is atomic (a bad item rolls the whole call back, as seen on 3.7.3), so a
refused call is retried item by item and only the refused items fail.

Prices: ``updateProductVariants(input: [{id, price}])`` in the channel's currency, an integer
in minor units: ``PriceWrite.fields["price"]`` (decimal text from the mapping) is converted
exactly through the currency's exponent; a price with more decimals than the currency holds
is refused, and so is a currency other than the variant's ``currencyCode``.

Orders: Vendure has no outbound webhooks; see ``read``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
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
from bridge.errors import AuthError, DataError
from bridge.model.base import Record
from connectors.vendure.baskets import (
    ACTIVE_ORDERS,
    BASKET,
    ORDER_ENTITY,
    BasketWriter,
    basket_cursor,
    basket_digest,
    basket_key,
    decode_basket,
    parse_basket_cursor,
)
from connectors.vendure.client import VendureClient, VendureGraphQLError
from connectors.vendure.orders import (
    ORDER,
    decimal_to_minor,
    decode_order,
    is_placed,
    minor_to_decimal,
    order_key,
    parse_time,
    time_text,
)
from connectors.vendure.returns import write_returns
from connectors.vendure.shop import ShopClient

log = logging.getLogger(__name__)

MAX_BATCH = 100
"""Items per write call (Vendure's admin list limit is 1,000; the mutation is one transaction)."""
VARIANT_ENTITY = "vendure_variant"
"""Binding: SKU -> ProductVariant id."""
PRICE_FIELDS = frozenset({"price"})
MAX_BASKETS = 10
"""Baskets per ``baskets`` batch: each is a few Shop API calls."""

CHECK = "query BriqueCheck { activeAdministrator { id emailAddress } }"
VARIANT_FIELDS = (
    "id sku price currencyCode stockOnHand stockAllocated "
    "stockLevels { stockLocationId stockOnHand stockAllocated }"
)
VARIANTS_BY_SKU = f"""
query BriqueVariantsBySku($skus: [String!]!, $take: Int!) {{
  productVariants(options: {{filter: {{sku: {{in: $skus}}}}, take: $take}}) {{
    totalItems items {{ {VARIANT_FIELDS} }}
  }}
}}
"""
VARIANTS_BY_ID = f"""
query BriqueVariantsById($ids: [String!]!, $take: Int!) {{
  productVariants(options: {{filter: {{id: {{in: $ids}}}}, take: $take}}) {{
    totalItems items {{ {VARIANT_FIELDS} }}
  }}
}}
"""
UPDATE_VARIANTS = """
mutation BriqueUpdateVariants($input: [UpdateProductVariantInput!]!) {
  updateProductVariants(input: $input) {
    id sku price currencyCode stockOnHand stockLevels { stockLocationId stockOnHand }
  }
}
"""
ORDERS = """
query BriqueOrders($after: DateTime!, $take: Int!) {
  orders(options: {filter: {updatedAt: {after: $after}}, sort: {updatedAt: ASC, id: ASC},
                   take: $take}) {
    totalItems
    items {
      id code state active orderPlacedAt updatedAt currencyCode totalWithTax
      customer { id emailAddress }
      lines {
        id quantity unitPriceWithTax linePriceWithTax discountedLinePriceWithTax
        productVariant { id sku name }
      }
    }
  }
}
"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class VendureConfig(ConnectorConfig):
    """One Vendure channel's Admin API access, as an administrator."""

    admin_api_url: str
    """The Admin API endpoint, ``https://shop.example.com/admin-api``."""
    username: str | None = None
    password: SecretStr | None = None
    """An administrator's credentials (``login`` mutation)."""
    token: SecretStr | None = None
    """Instead of username/password: a session token made beforehand (``Bearer``)."""
    channel_token: SecretStr | None = None
    """The channel's token (``vendure-token`` header); the default channel if unset."""
    stock_location_id: str | None = None
    """When set, the only Vendure stock location id this connection writes and reads."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    page_size: int = Field(default=100, ge=1, le=1000)
    """Orders per stream page (Vendure's ``adminListQueryLimit`` is 1,000 by default)."""
    orders_store: str = "web"
    """``TicketKey.store`` of web orders (map it in the mapping's locations)."""
    orders_since: datetime | None = None
    """Where the ``orders`` stream starts the first time (UTC if no offset); all if unset."""
    shop_api_url: str | None = None
    """The Shop API endpoint, for opening baskets; ``.../shop-api`` beside ``admin_api_url``
    when unset."""
    basket_url: str | None = None
    """The storefront page that resumes a handed-off basket, a template with ``{token}`` (the
    session token) and optionally ``{order}`` (order code) and ``{code}`` (handoff code):
    ``https://shop.example.com/basket/resume?token={token}``. Needed to open baskets (see
    ``connectors.vendure.baskets`` for what the page must do)."""
    read_baskets: bool = True
    """Poll the ``baskets`` stream (active orders) with the orders."""
    baskets_since: datetime | None = None
    """Where the ``baskets`` stream starts the first time (UTC if no offset); all if unset."""

    @field_validator("basket_url")
    @classmethod
    def _basket_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            value.format(token="t", order="o", code="c")  # noqa: S106 - a trial format
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"basket_url may only use {{token}}, {{order}} and {{code}}: {exc}"
            ) from None
        if "{token}" not in value:
            raise ValueError("basket_url must carry {token}: the storefront resumes the session")
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("basket_url must be an https:// address: the link carries the token")
        return value

    @field_validator("admin_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("admin_api_url must be https://<your shop>/admin-api")
        if parts.scheme == "http" and not local:
            raise ValueError("admin_api_url must use https: credentials would cross the network")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> VendureConfig:
        if self.token is None and not (self.username and self.password is not None):
            raise ValueError("set username and password (an administrator), or token")
        return self


@dataclass
class _Variant:
    id: str
    sku: str
    price: int | None
    currency: str | None
    levels: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def parse(cls, item: dict[str, Any]) -> _Variant:
        levels = {}
        for level in item.get("stockLevels") or ():
            if isinstance(level, dict) and level.get("stockLocationId") is not None:
                levels[str(level["stockLocationId"])] = Decimal(int(level.get("stockOnHand") or 0))
        price = item.get("price")
        return cls(
            id=str(item.get("id")),
            sku=str(item.get("sku") or ""),
            price=int(price) if isinstance(price, int | Decimal) else None,
            currency=str(item.get("currencyCode") or "").upper() or None,
            levels=levels,
        )


class VendureConnector(Connector):
    """Publishes stock per stock location and prices to Vendure variants; polls orders."""

    info = ConnectorInfo(
        name="vendure",
        kind="shop",
        version="0.1.0",
        capabilities=frozenset(
            {
                Capability.WRITE_STOCK,
                Capability.WRITE_PRICES,
                Capability.READ_STOCK,
                Capability.READ_ORDERS,
                Capability.WRITE_RETURNS,
                Capability.READ_BASKETS,
                Capability.WRITE_BASKETS,
            }
        ),
        config_model=VendureConfig,
        description=(
            "Vendure (Admin GraphQL API): variant stock per stock location and prices out, "
            "orders polled."
        ),
        batch_limits={"stock": MAX_BATCH, "prices": MAX_BATCH, "baskets": MAX_BASKETS},
    )
    config: VendureConfig

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = VendureClient(
            self.config.admin_api_url,
            username=self.config.username,
            password=self.config.password,
            token=self.config.token,
            channel_token=self.config.channel_token,
            timeout=self.config.timeout,
            user_agent=f"brique-vendure/{self.info.version}",
        )
        self.shop = ShopClient(
            self.config.shop_api_url or _shop_api(self.config.admin_api_url),
            channel_token=self.config.channel_token,
            timeout=self.config.timeout,
            user_agent=f"brique-vendure/{self.info.version}",
        )

    def __repr__(self) -> str:
        return f"VendureConnector({self.context.connection!r}, {self.config.admin_api_url!r})"

    def close(self) -> None:
        self.client.close()
        self.shop.close()

    def streams(self) -> Sequence[str]:
        return ("orders", "baskets") if self.config.read_baskets else ("orders",)

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """Log in and read ``activeAdministrator``: URL, credentials and channel are right."""
        self.client.login()
        data = self.client.execute(CHECK, what="vendure check")
        if not data.get("activeAdministrator"):
            raise AuthError("vendure check: the session is not an administrator's")

    # -- variants -------------------------------------------------------------------------

    def _variants(self, query: str, name: str, values: list[str], what: str) -> list[_Variant]:
        found: list[_Variant] = []
        for start in range(0, len(values), MAX_BATCH):
            chunk = values[start : start + MAX_BATCH]
            data = self.client.execute(query, {name: chunk, "take": len(chunk)}, what=what)
            listing = data.get("productVariants") or {}
            found.extend(
                _Variant.parse(i) for i in listing.get("items") or () if isinstance(i, dict)
            )
        return found

    def _read(self, skus: Sequence[str]) -> tuple[dict[str, _Variant], dict[str, str]]:
        """SKU -> its variant as Vendure holds it now, by bound id or else by SKU."""
        bindings = self.context.bindings
        wanted = sorted(set(skus))
        bound = {s: b for s in wanted if (b := bindings.get_external(VARIANT_ENTITY, s))}
        found: dict[str, _Variant] = {}
        if bound:
            by_id = {
                v.id: v
                for v in self._variants(
                    VARIANTS_BY_ID, "ids", sorted(set(bound.values())), "vendure variants"
                )
            }
            for sku, variant_id in bound.items():
                variant = by_id.get(variant_id)
                if variant is not None and variant.sku == sku:
                    found[sku] = variant
        missing = [s for s in wanted if s not in found]
        if missing:
            for variant in self._variants(
                VARIANTS_BY_SKU, "skus", missing, "vendure variants by SKU"
            ):
                if variant.sku in missing and variant.sku not in found:
                    found[variant.sku] = variant
                    bindings.put(VARIANT_ENTITY, variant.sku, variant.id)
        refused = {
            s: f"SKU {s!r} is no product variant of this Vendure channel"
            for s in wanted
            if s not in found
        }
        return found, refused

    # -- writes ---------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock`` (keys ``sku@stockLocationId``) and ``prices`` (keys SKU)."""
        if sink == "stock":
            return self._write_stock(batch)
        if sink == "prices":
            return self._write_prices(batch)
        if sink == "returns":
            return write_returns(self, batch)
        if sink == "baskets":
            return self._write_baskets(batch)
        raise DataError(f"vendure has no sink {sink!r}")

    def _write_baskets(self, batch: WriteBatch) -> WriteResult:
        """Open or close handed-off baskets as active orders (``connectors.vendure.baskets``);
        keys are handoff codes."""
        result = WriteResult()
        writer = BasketWriter(
            self.client,
            self.shop,
            self.context.bindings,
            self.config.basket_url,
            lambda skus: self._read(skus),
        )
        for position, raw in enumerate(batch.items):
            item = _coerce(BasketWrite, raw, position, "baskets")
            result.failed.pop(item.code, None)
            try:
                if item.action == "open":
                    opened = writer.open(item)
                    result.observed[item.code] = {"id": opened.id, "url": opened.url}
                else:
                    code = writer.close(item)
                    result.observed[item.code] = {"id": code, "closed": True}
            except DataError as exc:
                result.failed[item.code] = str(exc)
                result.observed.pop(item.code, None)
                continue
            result.written += 1
        log.info("vendure baskets: %d written, %d refused", result.written, len(result.failed))
        return result

    def _write_stock(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        items: dict[str, StockWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _coerce(StockWrite, raw, position, "stock")
            key = f"{item.sku}@{item.location}"
            items.pop(key, None)
            result.failed.pop(key, None)
            allowed = self.config.stock_location_id
            if allowed is not None and item.location != allowed:
                result.failed[key] = (
                    f"location {item.location!r} is not this connection's stock location "
                    f"{allowed!r}; map the store to the Vendure stock location id"
                )
                continue
            try:
                _units(item.quantity, "quantity")
            except DataError as exc:
                result.failed[key] = str(exc)
                continue
            items[key] = item
        keys = list(items)
        for start in range(0, len(keys), MAX_BATCH):
            chunk = {k: items[k] for k in keys[start : start + MAX_BATCH]}
            self._stock_chunk(chunk, result)
        log.info(
            "vendure stock: %d written, %d stale, %d refused",
            result.written,
            len(result.stale),
            len(result.failed),
        )
        return result

    def _stock_chunk(self, items: dict[str, StockWrite], result: WriteResult) -> None:
        found, refused = self._read([i.sku for i in items.values()])
        send: dict[str, dict[str, Any]] = {}
        for key, item in items.items():
            variant = found.get(item.sku)
            if variant is None:
                result.failed[key] = refused.get(item.sku, f"SKU {item.sku!r} unresolved")
                continue
            target = max(_units(item.quantity, "quantity"), 0)
            held = variant.levels.get(item.location, Decimal(0))
            if held == target:
                result.written += 1  # already there (a replay): nothing sent
                result.observed[key] = held
                continue
            if item.previous is not None and held != max(item.previous, 0):
                result.stale[key] = held  # changed behind Brique: never forced
                continue
            send[key] = {
                "id": variant.id,
                "stockLevels": [{"stockLocationId": item.location, "stockOnHand": target}],
            }
        self._update(send, result, "stock", lambda key, v: _level(v, items[key].location))

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        items: dict[str, PriceWrite] = {}
        for position, raw in enumerate(batch.items):
            item = _coerce(PriceWrite, raw, position, "prices")
            items.pop(item.sku, None)
            result.failed.pop(item.sku, None)
            items[item.sku] = item
        skus = list(items)
        for start in range(0, len(skus), MAX_BATCH):
            chunk = {s: items[s] for s in skus[start : start + MAX_BATCH]}
            self._price_chunk(chunk, result)
        log.info("vendure prices: %d written, %d refused", result.written, len(result.failed))
        return result

    def _price_chunk(self, items: dict[str, PriceWrite], result: WriteResult) -> None:
        found, refused = self._read(list(items))
        send: dict[str, dict[str, Any]] = {}
        for sku, item in items.items():
            variant = found.get(sku)
            if variant is None:
                result.failed[sku] = refused.get(sku, f"SKU {sku!r} unresolved")
                continue
            try:
                minor = _price_minor(item, variant)
            except DataError as exc:
                result.failed[sku] = str(exc)
                continue
            if variant.price == minor:
                result.written += 1
                result.observed[sku] = {"price": minor}
                continue
            send[sku] = {"id": variant.id, "price": minor}
        self._update(send, result, "prices", lambda _key, v: {"price": v.get("price")})

    def _update(
        self,
        send: dict[str, dict[str, Any]],
        result: WriteResult,
        sink: str,
        observe: Any,
    ) -> None:
        """One ``updateProductVariants`` for all; if Vendure refuses it (one transaction),
        each item alone, so only the refused ones fail."""
        if not send:
            return
        what = f"vendure {sink} update"
        try:
            answer = self._mutate(list(send.values()), what)
        except VendureGraphQLError as exc:
            if len(send) == 1:
                (key,) = send
                result.failed[key] = str(exc)
                return
            log.info("%s: refused as a whole (%s); retrying item by item", what, exc)
            for key, body in send.items():
                self._update({key: body}, result, sink, observe)
            return
        for key, variant in zip(send, answer, strict=False):
            result.written += 1
            result.observed[key] = observe(key, variant)

    def _mutate(self, inputs: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        data = self.client.execute(UPDATE_VARIANTS, {"input": inputs}, what=what)
        answer = data.get("updateProductVariants")
        if not isinstance(answer, list) or len(answer) != len(inputs):
            raise VendureGraphQLError(f"{what}: the answer does not list the updated variants")
        return [a if isinstance(a, dict) else {} for a in answer]

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """``stockOnHand`` per (sku, stock location id); unknown SKUs are left out."""
        allowed = self.config.stock_location_id
        wanted = [(s, loc) for s, loc in pairs if allowed is None or loc == allowed]
        if not wanted:
            return {}
        found, _ = self._read([s for s, _ in wanted])
        levels: dict[tuple[str, str], Decimal] = {}
        for sku, loc in wanted:
            variant = found.get(sku)
            if variant is not None:
                levels[(sku, loc)] = variant.levels.get(loc, Decimal(0))
        return levels

    # -- orders in ------------------------------------------------------------------------

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        if stream == "baskets" and self.config.read_baskets:
            return self._read_baskets(cursor)
        if stream != "orders":
            raise DataError(f"vendure has no stream {stream!r}")
        return self._read_orders(cursor)

    def _read_baskets(self, cursor: str | None) -> Iterator[Page]:
        """Active orders changed since the cursor, oldest change first (see
        ``connectors.vendure.baskets``): a keyset on ``updatedAt`` whose cursor keeps a digest
        per order of its last instant, as a change within one second keeps ``updatedAt``."""
        if cursor:
            since, seen = parse_basket_cursor(cursor)
        else:
            start = self.config.baskets_since
            if start is not None and start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            since, seen = (start.astimezone(UTC) if start else None), {}
        take = self.config.page_size
        while True:
            after = (since or EPOCH) - timedelta(milliseconds=1)
            data = self.client.execute(
                ACTIVE_ORDERS, {"after": time_text(after), "take": take}, what="vendure baskets"
            )
            items = [
                i for i in (data.get("orders") or {}).get("items") or () if isinstance(i, dict)
            ]
            events: list[InboundEvent] = []
            for order in items:
                updated = parse_time(order.get("updatedAt"))
                order_id = str(order.get("id") or "")
                if updated is None or not order_id or not order.get("code"):
                    log.warning("vendure baskets: skipped an order without id, code or updatedAt")
                    continue
                digest = basket_digest(order)
                if since is not None and (
                    updated < since or (updated == since and seen.get(order_id) == digest)
                ):
                    continue
                if since is None or updated > since:
                    since, seen = updated, {}
                seen[order_id] = digest
                events.append(
                    InboundEvent(
                        key=basket_key(order, digest),
                        kind=BASKET,
                        payload=order,
                        occurred_at=updated,
                    )
                )
            if not events:
                if len(items) >= take and take < 1000:
                    take = min(1000, take * 2)  # one instant holds more than a page
                    continue
                return
            assert since is not None
            yield Page(events=events, cursor=basket_cursor(since, seen))
            if len(items) < take:
                return

    def _read_orders(self, cursor: str | None) -> Iterator[Page]:
        """Orders changed since the cursor, oldest change first, a keyset on ``updatedAt``.

        Each query asks ``updatedAt > since - 1 ms`` (Vendure's ``after`` is strict, and its
        SQLite times have whole seconds) sorted by (``updatedAt``, ``id``), without ``skip``:
        the next query is re-anchored at the last ``updatedAt`` read. The cursor is that
        instant and the ids read at it (``2026-11-23T17:14:40.000Z|1,2``), so orders sharing
        an instant are neither lost nor read twice. Baskets (``AddingItems``...) are passed
        over; when one is placed its ``updatedAt`` moves and it is read then. A state change
        after placing (a cancellation) is read again as a new event (``order_key``).
        """
        since, seen = self._start(cursor)
        take = self.config.page_size
        while True:
            after = (since or EPOCH) - timedelta(milliseconds=1)
            data = self.client.execute(
                ORDERS, {"after": time_text(after), "take": take}, what="vendure orders"
            )
            listing = data.get("orders") or {}
            items = [i for i in listing.get("items") or () if isinstance(i, dict)]
            events: list[InboundEvent] = []
            advanced = False
            for order in items:
                updated = parse_time(order.get("updatedAt"))
                order_id = str(order.get("id") or "")
                if updated is None or not order_id:
                    log.warning("vendure orders: skipped an order without id or updatedAt")
                    continue
                if since is not None and updated < since:
                    continue
                if since is not None and updated == since and order_id in seen:
                    continue
                advanced = True
                if since is None or updated > since:
                    since, seen = updated, frozenset({order_id})
                else:
                    seen = seen | {order_id}
                key = order_key(order)
                if key is None or not is_placed(order):
                    continue
                events.append(InboundEvent(key=key, kind=ORDER, payload=order, occurred_at=updated))
            if not advanced:
                if len(items) >= take and take < 1000:
                    take = min(1000, take * 2)  # one instant holds more than a page
                    continue
                return
            assert since is not None
            yield Page(events=events, cursor=f"{time_text(since)}|{','.join(_sorted_ids(seen))}")
            if len(items) < take:
                return

    def _start(self, cursor: str | None) -> tuple[datetime | None, frozenset[str]]:
        if cursor:
            text, _, ids = cursor.partition("|")
            since = parse_time(text)
            if since is None:
                raise DataError(f"vendure orders cursor {cursor!r} is not readable")
            return since, frozenset(i.strip() for i in ids.split(",") if i.strip())
        start = self.config.orders_since
        if start is None:
            return None, frozenset()
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.astimezone(UTC), frozenset()

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind == BASKET:
            code = str(event.payload.get("code") or "")
            handoff = self.context.bindings.get_internal(ORDER_ENTITY, code) if code else None
            return list(decode_basket(event.payload, handoff))
        if event.kind != ORDER:
            raise DataError(f"vendure cannot decode events of kind {event.kind!r}")
        return list(decode_order(event.payload, store=self.config.orders_store))


def _shop_api(admin_api_url: str) -> str:
    """``https://shop/admin-api`` -> ``https://shop/shop-api`` (Vendure's default paths)."""
    base, _, last = admin_api_url.rstrip("/").rpartition("/")
    return f"{base}/shop-api" if last == "admin-api" else f"{admin_api_url.rstrip('/')}/shop-api"


def _sorted_ids(ids: frozenset[str]) -> list[str]:
    return sorted(ids, key=lambda i: (len(i), i))


def _level(variant: dict[str, Any], location: str) -> Decimal | None:
    for level in variant.get("stockLevels") or ():
        if isinstance(level, dict) and str(level.get("stockLocationId")) == location:
            return Decimal(int(level.get("stockOnHand") or 0))
    return None


def _price_minor(item: PriceWrite, variant: _Variant) -> int:
    fields = dict(item.fields) if item.fields else {"price": item.price.amount}
    unknown = sorted(set(fields) - PRICE_FIELDS)
    if unknown:
        raise DataError(
            f"price fields {', '.join(unknown)} are not Vendure variant price fields "
            f"({', '.join(sorted(PRICE_FIELDS))})"
        )
    value = fields.get("price")
    if isinstance(value, float | bool) or value is None:
        raise DataError(f"price {value!r}: the mapping must give money as decimal text")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise DataError(f"price {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise DataError(f"price {value!r} is negative or not a number")
    currency = item.price.currency
    if variant.currency and currency != variant.currency:
        raise DataError(
            f"price {amount} {currency} is not in the channel's currency {variant.currency}; "
            "the mapping must give this channel prices in it"
        )
    return decimal_to_minor(amount, variant.currency or currency)


def _coerce(model: type[BaseModel], raw: Record, position: int, sink: str) -> Any:
    try:
        if isinstance(raw, model):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"{sink} batch item {position} is not a {model.__name__}: {exc}") from None


def _units(value: Decimal, what: str) -> int:
    """Vendure's ``stockOnHand`` is a whole number of units."""
    if not value.is_finite() or value != value.to_integral_value():
        raise DataError(f"{what} {value} is not a whole number; Vendure keeps whole units")
    return int(value)


# re-exported for tests
__all__ = ["VendureConfig", "VendureConnector", "minor_to_decimal"]
