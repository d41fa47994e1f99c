"""The Square connector: a POS whose completed orders are sales, and whose counts Brique sets.

Sales come in two ways that meet in the inbox: polling ``SearchOrders`` (completed orders of
the configured locations, oldest update first, resumable cursor) and the ``order.created`` /
``order.updated`` webhooks (which carry only the order id and state, so the order is read
when the event is decoded). Stock goes out as absolute ``PHYSICAL_COUNT`` changes through
``BatchChangeInventory`` with an idempotency key per chunk, and comes back from
``BatchRetrieveInventoryCounts`` and the ``inventory.count.updated`` webhook.

SKUs live on Square's item variations; Brique's bindings remember SKU <-> variation id,
looked up once (``SearchCatalogObjects`` by SKU for writes, ``BatchRetrieveCatalogObjects``
by id for sales) and then cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    Rejection,
    StockWrite,
    WebhookRequest,
    WriteBatch,
    WriteResult,
)
from bridge.errors import AuthError, ConfigError, DataError, TransientError
from bridge.model import StockLevel, StockLevelBody
from bridge.model.base import Record
from connectors.square import webhooks
from connectors.square.api import SquareApi, SquareRefusal, error_text
from connectors.square.orders import decode_order, event_key, parse_timestamp

log = logging.getLogger(__name__)

VERSION = "0.1.0"
BASE_URLS = {
    "production": "https://connect.squareup.com",
    "sandbox": "https://connect.squareupsandbox.com",
}
SQUARE_VERSION = "2025-07-16"
"""The ``Square-Version`` pinned by default (the one squareup 43.2.2 sends)."""

ORDERS_STREAM = "orders"
ORDER_KIND = "order"
MAX_ORDER_PAGE = 500
"""``SearchOrders`` returns at most 500 orders a page (its default ``limit``)."""
MAX_SEARCH_LOCATIONS = 10
"""``SearchOrders.location_ids``: 1 to 10 locations of one seller."""
MAX_CHANGES = 100
"""``BatchChangeInventory``: at most 100 changes per request."""
MAX_IDEMPOTENCY_KEY = 128
MAX_REFERENCE_ID = 255
COUNT_PAGE = 1000
"""``BatchRetrieveInventoryCounts.limit``: 1 to 1,000 counts a page."""
COUNT_IDS_PER_CALL = 100
"""Catalog ids per counts request; Square documents no cap, 100 mirrors the change batches."""
SKU_VALUES_PER_QUERY = 250
"""``CatalogQuerySet.attribute_values``: at most 250 values per search."""
CATALOG_PAGE = 1000
RETRIEVE_IDS_PER_CALL = 100
MAX_CHUNK_ATTEMPTS = 4
QUANTITY_PLACES = 5
"""``InventoryPhysicalCount.quantity``: a decimal string with up to 5 digits after the point."""

VARIATION_ENTITY = "square_variation"
"""Binding entity: internal id = SKU, external id = the ITEM_VARIATION catalog object id."""

ORDER_STATES = {"COMPLETED"}


class SquareConfig(ConnectorConfig):
    """One Square seller's access. Secrets are ``SecretStr``: they never print nor log."""

    access_token: SecretStr
    environment: Literal["production", "sandbox"] = "production"
    base_url: str | None = None
    """Overrides ``environment`` (a proxy, a local test double)."""
    square_version: str = Field(default=SQUARE_VERSION, pattern=r"^\d{4}-\d{2}-\d{2}$")
    location_ids: tuple[str, ...] = Field(min_length=1, max_length=MAX_SEARCH_LOCATIONS)
    """The Square locations whose sales are read (``SearchOrders`` takes 1 to 10)."""
    webhook_signature_key: SecretStr | None = None
    """The subscription's signature key (Developer Console > Webhooks)."""
    notification_url: str | None = None
    """The URL exactly as registered in the webhook subscription: the signature covers it."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    """Seconds to wait for an answer (the connection itself gets at most 3.05 s)."""
    page_size: int = Field(default=MAX_ORDER_PAGE, ge=1, le=MAX_ORDER_PAGE)
    start_at: datetime | None = None
    """Where the first read of ``orders`` starts; None: from the moment of that first read
    (older sales are history, not stock movements)."""
    overlap_seconds: int = Field(default=60, ge=0, le=86_400)
    """Each poll re-reads this much before the last order seen, for orders indexed late;
    the inbox drops what it already has."""
    resolve_skus: bool = True
    """Read a sold variation's SKU from the catalog (once, then bound); otherwise lines carry
    the variation id for the mapping's ``skus`` crosswalk."""

    @field_validator("base_url", "notification_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("location_ids")
    @classmethod
    def _locations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
        if not cleaned:
            raise ValueError("name at least one Square location id")
        return cleaned

    @field_validator("start_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("start_at needs a time zone, e.g. 2026-11-01T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _webhooks_complete(self) -> SquareConfig:
        if (self.webhook_signature_key is None) != (self.notification_url is None):
            raise ValueError("webhooks need both webhook_signature_key and notification_url")
        return self

    @property
    def api_url(self) -> str:
        return (self.base_url or BASE_URLS[self.environment]).rstrip("/")


@dataclass(frozen=True)
class _Cursor:
    """The ``orders`` stream position: the query's ``updated_at`` start, and Square's page
    cursor within that query (None between polls)."""

    since: str
    page: str | None = None

    def dump(self) -> str:
        data = (
            {"since": self.since} if self.page is None else {"since": self.since, "page": self.page}
        )
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> _Cursor:
        try:
            data = json.loads(text)
            since = data["since"]
            page = data.get("page")
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"square: unreadable orders cursor {text[:80]!r}") from exc
        if not isinstance(since, str) or parse_timestamp(since) is None:
            raise ConfigError(f"square: orders cursor without a valid 'since': {text[:80]!r}")
        return cls(since=since, page=page if isinstance(page, str) and page else None)


@dataclass
class _Entry:
    """One count to write: its result key, SKU, location, quantity text, variation id."""

    key: str
    sku: str
    location: str
    quantity: str
    item: str = ""


class SquareConnector(Connector):
    """Reads a Square seller's sales and sets its stock counts."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="square",
        kind="pos",
        version=VERSION,
        capabilities=frozenset(
            {
                Capability.READ_SALES,
                Capability.READ_STOCK,
                Capability.WRITE_STOCK,
                Capability.WEBHOOKS,
            }
        ),
        config_model=SquareConfig,
        description=(
            "Square: completed orders as sales (SearchOrders, order webhooks), stock counts "
            "out (BatchChangeInventory PHYSICAL_COUNT) and in."
        ),
        batch_limits={"stock": MAX_CHANGES},
    )
    config: SquareConfig

    def __init__(
        self,
        config: ConnectorConfig | Mapping[str, Any],
        context: ConnectorContext,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(config, context)  # type: ignore[arg-type]
        self._clock = clock
        self.api = SquareApi(
            self.config.api_url,
            self.config.access_token,
            version=self.config.square_version,
            timeout=(min(3.05, self.config.timeout), self.config.timeout),
            user_agent=f"brique-square/{VERSION}",
        )
        self._occurred: OrderedDict[str, str] = OrderedDict()
        self._sku_of_item: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SquareConnector({self.context.connection!r}, {self.config.api_url!r})"

    def close(self) -> None:
        self.api.close()

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """``ListLocations``: the token works and every configured location is the seller's."""
        data = self.api.get("/v2/locations", what="square check")
        known = {str(loc.get("id")) for loc in data.get("locations") or () if isinstance(loc, dict)}
        missing = [loc for loc in self.config.location_ids if loc not in known]
        if missing:
            raise ConfigError(
                f"square: location(s) {', '.join(missing)} not among this seller's locations "
                f"({', '.join(sorted(known)) or 'none'})"
            )

    # -- orders in ------------------------------------------------------------------------

    def streams(self) -> Sequence[str]:
        return (ORDERS_STREAM,)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """Completed orders updated since the cursor, oldest first, one page per call.

        Every page's cursor resumes after it (Square's page cursor with the same query); the
        last page's cursor starts the next poll at the latest ``updated_at`` read, less
        ``overlap_seconds``. A page cursor Square hands back twice raises instead of looping.
        """
        if stream != ORDERS_STREAM:
            raise DataError(f"square has no stream {stream!r}")
        position = _Cursor.load(cursor) if cursor else _Cursor(since=self._first_since())
        since, page = position.since, position.page
        seen: set[str] = set() if page is None else {page}
        latest: datetime | None = None
        restarted = False
        while True:
            try:
                data = self.api.post(
                    "/v2/orders/search",
                    self._search_body(since, page),
                    what="square SearchOrders",
                )
            except SquareRefusal as exc:
                if page is not None and "INVALID_CURSOR" in exc.codes() and not restarted:
                    # An expired page cursor: run the same query again from its start; the
                    # inbox drops the orders already read.
                    log.warning("square orders: page cursor refused, restarting from %s", since)
                    page, restarted = None, True
                    continue
                raise
            orders = [o for o in data.get("orders") or () if isinstance(o, dict)]
            events: list[InboundEvent] = []
            rejections: list[Rejection] = []
            for order in orders:
                try:
                    key = event_key(order)
                except DataError as exc:
                    rejections.append(
                        Rejection(
                            source=f"square order {order.get('id') or '?'}",
                            error=str(exc),
                            payload=json.dumps(order, separators=(",", ":"))[:10_000],
                        )
                    )
                    continue
                events.append(
                    InboundEvent(
                        key=key,
                        kind=ORDER_KIND,
                        payload=order,
                        occurred_at=parse_timestamp(order.get("closed_at")),
                    )
                )
                updated = parse_timestamp(order.get("updated_at"))
                if updated is not None and (latest is None or updated > latest):
                    latest = updated
            following = data.get("cursor") or None
            if following is not None:
                if following in seen:
                    raise TransientError(
                        f"square SearchOrders returned page cursor {following[:40]!r} twice: "
                        "pagination loop, stopped (the pages before it are kept)"
                    )
                seen.add(following)
                yield Page(events, _Cursor(since, following).dump(), rejections)
                page = following
                continue
            yield Page(events, _Cursor(self._next_since(since, latest)).dump(), rejections)
            return

    def _first_since(self) -> str:
        start = self.config.start_at or self._clock() - timedelta(
            seconds=self.config.overlap_seconds
        )
        return _rfc3339(start)

    def _next_since(self, since: str, latest: datetime | None) -> str:
        if latest is None:
            return since
        candidate = latest - timedelta(seconds=self.config.overlap_seconds)
        current = parse_timestamp(since)
        if current is not None and candidate <= current:
            return since
        return _rfc3339(candidate)

    def _search_body(self, since: str, page: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "location_ids": list(self.config.location_ids),
            "query": {
                "filter": {
                    "state_filter": {"states": sorted(ORDER_STATES)},
                    "date_time_filter": {"updated_at": {"start_at": since}},
                },
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
            "limit": self.config.page_size,
            "return_entries": False,
        }
        if page is not None:
            body["cursor"] = page
        return body

    # -- decoding -------------------------------------------------------------------------

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind == ORDER_KIND:
            return self._decode_order(event.payload)
        if event.kind in (webhooks.ORDER_CREATED, webhooks.ORDER_UPDATED):
            return self._decode_order_notice(event)
        if event.kind == webhooks.INVENTORY_COUNT_UPDATED:
            return self._decode_counts(event)
        raise DataError(f"square event kind not handled: {event.kind!r}", record=event.key)

    def _decode_order(self, order: Mapping[str, Any]) -> list[Record]:
        location = order.get("location_id")
        if location and str(location) not in self.config.location_ids:
            return []  # another location of the seller: not one this connection reads
        items = {
            str(raw["catalog_object_id"])
            for field, nested in (("line_items", None), ("returns", "return_line_items"))
            for raw in _items(order, field, nested)
            if raw.get("catalog_object_id")
        }
        skus = self._skus_of_items(items)
        return [decode_order(order, lambda item: skus.get(item, item))]

    def _decode_order_notice(self, event: InboundEvent) -> list[Record]:
        """``order.created``/``order.updated`` name the order; read it when it is completed."""
        notice = _notice_object(event.payload)
        summary = next(
            (v for k, v in notice.items() if k.startswith("order_") and isinstance(v, dict)), {}
        )
        order_id = summary.get("order_id") or (event.payload.get("data") or {}).get("id")
        if not order_id:
            raise DataError("square order webhook without an order id", record=event.key)
        state = str(summary.get("state") or "").upper()
        location = summary.get("location_id")
        if state not in ORDER_STATES:
            return []  # an open or cancelled order moved no stock yet
        if location and str(location) not in self.config.location_ids:
            return []
        data = self.api.get(
            f"/v2/orders/{quote(str(order_id), safe='')}", what="square RetrieveOrder"
        )
        order = data.get("order")
        if not isinstance(order, dict):
            raise DataError(f"square order {order_id}: RetrieveOrder answered without an order")
        return self._decode_order(order)

    def _decode_counts(self, event: InboundEvent) -> list[Record]:
        counts = _notice_object(event.payload).get("inventory_counts") or []
        wanted = [
            c
            for c in counts
            if isinstance(c, dict)
            and c.get("state") == "IN_STOCK"
            and str(c.get("location_id")) in self.config.location_ids
            and c.get("catalog_object_id")
        ]
        skus = self._skus_of_items({str(c["catalog_object_id"]) for c in wanted})
        bodies: list[Record] = []
        for count in wanted:
            item = str(count["catalog_object_id"])
            try:
                level = StockLevel(
                    sku=skus.get(item, item),
                    location=str(count["location_id"]),
                    on_hand=_decimal(count.get("quantity"), f"count of {item}"),
                )
            except ValidationError as exc:
                raise DataError(f"square count of {item}: {exc}", record=event.key) from exc
            bodies.append(StockLevelBody(level=level))
        return bodies

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        """``x-square-hmacsha256-signature`` over the configured notification URL + raw body."""
        key, url = self.config.webhook_signature_key, self.config.notification_url
        if key is None or url is None:
            raise ConfigError("square webhook_signature_key and notification_url are not set")
        header = request.header(webhooks.SIGNATURE_HEADER)
        if not header:
            raise AuthError(f"square webhook without {webhooks.SIGNATURE_HEADER}")
        if not webhooks.is_valid(key.get_secret_value(), url, request.body, header):
            raise AuthError("square webhook signature does not match (check notification_url)")

    def parse_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per notification, keyed by Square's ``event_id``; other types: none."""
        try:
            payload = json.loads(request.body)
        except ValueError as exc:
            raise DataError("square webhook body is not JSON") from exc
        if not isinstance(payload, dict):
            raise DataError("square webhook body is not a JSON object")
        kind = str(payload.get("type") or "")
        event_id = payload.get("event_id")
        if not event_id:
            raise DataError(f"square webhook {kind or '?'} without event_id")
        if kind not in webhooks.HANDLED_TYPES:
            log.info("square webhook %s (%s) ignored", kind or "?", event_id)
            return []
        return [
            InboundEvent(
                key=str(event_id),
                kind=kind,
                payload=payload,
                occurred_at=parse_timestamp(payload.get("created_at")),
            )
        ]

    # -- stock in -------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """``IN_STOCK`` quantity per (sku, Square location id); unknown SKUs and variations
        Square holds no count for are left out."""
        items, failures = self._resolve({sku for sku, _ in pairs})
        for sku, message in sorted(failures.items()):
            log.info("square read_stock: %s (%s)", sku, message)
        wanted = [(sku, loc) for sku, loc in pairs if sku in items]
        counts = self._read_counts(
            sorted({items[sku] for sku, _ in wanted}), sorted({loc for _, loc in wanted})
        )
        found: dict[tuple[str, str], Decimal] = {}
        for sku, location in wanted:
            value = counts.get((items[sku], location))
            if value is not None:
                found[(sku, location)] = value
        return found

    def _read_counts(
        self, items: Sequence[str], locations: Sequence[str]
    ) -> dict[tuple[str, str], Decimal]:
        found: dict[tuple[str, str], Decimal] = {}
        for start in range(0, len(items), COUNT_IDS_PER_CALL):
            part = list(items[start : start + COUNT_IDS_PER_CALL])
            body: dict[str, Any] = {
                "catalog_object_ids": part,
                "location_ids": list(locations),
                "states": ["IN_STOCK"],
                "limit": COUNT_PAGE,
            }
            seen: set[str] = set()
            while True:
                data = self.api.post(
                    "/v2/inventory/counts/batch-retrieve",
                    body,
                    what=f"square BatchRetrieveInventoryCounts ({len(part)} items)",
                )
                for count in data.get("counts") or ():
                    if isinstance(count, dict) and count.get("state") == "IN_STOCK":
                        key = (str(count.get("catalog_object_id")), str(count.get("location_id")))
                        found[key] = _decimal(count.get("quantity"), f"count of {key[0]}")
                following = data.get("cursor") or None
                if following is None:
                    break
                if following in seen:
                    raise TransientError("square counts: page cursor returned twice")
                seen.add(following)
                body = {**body, "cursor": following}
        return found

    # -- stock out ------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock``: absolute counts (``PHYSICAL_COUNT``, ``IN_STOCK``); refusals in
        ``failed``. Square offers no compare-and-set: ``previous`` is not used."""
        if sink != "stock":
            raise DataError(f"square has no sink {sink!r}")
        result = WriteResult()
        size = MAX_CHANGES
        # Chunks follow the batch's positions, so a replay sends each chunk under the same
        # key with the same changes, even if some items are refused this time.
        latest: dict[str, tuple[int, _Entry | None]] = {}
        for position, raw in enumerate(batch.items):
            key, entry, error = _entry(raw, position)
            latest.pop(key, None)  # a later duplicate wins, valid or not
            latest[key] = (position, entry)
            if error is None:
                result.failed.pop(key, None)
            else:
                result.failed[key] = error
        chunks: list[dict[str, _Entry]] = [{} for _ in range((len(batch.items) + size - 1) // size)]
        for position, entry in latest.values():
            if entry is not None:
                chunks[position // size][entry.key] = entry
        items, failures = self._resolve({e.sku for chunk in chunks for e in chunk.values()})
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

    def _write_chunk(
        self, batch: WriteBatch, index: int, pending: list[_Entry], result: WriteResult
    ) -> None:
        """Send one chunk; Square applies all of it or none, so refused changes are dropped
        and the rest is sent again under a key derived from what is left."""
        key = _idempotency_key(batch.idempotency_key, str(index))
        for attempt in range(1, MAX_CHUNK_ATTEMPTS + 1):
            body = {
                "idempotency_key": key,
                "changes": [self._change(batch, key, e) for e in pending],
                "ignore_unchanged_counts": True,
            }
            try:
                data = self.api.post(
                    "/v2/inventory/changes/batch-create",
                    body,
                    what=f"square BatchChangeInventory ({len(pending)} changes)",
                )
            except SquareRefusal as exc:
                if "IDEMPOTENCY_KEY_REUSED" in exc.codes():
                    # Square keeps a key only for a request it applied; it was this chunk,
                    # sent earlier by another process (with another occurred_at).
                    log.info("square stock chunk %s already applied (key %s)", index, key)
                    result.written += len(pending)
                    return
                refused, unattributed = _attribute(exc.errors, len(pending))
                if unattributed or not refused:
                    message = "square refused the chunk: " + "; ".join(
                        error_text(e) for e in (unattributed or exc.errors)
                    )
                    for entry in pending:
                        result.failed[entry.key] = message
                    return
                for position, error in refused.items():
                    result.failed[pending[position].key] = error_text(error)
                pending = [e for i, e in enumerate(pending) if i not in refused]
                if not pending:
                    return
                remaining = [f"{e.key}={e.quantity}" for e in pending]
                key = _idempotency_key(batch.idempotency_key, f"{index}-{_fingerprint(remaining)}")
                log.info(
                    "square stock chunk %d: resending %d changes (attempt %d)",
                    index,
                    len(pending),
                    attempt,
                )
                continue
            result.written += len(pending)
            held = _counts_of(data)
            for entry in pending:
                result.observed[entry.key] = held.get(
                    (entry.item, entry.location), Decimal(entry.quantity)
                )
            return
        for entry in pending:
            result.failed[entry.key] = f"square kept refusing this chunk ({attempt} attempts)"

    def _change(self, batch: WriteBatch, key: str, entry: _Entry) -> dict[str, Any]:
        count: dict[str, Any] = {
            "catalog_object_id": entry.item,
            "state": "IN_STOCK",
            "location_id": entry.location,
            "quantity": entry.quantity,
            "occurred_at": self._occurred_at(key),
        }
        if batch.reference:
            count["reference_id"] = batch.reference[:MAX_REFERENCE_ID]
        return {"type": "PHYSICAL_COUNT", "physical_count": count}

    def _occurred_at(self, key: str) -> str:
        """One timestamp per idempotency key in this process, so a retry sends the very same
        request (Square refuses a reused key with other data)."""
        stamp = self._occurred.get(key)
        if stamp is None:
            stamp = _rfc3339(self._clock())
            self._occurred[key] = stamp
            while len(self._occurred) > 4096:
                self._occurred.popitem(last=False)
        return stamp

    # -- catalog --------------------------------------------------------------------------

    def _resolve(self, skus: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
        """SKU -> variation id from the bindings, else ``SearchCatalogObjects`` (then bound)."""
        bindings = self.context.bindings
        found: dict[str, str] = {}
        missing: list[str] = []
        for sku in sorted(set(skus)):
            external = bindings.get_external(VARIATION_ENTITY, sku)
            if external:
                found[sku] = external
            else:
                missing.append(sku)
        failures: dict[str, str] = {}
        for start in range(0, len(missing), SKU_VALUES_PER_QUERY):
            chunk = missing[start : start + SKU_VALUES_PER_QUERY]
            matches = self._search_skus(chunk)
            for sku in chunk:
                ids = matches.get(sku, set())
                if not ids:
                    failures[sku] = f"SKU {sku!r} not found among Square's item variations"
                elif len(ids) > 1:
                    failures[sku] = (
                        f"SKU {sku!r} is shared by {len(ids)} Square item variations; "
                        "make it unique"
                    )
                else:
                    (external,) = ids
                    other = bindings.get_internal(VARIATION_ENTITY, external)
                    if other is None:
                        bindings.put(VARIATION_ENTITY, sku, external)
                    elif other != sku:
                        # The variation's SKU changed in Square; bindings are unique both
                        # ways, so this one is used without being remembered.
                        log.warning(
                            "square: variation %s now has SKU %r, bound to %r", external, sku, other
                        )
                    self._sku_of_item[external] = sku
                    found[sku] = external
        if missing:
            log.info(
                "square: resolved %d of %d new SKUs", len(missing) - len(failures), len(missing)
            )
        return found, failures

    def _search_skus(self, skus: Sequence[str]) -> dict[str, set[str]]:
        wanted = set(skus)
        body: dict[str, Any] = {
            "object_types": ["ITEM_VARIATION"],
            "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(skus)}},
            "include_deleted_objects": False,
            "limit": CATALOG_PAGE,
        }
        matches: dict[str, set[str]] = {}
        seen: set[str] = set()
        while True:
            data = self.api.post(
                "/v2/catalog/search", body, what=f"square SKU lookup ({len(skus)})"
            )
            for obj in data.get("objects") or ():
                if not isinstance(obj, dict) or obj.get("is_deleted"):
                    continue
                sku = (obj.get("item_variation_data") or {}).get("sku")
                # Square matches SKUs case-insensitively: keep exact matches only.
                if sku in wanted and obj.get("id"):
                    matches.setdefault(sku, set()).add(str(obj["id"]))
            following = data.get("cursor") or None
            if following is None:
                return matches
            if following in seen:
                raise TransientError("square catalog search: page cursor returned twice")
            seen.add(following)
            body = {**body, "cursor": following}

    def _skus_of_items(self, items: Iterable[str]) -> dict[str, str]:
        """Variation id -> SKU: bindings, this process's memory, else the catalog (once)."""
        found: dict[str, str] = {}
        unknown: list[str] = []
        for item in sorted(set(items)):
            sku = self._sku_of_item.get(item) or self.context.bindings.get_internal(
                VARIATION_ENTITY, item
            )
            if sku:
                self._sku_of_item[item] = sku
                found[item] = sku
            else:
                unknown.append(item)
        if not unknown or not self.config.resolve_skus:
            return found
        for start in range(0, len(unknown), RETRIEVE_IDS_PER_CALL):
            part = unknown[start : start + RETRIEVE_IDS_PER_CALL]
            data = self.api.post(
                "/v2/catalog/batch-retrieve",
                {"object_ids": part, "include_related_objects": False},
                what=f"square catalog variations ({len(part)})",
            )
            for obj in data.get("objects") or ():
                if not isinstance(obj, dict) or obj.get("type") != "ITEM_VARIATION":
                    continue
                item, sku = str(obj.get("id")), (obj.get("item_variation_data") or {}).get("sku")
                if not isinstance(sku, str) or not sku.strip():
                    continue  # a variation without SKU: its id stands in
                sku = sku.strip()
                found[item] = sku
                self._sku_of_item[item] = sku
                if self.context.bindings.get_external(VARIATION_ENTITY, sku) is None:
                    self.context.bindings.put(VARIATION_ENTITY, sku, item)
        return found


# -- helpers ------------------------------------------------------------------------------


def _entry(raw: Record, position: int) -> tuple[str, _Entry | None, str | None]:
    """(result key, the entry to send or None, why it is refused or None)."""
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
        quantity = _count_text(item.quantity)
    except DataError as exc:
        return key, None, str(exc)
    return key, _Entry(key, item.sku, item.location, quantity), None


def _count_text(value: Decimal) -> str:
    """A count as Square's decimal string: finite, not negative, at most 5 decimals."""
    if not value.is_finite():
        raise DataError(f"quantity {value} is not a number")
    if value < 0:
        raise DataError(f"quantity {value} is negative; a Square count cannot be")
    if value.normalize().as_tuple().exponent < -QUANTITY_PLACES:  # type: ignore[operator]
        raise DataError(f"quantity {value} has more than {QUANTITY_PLACES} decimals")
    text = format(value.normalize(), "f")
    if len(text) > 26:
        raise DataError(f"quantity {value} is too long for Square")
    return text


def _attribute(
    errors: Sequence[Mapping[str, Any]], count: int
) -> tuple[dict[int, Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Errors naming a change (``field`` like ``changes[3].physical_count.quantity``) vs
    errors about the whole request."""
    refused: dict[int, Mapping[str, Any]] = {}
    unattributed: list[Mapping[str, Any]] = []
    for error in errors:
        position = _change_index(error.get("field")) if error.get("field") else None
        if position is None or position >= count:
            unattributed.append(error)
        else:
            refused.setdefault(position, error)
    return refused, unattributed


def _change_index(field: Any) -> int | None:
    text = str(field)
    marker = "changes["
    start = text.find(marker)
    if start < 0:
        return None
    end = text.find("]", start)
    try:
        return int(text[start + len(marker) : end])
    except ValueError:
        return None


def _counts_of(data: Mapping[str, Any]) -> dict[tuple[str, str], Decimal]:
    held: dict[tuple[str, str], Decimal] = {}
    for count in data.get("counts") or ():
        if isinstance(count, dict) and count.get("state") == "IN_STOCK":
            try:
                held[(str(count.get("catalog_object_id")), str(count.get("location_id")))] = (
                    Decimal(str(count.get("quantity")))
                )
            except InvalidOperation:
                continue
    return held


def _idempotency_key(base: str, suffix: str) -> str:
    """``<batch key>#<suffix>``, hashed down when longer than Square's 128 characters."""
    key = f"{base}#{suffix}"
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{base[:40]}~{digest}"[:MAX_IDEMPOTENCY_KEY]


def _fingerprint(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _rfc3339(moment: datetime) -> str:
    """UTC, milliseconds, ``Z``: ``2026-11-23T16:31:11.123Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _decimal(value: Any, what: str) -> Decimal:
    if value is None or isinstance(value, bool | float):
        raise DataError(f"square {what}: quantity {value!r} is not a decimal string")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"square {what}: quantity {value!r} is not a number") from exc


def _notice_object(payload: Mapping[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _items(order: Mapping[str, Any], field: str, nested: str | None) -> Iterator[Mapping[str, Any]]:
    for raw in order.get(field) or ():
        if not isinstance(raw, dict):
            continue
        if nested is None:
            yield raw
        else:
            for inner in raw.get(nested) or ():
                if isinstance(inner, dict):
                    yield inner
