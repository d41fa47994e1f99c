"""The Shopify connector: stock and prices out, orders and levels in.

Brique is the source of truth for the quantities it publishes, so stock goes out as absolute
values with compare-and-swap (``changeFromQuantity``) and an ``@idempotent`` key per chunk:
a replayed batch is recognised by Shopify instead of being applied twice, and a quantity that
moved under us is re-read and overwritten once. SKUs are resolved to inventory items once and
remembered in the binding table.

Prices go out through ``productVariantsBulkUpdate``, one call per product (the mutation takes
one ``productId``). A price is an absolute value, so a replay rewrites the same value and is
harmless; Shopify offers no ``@idempotent`` key on that mutation. SKUs are resolved to
(product, variant) once and remembered too.

Inbound, webhooks decode to canonical bodies in their own modules: orders and their refunds
(``orders``, ``refunds``), carts and checkouts (``carts``). Handed-off baskets go out as
Storefront carts (``storefront``). This class only dispatches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
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
    PriceWrite,
    StockWrite,
    WebhookRequest,
    WriteBatch,
    WriteResult,
)
from bridge.errors import AuthError, ConfigError, DataError, TransientError
from bridge.model.base import Record
from connectors.shopify.carts import decode_cart, decode_checkout
from connectors.shopify.graphql import STOREFRONT_TOKEN_HEADER, AdminGraphQL
from connectors.shopify.loyalty import MAX_METAFIELDS, write_loyalty
from connectors.shopify.orders import decode_order
from connectors.shopify.payloads import (
    CART_TOPICS,
    CHECKOUT_TOPICS,
    INVENTORY_ITEM_ENTITY,
    INVENTORY_LEVELS_UPDATE,
    ORDER_TOPICS,
    PRODUCT_VARIANT_ENTITY,
    REFUNDS_CREATE,
    decode_inventory_level,
    parse_timestamp,
)
from connectors.shopify.refunds import decode_refund
from connectors.shopify.returns import write_returns
from connectors.shopify.storefront import CART_TOKEN_ENTITY, MAX_BASKET_BATCH, StorefrontCarts

log = logging.getLogger(__name__)

MAX_STOCK_BATCH = 250
MAX_PRICE_BATCH = 250
"""Variants per ``productVariantsBulkUpdate`` call (and prices per batch). Shopify documents no
per-call cap below a product's variant count (2,048 on all plans since 2025-10); 250 keeps a
call near 60 cost points (10 + 0.2 per variant) and matches the stock batches."""
QUANTITY_LIMIT = 1_000_000_000
"""Shopify refuses quantities beyond +/- one billion (INVALID_QUANTITY_TOO_HIGH / _LOW)."""
SKU_LOOKUP_CHUNK = 100
SKU_QUERY_MAX_CHARS = 2_000
LEVELS_PER_QUERY = 100
MAX_CHUNK_ATTEMPTS = 4
STALE_CODES = frozenset({"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"})

SHOP_QUERY = "query BriqueCheck { shop { name currencyCode } }"
SHOP_CURRENCY_QUERY = "query BriqueShopCurrency { shop { currencyCode } }"

SKU_LOOKUP_QUERY = """
query BriqueSkuLookup($first: Int!, $after: String, $query: String!) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { sku inventoryItem { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VARIANT_LOOKUP_QUERY = """
query BriqueVariantLookup($first: Int!, $after: String, $query: String!) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { id sku product { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SET_PRICES_MUTATION = """
mutation BriqueSetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id sku price compareAtPrice }
    userErrors { code field message }
  }
}
"""

SET_QUANTITIES_MUTATION = """
mutation BriqueSetStock($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { createdAt reason referenceDocumentUri }
    userErrors { code field message }
  }
}
"""


class ShopifyConfig(ConnectorConfig):
    """One shop's Admin API access. Secrets are ``SecretStr``: they never print nor log."""

    shop_url: str
    """``https://<shop>.myshopify.com``, or the local sandbox, e.g. ``http://127.0.0.1:8765``."""
    access_token: SecretStr
    webhook_secret: SecretStr | None = None
    """The app's client secret, which signs webhooks."""
    api_version: str = "2026-01"
    stock_batch_size: int = Field(default=MAX_STOCK_BATCH, ge=1, le=MAX_STOCK_BATCH)
    reason: str = "correction"
    cost_restore_rate: float = Field(default=100.0, gt=0)
    """Points per second of the shop's plan (100 Standard, 200 Advanced, 1000 Plus); the first
    response's throttleStatus replaces it."""
    storefront_token: SecretStr | None = None
    """A Storefront API access token (sent as ``X-Shopify-Storefront-Access-Token``); needed
    only by the ``baskets`` sink, which creates carts for handed-off baskets."""
    storefront_api_version: str | None = None
    """The Storefront API version; the Admin ``api_version`` when not set."""
    storefront_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """ISO country code sent as the cart buyer's ``countryCode``: it picks the Shopify market,
    hence the currency and prices of carts Brique creates. Shopify's default when not set."""

    @field_validator("shop_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("shop_url must look like https://your-shop.myshopify.com")
        return value

    @property
    def graphql_url(self) -> str:
        return f"{self.shop_url}/admin/api/{self.api_version}/graphql.json"

    @property
    def storefront_url(self) -> str:
        version = self.storefront_api_version or self.api_version
        return f"{self.shop_url}/api/{version}/graphql.json"

    @property
    def store(self) -> str:
        """The shop's host, used as the ``store`` of web sales' ticket keys."""
        return urlsplit(self.shop_url).netloc


@dataclass
class _Entry:
    """One stock write ready to send: its key, item GID, quantities as ints."""

    key: str
    sku: str
    location: str
    quantity: int
    change_from: int | None
    item: str = ""

    def as_input(self) -> dict[str, Any]:
        return {
            "inventoryItemId": self.item,
            "locationId": self.location,
            "quantity": self.quantity,
            "changeFromQuantity": self.change_from,
        }


@dataclass
class _PriceEntry:
    """One variant's price fields ready to send, with the ids resolved for its SKU."""

    sku: str
    fields: dict[str, Any]
    product: str = ""
    variant: str = ""

    def as_input(self) -> dict[str, Any]:
        return {**self.fields, "id": self.variant}


@dataclass(frozen=True)
class _Refused:
    """A price write refused before sending, with the reason for ``WriteResult.failed``."""

    sku: str
    message: str


@dataclass
class _ProductGroup:
    """The entries of one product, sent together because the mutation takes one productId."""

    product: str
    entries: list[_PriceEntry] = field(default_factory=list)


class ShopifyConnector(Connector):
    """Publishes stock and prices to a Shopify shop and reads its orders and inventory."""

    info = ConnectorInfo(
        name="shopify",
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
                Capability.WRITE_BASKETS,
                Capability.WRITE_LOYALTY,
                Capability.WRITE_RETURNS,
            }
        ),
        config_model=ShopifyConfig,
        description=(
            "Shopify Admin GraphQL: stock out (inventorySetQuantities), prices out "
            "(productVariantsBulkUpdate), orders and refunds in, carts and checkouts in "
            "(webhooks), handed-off baskets out as Storefront carts (cartCreate)."
        ),
        batch_limits={
            "stock": MAX_STOCK_BATCH,
            "prices": MAX_PRICE_BATCH,
            "baskets": MAX_BASKET_BATCH,
            "loyalty": MAX_METAFIELDS,
        },
    )
    config: ShopifyConfig

    def __init__(
        self,
        config: ConnectorConfig,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config, context)
        self.graphql = AdminGraphQL(
            self.config.graphql_url,
            self.config.access_token,
            restore_rate=self.config.cost_restore_rate,
            user_agent=f"brique-shopify/{self.info.version}",
            clock=clock,
            sleep=sleep,
        )
        self._currency: str | None = None
        self._currency_asked = False
        storefront = None
        if self.config.storefront_token is not None:
            storefront = AdminGraphQL(
                self.config.storefront_url,
                self.config.storefront_token,
                token_header=STOREFRONT_TOKEN_HEADER,
                user_agent=f"brique-shopify/{self.info.version}",
                clock=clock,
                sleep=sleep,
            )
        self.carts = StorefrontCarts(
            storefront, context.bindings, self._variants, self.config.storefront_country
        )

    def __repr__(self) -> str:
        return f"ShopifyConnector({self.context.connection!r}, {self.config.shop_url!r})"

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        data = self.graphql.execute(SHOP_QUERY, what="shopify check")
        shop = data.get("shop")
        if not isinstance(shop, dict) or not shop.get("name"):
            raise ConfigError(f"{self.config.shop_url} answered without a shop")
        self._learn_currency(shop)

    def close(self) -> None:
        self.graphql.close()
        if self.carts.client is not None:
            self.carts.client.close()

    def _learn_currency(self, shop: Mapping[str, Any]) -> None:
        code = shop.get("currencyCode")
        if isinstance(code, str) and code:
            self._currency = code
        self._currency_asked = True

    def shop_currency(self) -> str | None:
        """The shop's currency (variant prices are in it), asked once; None if not told."""
        if not self._currency_asked:
            data = self.graphql.execute(SHOP_CURRENCY_QUERY, what="shopify shop currency")
            shop = data.get("shop")
            self._learn_currency(shop if isinstance(shop, dict) else {})
        return self._currency

    # -- writes ---------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock``: absolute quantities; ``prices``: variant prices; ``baskets``: Storefront
        carts for handed-off baskets. Refusals go to ``failed``."""
        if sink == "stock":
            return self._write_stock(batch)
        if sink == "prices":
            return self._write_prices(batch)
        if sink == "baskets":
            return self.carts.write(batch)
        if sink == "loyalty":
            return write_loyalty(self.graphql, batch)
        if sink == "returns":
            return write_returns(self, batch)
        raise DataError(f"shopify has no sink {sink!r}")

    # -- stock out ------------------------------------------------------------------------

    def _write_stock(self, batch: WriteBatch) -> WriteResult:
        """Set absolute quantities, one mutation per chunk."""
        result = WriteResult()
        size = self.config.stock_batch_size
        # Chunks follow the batch's positions, so a replayed batch sends the same chunk under
        # the same idempotency key even if some items are refused this time.
        chunks: list[dict[str, _Entry]] = [{} for _ in range((len(batch.items) + size - 1) // size)]
        for position, raw in enumerate(batch.items):
            entry = self._entry(raw, position, result)
            if entry is not None:
                chunks[position // size][entry.key] = entry  # a later duplicate wins
        items, failures = self._resolve(
            {e.sku for chunk in chunks for e in chunk.values()}, "write stock"
        )
        for index, chunk in enumerate(chunks):
            pending: list[_Entry] = []
            for entry in chunk.values():
                if entry.sku in failures:
                    result.failed[entry.key] = failures[entry.sku]
                else:
                    entry.item = items[entry.sku]
                    pending.append(entry)
            if pending:
                self._write_chunk(batch, index, pending, result)
        return result

    def _entry(self, raw: Record, position: int, result: WriteResult) -> _Entry | None:
        try:
            if isinstance(raw, StockWrite):
                item = raw
            else:
                data = raw.model_dump() if isinstance(raw, BaseModel) else raw
                item = StockWrite.model_validate(data)
        except ValidationError as exc:
            raise DataError(f"stock batch item {position} is not a stock write: {exc}") from exc
        key = f"{item.sku}@{item.location}"
        try:
            quantity = _whole(item.quantity, "quantity")
            change_from = None if item.previous is None else _whole(item.previous, "previous")
        except DataError as exc:
            result.failed[key] = str(exc)
            return None
        return _Entry(key, item.sku, item.location, quantity, change_from)

    def _write_chunk(
        self, batch: WriteBatch, index: int, pending: list[_Entry], result: WriteResult
    ) -> None:
        """Send one chunk; refused items go to ``failed``, stale ones to ``stale``, the rest
        is resent.

        A stale ``changeFromQuantity`` means Shopify holds something Brique did not write (a
        web order, a hand edit) or that this write is older than one already applied. Either
        way the quantity computed when the batch was built may be out of date, so it is not
        forced: Shopify's current value is reported and Brique recomputes from its ledger.
        """
        key = f"{batch.idempotency_key}-{index}"
        for attempt in range(1, MAX_CHUNK_ATTEMPTS + 1):
            variables = {"input": self._set_input(batch, pending), "idempotencyKey": key}
            data = self.graphql.execute(
                SET_QUANTITIES_MUTATION,
                variables,
                what=f"shopify inventorySetQuantities ({len(pending)} items)",
            )
            payload = data.get("inventorySetQuantities") or {}
            errors = payload.get("userErrors") or []
            if not errors:
                result.written += len(pending)
                for entry in pending:
                    result.observed[entry.key] = Decimal(entry.quantity)
                return
            stale, refused, unattributed = self._sort_errors(errors, len(pending))
            if unattributed:
                if any(e.get("code") == "IDEMPOTENCY_CONCURRENT_REQUEST" for e in unattributed):
                    raise TransientError("shopify: the same stock chunk is still being applied")
                message = "shopify refused the chunk: " + "; ".join(
                    _user_error_text(e) for e in unattributed
                )
                for entry in pending:
                    result.failed[entry.key] = message
                return
            for position, error in refused.items():
                result.failed[pending[position].key] = _user_error_text(error)
            if stale:
                current = self._read_levels([(pending[i].item, pending[i].location) for i in stale])
                for position in stale:
                    entry = pending[position]
                    held = current.get((entry.item, entry.location))
                    result.stale[entry.key] = None if held is None else Decimal(held)
            pending = [e for i, e in enumerate(pending) if i not in refused and i not in stale]
            if not pending or attempt == MAX_CHUNK_ATTEMPTS:
                break
            # A new input needs a new key; derived from the input so a replay finds it again.
            next_input = self._set_input(batch, pending)
            key = f"{batch.idempotency_key}-{index}-{_fingerprint(next_input)}"
            log.info(
                "shopify stock chunk %d: retrying %d items (attempt %d)",
                index,
                len(pending),
                attempt,
            )
        for entry in pending:
            result.failed[entry.key] = f"shopify kept refusing this chunk ({attempt} attempts)"

    def _set_input(self, batch: WriteBatch, pending: Sequence[_Entry]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": "available",
            "reason": self.config.reason,
            "quantities": [entry.as_input() for entry in pending],
        }
        if batch.reference:
            kind, _, ident = batch.reference.partition("/")
            data["referenceDocumentUri"] = (
                f"gid://brique/{quote(kind, safe='')}/{quote(ident, safe='')}"
            )
        return data

    @staticmethod
    def _sort_errors(
        errors: list[dict[str, Any]], count: int
    ) -> tuple[set[int], dict[int, dict[str, Any]], list[dict[str, Any]]]:
        stale: set[int] = set()
        refused: dict[int, dict[str, Any]] = {}
        unattributed: list[dict[str, Any]] = []
        for error in errors:
            position = _quantity_index(error.get("field"))
            if position is None or position >= count:
                unattributed.append(error)
            elif error.get("code") in STALE_CODES:
                stale.add(position)
            else:
                refused[position] = error
        stale -= set(refused)
        return stale, refused, unattributed

    # -- prices out -----------------------------------------------------------------------

    def _write_prices(self, batch: WriteBatch) -> WriteResult:
        """Set variant prices, one ``productVariantsBulkUpdate`` per product (and per 250).

        Result keys are SKUs. Nothing here needs an idempotency key: the values are absolute,
        so a replay (a retried task, a lost answer) writes the same prices again.
        """
        result = WriteResult()
        entries: dict[str, _PriceEntry] = {}
        items = [_price_write(raw, position) for position, raw in enumerate(batch.items)]
        currency = self.shop_currency() if items else None
        for item in items:
            entry = self._price_entry(item, currency)
            # A later duplicate of a SKU wins, whether it is valid or refused.
            entries.pop(entry.sku, None)
            result.failed.pop(entry.sku, None)
            if isinstance(entry, _PriceEntry):
                entries[entry.sku] = entry
            else:
                result.failed[entry.sku] = entry.message
        ids, failures = self._resolve(
            entries, "prices", PRODUCT_VARIANT_ENTITY, VARIANT_LOOKUP_QUERY, _product_variant_of
        )
        groups: dict[str, _ProductGroup] = {}
        for entry in entries.values():
            product, separator, variant = ids.get(entry.sku, "").partition(PAIR_SEPARATOR)
            if entry.sku in failures or not separator:
                result.failed[entry.sku] = failures.get(
                    entry.sku, f"binding of SKU {entry.sku!r} is not a product|variant pair"
                )
                continue
            entry.product, entry.variant = product, variant
            groups.setdefault(product, _ProductGroup(product)).entries.append(entry)
        for group in groups.values():
            for start in range(0, len(group.entries), MAX_PRICE_BATCH):
                part = group.entries[start : start + MAX_PRICE_BATCH]
                self._write_product_prices(group.product, part, result)
        log.info(
            "shopify prices: %d variants written in %d products, %d refused",
            result.written,
            len(groups),
            len(result.failed),
        )
        return result

    @staticmethod
    def _price_entry(item: PriceWrite, currency: str | None) -> _PriceEntry | _Refused:
        """The fields to send for one price, or why it is refused before sending."""
        if currency is not None:
            for what, money in (("price", item.price), ("compare-at price", item.compare_at)):
                if money is not None and money.currency != currency:
                    return _Refused(
                        item.sku,
                        f"{what} {money} is not in the shop's currency {currency}; "
                        "the mapping must give this channel prices in its currency",
                    )
        if item.fields:
            # The mapping's native fields go as they are; only Decimals become the decimal
            # strings Shopify's Money scalar expects, and the variant id is ours to set.
            fields = {k: _json_money(v) for k, v in item.fields.items() if k != "id"}
        else:
            fields = {"price": _json_money(item.price.amount)}
            if item.compare_at is not None:
                fields["compareAtPrice"] = _json_money(item.compare_at.amount)
        return _PriceEntry(item.sku, fields)

    def _write_product_prices(
        self, product: str, pending: list[_PriceEntry], result: WriteResult
    ) -> None:
        """Send one product's variants; a refused variant fails alone and the rest is resent.

        Without ``allowPartialUpdates`` Shopify applies all of a call or nothing, so after a
        userError naming a variant the others were not written: they go again without it.
        An error naming no variant (the product is gone, say) fails the whole group.
        """
        for attempt in range(1, MAX_CHUNK_ATTEMPTS + 1):
            data = self.graphql.execute(
                SET_PRICES_MUTATION,
                {"productId": product, "variants": [e.as_input() for e in pending]},
                what=f"shopify productVariantsBulkUpdate ({len(pending)} variants)",
            )
            payload = data.get("productVariantsBulkUpdate")
            if not isinstance(payload, dict):
                raise TransientError("shopify productVariantsBulkUpdate answered without payload")
            errors = payload.get("userErrors") or []
            if not errors:
                result.written += len(pending)
                reported = {
                    node.get("id"): node
                    for node in payload.get("productVariants") or ()
                    if isinstance(node, dict)
                }
                for entry in pending:
                    seen = _observed_price(reported.get(entry.variant))
                    if seen is not None:
                        result.observed[entry.sku] = seen
                return
            refused: dict[int, dict[str, Any]] = {}
            unattributed: list[dict[str, Any]] = []
            for error in errors:
                index = _list_index(error.get("field"), "variants")
                if index is None or index >= len(pending):
                    unattributed.append(error)
                else:
                    refused.setdefault(index, error)
            if unattributed:
                message = f"shopify refused the prices of product {product}: " + "; ".join(
                    _user_error_text(e) for e in unattributed
                )
                for entry in pending:
                    result.failed[entry.sku] = message
                return
            for index, error in refused.items():
                result.failed[pending[index].sku] = _user_error_text(error)
            pending = [e for i, e in enumerate(pending) if i not in refused]
            if not pending:
                return
            log.info(
                "shopify prices of %s: resending %d variants (attempt %d)",
                product,
                len(pending),
                attempt,
            )
        for entry in pending:
            result.failed[entry.sku] = f"shopify kept refusing these prices ({attempt} attempts)"

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Available quantity per (sku, location GID), for reconciliation.

        Unknown SKUs and pairs not stocked in Shopify are left out of the answer.
        """
        items, failures = self._resolve({sku for sku, _ in pairs}, "read")
        for sku, message in failures.items():
            log.info("shopify read_stock: %s (%s)", sku, message)
        wanted = [(sku, location) for sku, location in pairs if sku in items]
        levels = self._read_levels([(items[sku], location) for sku, location in wanted])
        found: dict[tuple[str, str], Decimal] = {}
        for sku, location in wanted:
            value = levels.get((items[sku], location))
            if value is not None:
                found[(sku, location)] = Decimal(value)
        return found

    def _read_levels(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """``available`` per (item GID, location GID), several items per query with aliases."""
        unique = list(dict.fromkeys(pairs))
        found: dict[tuple[str, str], int | None] = {}
        for start in range(0, len(unique), LEVELS_PER_QUERY):
            part = unique[start : start + LEVELS_PER_QUERY]
            params = ", ".join(f"$i{n}: ID!, $l{n}: ID!" for n in range(len(part)))
            fields = "\n".join(
                f"  q{n}: inventoryItem(id: $i{n}) {{ inventoryLevel(locationId: $l{n}) "
                '{ quantities(names: ["available"]) { name quantity } } }'
                for n in range(len(part))
            )
            variables: dict[str, Any] = {}
            for n, (item, location) in enumerate(part):
                variables[f"i{n}"] = item
                variables[f"l{n}"] = location
            data = self.graphql.execute(
                f"query BriqueLevels({params}) {{\n{fields}\n}}",
                variables,
                what=f"shopify inventory levels ({len(part)})",
            )
            for n, pair in enumerate(part):
                found[pair] = _available(data.get(f"q{n}"))
        return found

    # -- SKU resolution -------------------------------------------------------------------

    def _resolve(
        self,
        skus: Iterable[str],
        purpose: str,
        entity: str = INVENTORY_ITEM_ENTITY,
        query: str = SKU_LOOKUP_QUERY,
        external_of: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """SKU -> external id (``entity``) from the bindings, else from Shopify in bulk (then
        bound). By default the InventoryItem GID; ``external_of`` reads another from a node."""
        bindings = self.context.bindings
        found: dict[str, str] = {}
        missing: list[str] = []
        for sku in sorted(set(skus)):
            external = bindings.get_external(entity, sku)
            if external:
                found[sku] = external
            else:
                missing.append(sku)
        failures: dict[str, str] = {}
        for chunk in _sku_chunks(missing):
            matches = self._lookup(chunk, query, external_of or _inventory_item_of)
            for sku in chunk:
                ids = matches.get(sku, set())
                if not ids:
                    failures[sku] = f"SKU {sku!r} not found in Shopify"
                elif len(ids) > 1:
                    failures[sku] = (
                        f"SKU {sku!r} is shared by {len(ids)} Shopify variants; make it unique"
                    )
                else:
                    (external,) = ids
                    bindings.put(entity, sku, external)
                    found[sku] = external
        if missing:
            log.info(
                "shopify %s: resolved %d of %d new SKUs",
                purpose,
                len(missing) - len(failures),
                len(missing),
            )
        return found, failures

    def _lookup(
        self,
        chunk: Sequence[str],
        query: str,
        external_of: Callable[[dict[str, Any]], str | None],
    ) -> dict[str, set[str]]:
        wanted = set(chunk)
        search = " OR ".join(f"sku:{_search_value(sku)}" for sku in chunk)
        matches: dict[str, set[str]] = {}
        after: str | None = None
        while True:
            data = self.graphql.execute(
                query,
                {"first": min(MAX_STOCK_BATCH, len(chunk)), "after": after, "query": search},
                what=f"shopify SKU lookup ({len(chunk)})",
            )
            connection = data.get("productVariants") or {}
            for node in connection.get("nodes") or ():
                if not isinstance(node, dict):
                    continue
                sku = node.get("sku")
                external = external_of(node)
                # Shopify's search is looser than equality: keep exact matches only.
                if sku in wanted and external:
                    matches.setdefault(sku, set()).add(external)
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return matches
            after = page["endCursor"]

    def _variants(self, skus: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
        """SKU -> ProductVariant GID (the Storefront ``merchandiseId``), through the same
        bindings as prices."""
        pairs, failures = self._resolve(
            skus, "baskets", PRODUCT_VARIANT_ENTITY, VARIANT_LOOKUP_QUERY, _product_variant_of
        )
        variants: dict[str, str] = {}
        for sku, pair in pairs.items():
            _, separator, variant = pair.partition(PAIR_SEPARATOR)
            if separator and variant:
                variants[sku] = variant
            else:
                failures[sku] = f"binding of SKU {sku!r} is not a product|variant pair"
        return variants, failures

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        """Check ``X-Shopify-Hmac-Sha256`` over the raw body with the app's secret."""
        if self.config.webhook_secret is None:
            raise ConfigError("shopify webhook_secret is not configured")
        signature = request.header("X-Shopify-Hmac-Sha256")
        if not signature:
            raise AuthError("shopify webhook without X-Shopify-Hmac-Sha256")
        digest = hmac.new(
            self.config.webhook_secret.get_secret_value().encode(), request.body, hashlib.sha256
        ).digest()
        expected = base64.b64encode(digest)
        if not hmac.compare_digest(expected, signature.strip().encode()):
            raise AuthError("shopify webhook signature does not match")

    def parse_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event keyed by the delivery id, so a redelivery is dropped by the inbox."""
        key = request.header("X-Shopify-Webhook-Id") or request.header("X-Shopify-Event-Id")
        if not key:
            raise DataError("shopify webhook without X-Shopify-Webhook-Id or X-Shopify-Event-Id")
        topic = request.header("X-Shopify-Topic")
        if not topic:
            raise DataError("shopify webhook without X-Shopify-Topic")
        try:
            payload = json.loads(request.body)
        except ValueError as exc:
            raise DataError(f"shopify webhook {key}: body is not JSON") from exc
        if not isinstance(payload, dict):
            raise DataError(f"shopify webhook {key}: body is not a JSON object")
        return [
            InboundEvent(
                key=key.strip(),
                kind=topic.strip(),
                payload=payload,
                occurred_at=parse_timestamp(request.header("X-Shopify-Triggered-At")),
            )
        ]

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind == INVENTORY_LEVELS_UPDATE:
            return list(
                decode_inventory_level(
                    event.payload,
                    lambda item: self.context.bindings.get_internal(INVENTORY_ITEM_ENTITY, item),
                )
            )
        if event.kind in ORDER_TOPICS:
            return list(decode_order(event.payload, self.config.store))
        if event.kind == REFUNDS_CREATE:
            return list(decode_refund(event.payload, self.config.store, self.shop_currency))
        if event.kind in CART_TOPICS:
            return list(decode_cart(event.payload, self.shop_currency, self._code_for_token))
        if event.kind in CHECKOUT_TOPICS:
            return list(decode_checkout(event.payload, self.shop_currency, self._code_for_token))
        raise DataError(f"shopify topic not handled: {event.kind!r}")

    def _code_for_token(self, token: str) -> str | None:
        """The handoff code of a cart the ``baskets`` sink created, from its token."""
        return self.context.bindings.get_internal(CART_TOKEN_ENTITY, token)


def _whole(value: Decimal, what: str) -> int:
    if not value.is_finite() or value != value.to_integral_value():
        raise DataError(f"{what} {value} is not a whole number; Shopify counts units")
    number = int(value)
    if abs(number) > QUANTITY_LIMIT:
        raise DataError(f"{what} {number} is beyond Shopify's +/-{QUANTITY_LIMIT:,}")
    return number


def _quantity_index(field: Any) -> int | None:
    """The item a userError's ``field`` path points at, e.g. ["input","quantities","3",...]."""
    return _list_index(field, "quantities")


def _list_index(field: Any, name: str) -> int | None:
    """The index following ``name`` in a userError's ``field`` path, e.g. ["variants","3",...]."""
    if not isinstance(field, list):
        return None
    for position, part in enumerate(field[:-1]):
        if part == name:
            try:
                return int(field[position + 1])
            except (TypeError, ValueError):
                return None
    return None


PAIR_SEPARATOR = "|"
"""Joins Product GID and ProductVariant GID in one binding (GIDs never contain it)."""


def _inventory_item_of(node: dict[str, Any]) -> str | None:
    item = node.get("inventoryItem")
    return item.get("id") if isinstance(item, dict) else None


def _product_variant_of(node: dict[str, Any]) -> str | None:
    """``<Product GID>|<ProductVariant GID>``: a product alone would not be unique per SKU."""
    product = node.get("product")
    product_id = product.get("id") if isinstance(product, dict) else None
    variant_id = node.get("id")
    if not product_id or not variant_id:
        return None
    return f"{product_id}{PAIR_SEPARATOR}{variant_id}"


def _price_write(raw: Record, position: int) -> PriceWrite:
    try:
        if isinstance(raw, PriceWrite):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        return PriceWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"prices batch item {position} is not a price write: {exc}") from exc


def _json_money(value: Any) -> Any:
    """A Decimal as the plain decimal string Shopify's Money scalar takes; others unchanged."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _observed_price(node: Any) -> dict[str, Decimal | None] | None:
    """What Shopify reports the variant now holds, as Decimals; None if not reported."""
    if not isinstance(node, dict) or node.get("price") is None:
        return None
    try:
        compare_at = node.get("compareAtPrice")
        return {
            "price": Decimal(str(node["price"])),
            "compareAtPrice": None if compare_at is None else Decimal(str(compare_at)),
        }
    except InvalidOperation:
        return None


def _user_error_text(error: dict[str, Any]) -> str:
    code = error.get("code") or "ERROR"
    return f"{code}: {error.get('message') or 'refused by Shopify'}"


def _fingerprint(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _available(item: Any) -> int | None:
    level = item.get("inventoryLevel") if isinstance(item, dict) else None
    if not isinstance(level, dict):
        return None
    for quantity in level.get("quantities") or ():
        if quantity.get("name") == "available":
            value = quantity.get("quantity")
            return int(value) if value is not None else None
    return None


def _search_value(sku: str) -> str:
    """A SKU quoted for Shopify's search syntax (backslash escapes quotes and backslashes)."""
    return "'" + sku.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sku_chunks(skus: Sequence[str]) -> Iterable[list[str]]:
    chunk: list[str] = []
    length = 0
    for sku in skus:
        term = len(_search_value(sku)) + len("sku: OR ")
        if chunk and (len(chunk) >= SKU_LOOKUP_CHUNK or length + term > SKU_QUERY_MAX_CHARS):
            yield chunk
            chunk, length = [], 0
        chunk.append(sku)
        length += term
    if chunk:
        yield chunk
