"""The Odoo Point of Sale connector: paid ``pos.order`` records polled over JSON-RPC as sales.

Odoo sends no webhook for POS orders, so the ``orders`` stream polls ``pos.order`` through
the external JSON-RPC API (``/jsonrpc``, ``object.execute_kw``, see ``rpc``):

* ``search_read`` of the orders in state ``paid``, ``done`` (posted) or ``invoiced`` whose
  ``write_date`` is at or after the cursor, of the configured points of sale
  (``config_ids``), sorted ``write_date asc, id asc``, ``limit`` = ``page_size``;
* then, once per page, the lines (``pos.order.line`` by ``order_id``), the payments
  (``pos.payment`` by ``pos_order_id``), the products' Internal Reference (``default_code``,
  the SKU) and barcode (``product.product``, each product read once per process), the
  customers (``res.partner``), the orders refunded by return lines (``pos.order`` holding the
  ``refunded_orderline_id``), and each currency's ``decimal_places`` (once).

Pages are keyset pages, never growing offsets: after a page the query is re-anchored on the
last ``write_date`` read, leaving out the orders of that second already read (their ids).
An order rewritten during the read moves to the end of the list and is read there, instead
of shifting every later order one place down past an offset. Odoo keeps ``write_date`` to the
microsecond but answers whole seconds, so the anchor is the second (``>=``) plus the ids
read in it, not a strict ``>`` on a truncated value. A full page that brings nothing new
raises instead of looping.

``write_date`` is the start of the writing transaction (``cursor.now()``), so an order saved
by a long transaction (a batch of offline orders) can carry a time older than orders
already read. Each poll therefore starts ``overlap_seconds`` before the last order read;
orders this process already emitted are not emitted twice, and any other repeat is dropped
by the inbox (an order keeps its key from paid to posted and invoiced).

Each order is one event keyed ``<pos_reference>#<id>`` (``ticket_reference``) whose payload
is the order with its lines and payments (``connectors.odoo.orders``).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
    Rejection,
    WriteBatch,
    WriteResult,
)
from bridge.errors import ConfigError, DataError, TransientError
from bridge.model.base import Record
from connectors.odoo.loyalty import MAX_BATCH as LOYALTY_BATCH
from connectors.odoo.loyalty import write_loyalty
from connectors.odoo.orders import (
    DATE_FORMAT,
    decimal_text,
    decode_order,
    parse_utc,
    ticket_reference,
)
from connectors.odoo.rpc import OdooRefusal, OdooRpc

log = logging.getLogger(__name__)

VERSION = "0.1.0"
ORDERS_STREAM = "orders"
SALE_KIND = "sale"
STATES = ("paid", "done", "invoiced")
"""Orders that are sales: paid at the till, posted by the session closing, or invoiced."""
ORDER = "write_date asc, id asc"
MEMORY = 20_000
"""Orders (id -> write_date) and products remembered by one process."""
ARCHIVED_TOO = {"active_test": False}
"""Read archived products and customers too: a ticket may name an archived product."""

ORDER_FIELDS = {
    "name": True,
    "pos_reference": False,
    "sequence_number": False,
    "session_id": True,
    "config_id": False,
    "partner_id": False,
    "date_order": True,
    "write_date": True,
    "state": True,
    "amount_total": True,
    "amount_tax": False,
    "amount_paid": False,
    "amount_return": False,
    "currency_id": True,
}
"""Fields read per model: name -> required. Optional ones are read when this Odoo version
has them (``fields_get``, once per process): ``refunded_orderline_id`` appeared in 15.0."""
LINE_FIELDS = {
    "order_id": True,
    "product_id": True,
    "full_product_name": False,
    "qty": True,
    "price_unit": True,
    "discount": False,
    "price_subtotal": False,
    "price_subtotal_incl": True,
    "refunded_orderline_id": False,
}
PAYMENT_FIELDS = {
    "pos_order_id": True,
    "payment_method_id": True,
    "amount": True,
    "payment_date": False,
    "is_change": False,
}
PRODUCT_FIELDS = {"default_code": True, "barcode": False, "uom_id": False, "display_name": False}
PARTNER_FIELDS = {
    "name": True,
    "ref": False,
    "email": False,
    "phone": False,
    "mobile": False,
    "barcode": False,
}
REFUNDED_FIELDS = {"name": True, "pos_reference": False, "session_id": True, "config_id": False}


class OdooConfig(ConnectorConfig):
    """One Odoo database's POS. The API key is a ``SecretStr``: it never prints nor logs."""

    url: str
    """The Odoo server, e.g. ``https://mycompany.odoo.com`` (``/jsonrpc`` is added)."""
    database: str = Field(min_length=1)
    """The database name (on Odoo Online, the instance name)."""
    username: str = Field(min_length=1)
    """The login of the user Brique reads as (Point of Sale > User rights at least)."""
    api_key: SecretStr
    """An API key of that user (Preferences > Account Security > New API Key), used in place
    of the password; a password works too where the database still allows it."""
    config_ids: tuple[int, ...] = ()
    """The ``pos.config`` ids (points of sale, i.e. tills) whose orders are read; all when
    empty. A ticket's store is its ``pos.config`` id (the mapping's inbound ``sale`` rules
    may set ``store`` to another value, e.g. one store for two tills)."""
    timezone: str = "UTC"
    """The stores' IANA time zone (e.g. ``Europe/Paris``), for each ticket's business day
    only. Odoo stores and returns every datetime in UTC without an offset, and Brique reads
    them as UTC whatever this says."""
    page_size: int = Field(default=100, ge=1, le=1000)
    """Orders per ``search_read`` page (their lines and payments are read with them)."""
    timeout: float = Field(default=30.0, gt=0, le=300)
    """Seconds to wait for an answer (connecting has at most 3.05 s)."""
    start_at: datetime | None = None
    """Where the first read starts (an order's last change, UTC if no offset is given);
    None: from that first read (orders before it are history, not stock movements)."""
    overlap_seconds: int = Field(default=120, ge=0, le=86_400)
    """Each poll re-reads this much before the last order read, for orders committed by a
    transaction that started earlier (their ``write_date`` is the transaction's start)."""
    ticket_sequences: bool = False
    """Give tickets the order's ``sequence_number`` (per session) so that ``brique status``
    reports gaps. Off by default: an unpaid order deleted at the till leaves a number out."""
    loyalty_program_id: int | None = Field(default=None, gt=0)
    """The ``loyalty.program`` whose cards show Brique's balances (sink ``loyalty``)."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.endswith("/jsonrpc"):
            value = value[: -len("/jsonrpc")]
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must look like https://mycompany.odoo.com")
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

    @field_validator("config_ids")
    @classmethod
    def _configs(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v <= 0 for v in value):
            raise ValueError("pos.config ids are positive integers")
        return tuple(dict.fromkeys(value))

    @field_validator("start_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


@dataclass(frozen=True)
class _Cursor:
    """The ``orders`` stream position.

    ``since``: the next query starts at this second (``write_date >= since``). ``at`` and
    ``ids``: the exact point reached, the last second read and the ids read in it. Within a
    read ``since == at`` (the query leaves those ids out); at the end of a read ``since`` is
    ``overlap_seconds`` earlier.
    """

    since: str
    at: str | None = None
    ids: tuple[int, ...] = ()

    @property
    def exact(self) -> bool:
        return self.at is not None and self.at == self.since

    def dump(self) -> str:
        data: dict[str, Any] = {"since": self.since}
        if self.at is not None:
            data["at"] = self.at
            data["ids"] = list(self.ids)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> _Cursor:
        try:
            data = json.loads(text)
            since, at, ids = data["since"], data.get("at"), data.get("ids") or []
            _second(since)
            if at is not None:
                _second(at)
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids
            ):
                raise ValueError("ids")
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"odoo: unreadable orders cursor {text[:120]!r}") from exc
        return cls(since=since, at=at, ids=tuple(sorted(set(ids))))

    def holds(self, second: str, order_id: int) -> bool:
        """True when (second, id) was read before this position."""
        if self.at is None:
            return False
        return second < self.at or (second == self.at and order_id in self.ids)


@dataclass
class _Row:
    second: str
    id: int
    record: dict[str, Any]


@dataclass
class _Related:
    """What one page's orders refer to, read once for the page."""

    lines: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    payments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    partners: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunded: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Refunded line id -> the order holding it."""


class OdooConnector(Connector):
    """Reads an Odoo database's POS orders as store sales."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="odoo",
        kind="pos",
        version=VERSION,
        capabilities=frozenset({Capability.READ_SALES, Capability.WRITE_LOYALTY}),
        batch_limits={"loyalty": LOYALTY_BATCH},
        config_model=OdooConfig,
        description=(
            "Odoo Point of Sale over JSON-RPC: paid pos.order records polled on write_date "
            "(keyset pages, no skips) with their lines, payments and SKUs, as sales; "
            "loyalty balances out as loyalty.card points."
        ),
    )
    config: OdooConfig

    def __init__(
        self,
        config: ConnectorConfig | Mapping[str, Any],
        context: ConnectorContext,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(config, context)  # type: ignore[arg-type]
        self._clock = clock
        self.zone = ZoneInfo(self.config.timezone)
        self.rpc = OdooRpc(
            self.config.url,
            self.config.database,
            self.config.username,
            self.config.api_key,
            timeout=(min(3.05, self.config.timeout), self.config.timeout),
            user_agent=f"brique-odoo/{VERSION}",
        )
        self._fields: dict[str, frozenset[str]] = {}
        self._currencies: dict[int, dict[str, Any]] = {}
        self._products: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._emitted: OrderedDict[int, str] = OrderedDict()
        self._unnamed: set[int] = set()

    def __repr__(self) -> str:
        return (
            f"OdooConnector({self.context.connection!r}, {self.config.url!r}, "
            f"{self.config.database!r})"
        )

    def close(self) -> None:
        self.rpc.close()

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``loyalty``: balances as loyalty card points (``connectors.odoo.loyalty``)."""
        if sink == "loyalty":
            return write_loyalty(self.rpc, self.config.loyalty_program_id, batch)
        return super().write(sink, batch)

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """Log in, then read the configured points of sale and count no order (read rights)."""
        self.rpc.authenticate()
        try:
            if self.config.config_ids:
                found = self.rpc.search_read(
                    "pos.config",
                    [("id", "in", list(self.config.config_ids))],
                    ["name"],
                    context=ARCHIVED_TOO,
                )
                known = {row.get("id") for row in found}
                missing = [str(c) for c in self.config.config_ids if c not in known]
                if missing:
                    raise ConfigError(
                        f"odoo: pos.config {', '.join(missing)} not found in database "
                        f"{self.config.database!r} (Point of Sale > Configuration > Point of "
                        "Sales; the id is in the URL of each)"
                    )
            else:
                self.rpc.execute_kw("pos.config", "search_count", [[]])
            self.rpc.execute_kw("pos.order", "search_count", [[("id", "=", 0)]])
        except OdooRefusal as exc:
            if exc.name == "AccessError":
                raise ConfigError(
                    f"{exc} (give user {self.config.username!r} the Point of Sale User rights)"
                ) from exc
            raise

    # -- orders in ------------------------------------------------------------------------

    def streams(self) -> Sequence[str]:
        return (ORDERS_STREAM,)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """Orders changed since ``cursor``, oldest first, one ``search_read`` page per call."""
        if stream != ORDERS_STREAM:
            raise DataError(f"odoo has no stream {stream!r}")
        start = _Cursor.load(cursor) if cursor else _Cursor(since=self._first_since())
        size = self.config.page_size
        if start.exact:
            at, ids = start.at, set(start.ids)
        else:
            at, ids = None, set()
        lower = start.since
        last_cursor: str | None = None
        while True:
            rows, rejections = self._rows(self._query(lower, at, ids, size))
            reached = (at, len(ids))
            fresh: list[_Row] = []
            for row in rows:
                if at is not None and (row.second < at or (row.second == at and row.id in ids)):
                    continue  # already read in this read: the server ignored the filter
                if at is None or row.second > at:
                    at, ids = row.second, {row.id}
                else:
                    ids.add(row.id)
                if start.holds(row.second, row.id) and self._emitted.get(row.id) == (
                    row.record.get("write_date")
                ):
                    continue  # re-read by the overlap, emitted by this process already
                fresh.append(row)
            full = len(rows) + len(rejections) >= size
            if full and (at, len(ids)) == reached:
                raise TransientError(
                    f"odoo pos.order: a full page from {lower} brought no order after "
                    f"{at or lower}; the server ignores the domain or every row is "
                    "unreadable. Stopped instead of looping"
                )
            events, more = self._events(fresh)
            rejections += more
            done = self._committed(fresh)
            if full:
                assert at is not None
                last_cursor = _Cursor(at, at, tuple(sorted(ids))).dump()
                yield Page(events, last_cursor, rejections, on_committed=done)
                lower = at
                continue
            final = self._final(start, at, ids)
            if final == last_cursor:
                if events or rejections:
                    yield Page(events, None, rejections, on_committed=done)
            elif events or rejections or final != cursor:
                yield Page(events, final, rejections, on_committed=done)
            return

    def _query(self, lower: str, at: str | None, ids: set[int], size: int) -> list[dict[str, Any]]:
        domain: list[Any] = [("state", "in", list(STATES))]
        if self.config.config_ids:
            domain.append(("config_id", "in", list(self.config.config_ids)))
        domain.append(("write_date", ">=", lower))
        if at == lower and ids:
            # Odoo keeps microseconds but answers seconds: the rest of the anchor second is
            # "not one of the ids read in it", the seconds after it are all new.
            domain += [
                "|",
                ("write_date", ">=", _next_second(lower)),
                ("id", "not in", sorted(ids)),
            ]
        return self.rpc.search_read(
            "pos.order",
            domain,
            self._wanted("pos.order", ORDER_FIELDS),
            order=ORDER,
            limit=size,
        )

    def _rows(self, records: list[dict[str, Any]]) -> tuple[list[_Row], list[Rejection]]:
        rows: list[_Row] = []
        rejections: list[Rejection] = []
        for record in records:
            order_id, written = record.get("id"), record.get("write_date")
            try:
                if isinstance(order_id, bool) or not isinstance(order_id, int):
                    raise DataError(f"pos.order without a numeric id ({order_id!r})")
                second = _second(written)
            except (DataError, ValueError, TypeError) as exc:
                rejections.append(
                    Rejection(
                        source=f"{self.config.url} pos.order {order_id!r}",
                        error=f"unreadable order: {exc}",
                        payload=_dump(record),
                    )
                )
                continue
            rows.append(_Row(second, order_id, record))
        return rows, rejections

    def _final(self, start: _Cursor, at: str | None, ids: set[int]) -> str:
        """Where the next poll starts: the point reached, ``overlap_seconds`` back."""
        if at is None:
            return start.dump()
        since = at
        if self.config.overlap_seconds:
            back = _parse(at) - timedelta(seconds=self.config.overlap_seconds)
            since = max(start.since, back.strftime(DATE_FORMAT))
        return _Cursor(since, at, tuple(sorted(ids))).dump()

    def _first_since(self) -> str:
        start = self.config.start_at
        if start is None:
            start = self._clock() - timedelta(seconds=self.config.overlap_seconds)
        return start.astimezone(UTC).strftime(DATE_FORMAT)

    # -- payloads -------------------------------------------------------------------------

    def _events(self, rows: list[_Row]) -> tuple[list[InboundEvent], list[Rejection]]:
        if not rows:
            return [], []
        related = self._related([row.record for row in rows])
        events: list[InboundEvent] = []
        rejections: list[Rejection] = []
        for row in rows:
            try:
                payload = self._payload(row.record, related)
                key = ticket_reference(payload)
                occurred = parse_utc(payload.get("date_order"), f"pos.order {row.id} date_order")
            except DataError as exc:
                rejections.append(
                    Rejection(
                        source=f"{self.config.url} pos.order {row.id}",
                        error=str(exc),
                        payload=_dump(row.record),
                    )
                )
                continue
            events.append(
                InboundEvent(key=key, kind=SALE_KIND, payload=payload, occurred_at=occurred)
            )
        return events, rejections

    def _committed(self, rows: list[_Row]) -> Callable[[], None]:
        """Remember the orders of a page once it is in the inbox (not before: a page whose
        commit failed must be emitted again, even from the overlap)."""

        def remember() -> None:
            for row in rows:
                self._emitted[row.id] = str(row.record.get("write_date"))
                self._emitted.move_to_end(row.id)
            while len(self._emitted) > MEMORY:
                self._emitted.popitem(last=False)

        return remember

    def _related(self, orders: list[dict[str, Any]]) -> _Related:
        """Lines, payments, products, customers, refunded orders and currencies of a page:
        one call each, only for what the page refers to."""
        related = _Related()
        order_ids = [order["id"] for order in orders]
        for line in self.rpc.search_read(
            "pos.order.line",
            [("order_id", "in", order_ids)],
            self._wanted("pos.order.line", LINE_FIELDS),
            order="id asc",
        ):
            related.lines.setdefault(_id(line.get("order_id")), []).append(line)
        for payment in self.rpc.search_read(
            "pos.payment",
            [("pos_order_id", "in", order_ids)],
            self._wanted("pos.payment", PAYMENT_FIELDS),
            order="id asc",
        ):
            related.payments.setdefault(_id(payment.get("pos_order_id")), []).append(payment)
        lines = [line for group in related.lines.values() for line in group]
        self._read_products({_id(line.get("product_id")) for line in lines} - {0})
        partners = {_id(order.get("partner_id")) for order in orders} - {0}
        if partners:
            for partner in self.rpc.search_read(
                "res.partner",
                [("id", "in", sorted(partners))],
                self._wanted("res.partner", PARTNER_FIELDS),
                context=ARCHIVED_TOO,
            ):
                related.partners[_id(partner.get("id"))] = partner
        refunded = {_id(line.get("refunded_orderline_id")) for line in lines} - {0}
        if refunded:
            wanted = [*self._wanted("pos.order", REFUNDED_FIELDS), "lines"]
            for order in self.rpc.search_read(
                "pos.order", [("lines", "in", sorted(refunded))], wanted
            ):
                for line_id in order.get("lines") or ():
                    if line_id in refunded:
                        related.refunded[line_id] = order
        self._read_currencies({_id(order.get("currency_id")) for order in orders} - {0})
        return related

    def _payload(self, order: dict[str, Any], related: _Related) -> dict[str, Any]:
        order_id = order["id"]
        where = f"pos.order {order_id}"
        currency_id = _id(order.get("currency_id"))
        currency = self._currencies.get(currency_id)
        if currency is None:
            raise DataError(f"{where}: currency {order.get('currency_id')!r} could not be read")
        config = _pair(order.get("config_id"))
        partner_id = _id(order.get("partner_id"))
        partner = related.partners.get(partner_id) if partner_id else None
        return {
            "id": order_id,
            "name": _text(order.get("name")),
            "pos_reference": _text(order.get("pos_reference")) or None,
            "sequence_number": order.get("sequence_number") or None,
            "state": _text(order.get("state")),
            "date_order": _text(order.get("date_order")) or None,
            "write_date": _text(order.get("write_date")) or None,
            "store": str(config["id"]) if config else None,
            "config": config,
            "session": _pair(order.get("session_id")),
            "currency": currency,
            "partner": _partner(partner) if partner else _pair(order.get("partner_id")),
            **{
                name: decimal_text(order.get(name), f"{where} {name}")
                for name in ("amount_total", "amount_tax", "amount_paid", "amount_return")
            },
            "lines": [self._line(line, related, where) for line in related.lines.get(order_id, [])],
            "payments": [
                _payment(payment, where) for payment in related.payments.get(order_id, [])
            ],
        }

    def _line(self, line: dict[str, Any], related: _Related, where: str) -> dict[str, Any]:
        label = f"{where} line {line.get('id')}"
        product_id = _id(line.get("product_id"))
        product = self._products.get(product_id, {})
        sku = _text(product.get("default_code"))
        refunded = _id(line.get("refunded_orderline_id"))
        origin = related.refunded.get(refunded) if refunded else None
        name = _text(line.get("full_product_name")) or _name(line.get("product_id"))
        payload: dict[str, Any] = {
            "id": line.get("id"),
            "product_id": product_id or None,
            "sku": sku or None,
            "barcode": _text(product.get("barcode")) or None,
            "product_name": name,
            "uom": _name(product.get("uom_id")) or None,
            **{
                key: decimal_text(line.get(key), f"{label} {key}")
                for key in (
                    "qty",
                    "price_unit",
                    "discount",
                    "price_subtotal",
                    "price_subtotal_incl",
                )
            },
            "refunded_orderline_id": refunded or None,
            "refunded_order": _origin(origin) if origin else None,
        }
        if not sku and product_id:
            payload["sku_note"] = (
                f"product {product_id} ({name}) has no Internal Reference in Odoo; its SKU is "
                f"product:{product_id} until one is set or the mapping's skus translate it"
            )
            if product_id not in self._unnamed:
                self._unnamed.add(product_id)
                log.warning("odoo: %s", payload["sku_note"])
        return payload

    def _read_products(self, ids: set[int]) -> None:
        """``default_code`` (SKU), barcode and unit of products not read by this process."""
        missing = sorted(i for i in ids if i not in self._products)
        if missing:
            found = {
                _id(row.get("id")): row
                for row in self.rpc.search_read(
                    "product.product",
                    [("id", "in", missing)],
                    self._wanted("product.product", PRODUCT_FIELDS),
                    context=ARCHIVED_TOO,
                )
            }
            for product_id in missing:
                self._products[product_id] = found.get(product_id, {})
        for product_id in ids:
            if product_id in self._products:
                self._products.move_to_end(product_id)
        while len(self._products) > MEMORY:
            self._products.popitem(last=False)

    def _read_currencies(self, ids: set[int]) -> None:
        missing = sorted(i for i in ids if i not in self._currencies)
        if not missing:
            return
        for row in self.rpc.search_read(
            "res.currency",
            [("id", "in", missing)],
            ["name", "decimal_places"],
            context=ARCHIVED_TOO,
        ):
            code = _text(row.get("name"))
            places = row.get("decimal_places")
            if not code or isinstance(places, bool) or not isinstance(places, int):
                continue
            self._currencies[_id(row.get("id"))] = {
                "id": row.get("id"),
                "name": code.upper(),
                "decimal_places": places,
            }

    def _wanted(self, model: str, fields: Mapping[str, bool]) -> list[str]:
        """The fields of ``fields`` this Odoo has (``fields_get`` once per model)."""
        known = self._fields.get(model)
        if known is None:
            answer = self.rpc.execute_kw(model, "fields_get", [], {"attributes": ["type"]})
            if not isinstance(answer, dict):
                raise TransientError(f"odoo {model}.fields_get answered {type(answer).__name__}")
            known = frozenset(answer)
            self._fields[model] = known
        missing = [name for name, required in fields.items() if required and name not in known]
        if missing:
            raise ConfigError(
                f"odoo {model} has no field {', '.join(missing)}: this Odoo version is not "
                "one Brique reads (14.0 and later)"
            )
        return [name for name in fields if name in known]

    # -- decoding -------------------------------------------------------------------------

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != SALE_KIND:
            raise DataError(f"odoo event kind not handled: {event.kind!r}", record=event.key)
        try:
            return [
                decode_order(event.payload, zone=self.zone, sequences=self.config.ticket_sequences)
            ]
        except DataError as exc:
            raise DataError(str(exc), record=event.key) from exc


# -- helpers ------------------------------------------------------------------------------


def _payment(payment: Mapping[str, Any], where: str) -> dict[str, Any]:
    method = payment.get("payment_method_id")
    return {
        "id": payment.get("id"),
        "method": _name(method) or None,
        "payment_method_id": _id(method) or None,
        "amount": decimal_text(payment.get("amount"), f"{where} payment {payment.get('id')}"),
        "is_change": bool(payment.get("is_change")),
        "payment_date": _text(payment.get("payment_date")) or None,
    }


def _partner(partner: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": partner.get("id"),
        "name": _text(partner.get("name")) or None,
        "ref": _text(partner.get("ref")) or None,
        "email": _text(partner.get("email")) or None,
        "phone": _text(partner.get("phone")) or None,
        "mobile": _text(partner.get("mobile")) or None,
        "barcode": _text(partner.get("barcode")) or None,
    }


def _origin(order: Mapping[str, Any]) -> dict[str, Any]:
    config = _pair(order.get("config_id"))
    return {
        "id": order.get("id"),
        "name": _text(order.get("name")),
        "pos_reference": _text(order.get("pos_reference")) or None,
        "store": str(config["id"]) if config else None,
        "config": config,
        "session": _pair(order.get("session_id")),
    }


def _pair(value: Any) -> dict[str, Any] | None:
    """A many2one ``[id, "display name"]`` (or ``false``) as ``{"id", "name"}``."""
    if isinstance(value, list | tuple) and value and isinstance(value[0], int):
        return {"id": value[0], "name": str(value[1]) if len(value) > 1 else ""}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"id": value, "name": ""}
    return None


def _id(value: Any) -> int:
    pair = _pair(value)
    return pair["id"] if pair else 0


def _name(value: Any) -> str:
    pair = _pair(value)
    return pair["name"].strip() if pair else ""


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def _parse(second: str) -> datetime:
    return datetime.strptime(second, DATE_FORMAT)


def _second(value: Any) -> str:
    """An Odoo datetime text cut to the second, checked."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an Odoo datetime")
    text = value.strip()[:19]
    _parse(text)
    return text


def _next_second(second: str) -> str:
    return (_parse(second) + timedelta(seconds=1)).strftime(DATE_FORMAT)


def _dump(record: Mapping[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), default=str)[:10_000]
