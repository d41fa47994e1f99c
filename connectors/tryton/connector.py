"""The Tryton POS connector: ``sale.point.sale`` records polled over JSON-RPC as store sales.

Tryton sends no webhook, so the ``sales`` stream polls (see ``rpc`` for the protocol):

* ``model.sale.point.sale.search_read`` of the sales in state ``done`` (paid) or
  ``posted`` (stock and accounting moves made) of the configured sale points, ordered
  ``write_date ASC, id ASC``, ``page_size`` at a time, after the keyset position
  ``(write_date, id)`` reached. Tryton keeps ``write_date`` to the microsecond and answers
  it whole (a ``datetime`` object), so the position is exact: no offset, no skip, no loop.
  A full page that does not move the position raises instead of looping.
* per page: the lines (``sale.point.sale.line``: product code as SKU, quantity, unit price,
  amount), the payments (``sale.point.payment``) and each currency's code and digits.

``write_date`` is the writing transaction's time, so a sale committed by a slow transaction
may carry a time older than sales already read: each poll starts ``overlap_seconds`` before
the position reached. Sales this process already emitted are not emitted twice; any other
repeat is dropped by the inbox (a sale keeps its key ``<number>#<id>`` from done to posted).

Stock: ``read_stock`` reads ``product.product.quantity`` (done moves) in the sale point's
storage location (``context.locations``), the location being the sale point id the mapping
gives for the connection. Writing stock is not offered: the POS owns its stock.

Baskets (``baskets``): the ``baskets`` sink opens a handed-off basket as a draft sale at
the till and cancels it on close; completed sales carry ``Sale.basket``; with
``basket_settle_seconds`` set, draft sales parked at a till are read (stream ``baskets``)
as store baskets.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
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
from connectors.tryton import baskets, reservations
from connectors.tryton.rpc import TrytonRefusal, TrytonRpc
from connectors.tryton.sales import decode_sale, number_text, reference, utc

log = logging.getLogger(__name__)

VERSION = "0.1.0"
SALES_STREAM = "sales"
SALE_KIND = "sale"
ORDER = (("write_date", "ASC"), ("id", "ASC"))
MEMORY = 20_000
SALE_FIELDS = ["number", "state", "date", "point", "point.name", "currency", "total"]
SALE_FIELDS += ["create_date", "write_date"]
LINE_FIELDS = ["sale", "product", "product.code", "product.rec_name", "quantity"]
LINE_FIELDS += ["unit_price", "unit_gross_price", "unit_list_price", "amount"]
PAYMENT_FIELDS = ["sale", "method", "method.name", "amount"]


class TrytonConfig(ConnectorConfig):
    """One Tryton database's sale points. The password is a ``SecretStr``."""

    url: str
    """The trytond server, e.g. ``https://erp.example.com`` (``/<database>/rpc/`` is added)."""
    database: str = Field(min_length=1)
    username: str = Field(min_length=1)
    """A user with the POS and Stock groups (``admin`` works too); handing baskets to the
    tills was verified with the POS, Sales and Stock groups."""
    password: SecretStr
    sale_points: tuple[int, ...] = ()
    """The ``sale.point`` ids whose sales are read; all when empty. A ticket's store is its
    sale point id (what the mapping's ``locations[].ids`` names for this connection)."""
    states: tuple[str, ...] = ("done", "posted")
    """Sale states read as sales. Tryton moves the stock only at ``posted``; ``done`` is paid."""
    timezone: str = "UTC"
    """The stores' IANA time zone; Tryton's own times are naive UTC and read as UTC."""
    page_size: int = Field(default=100, ge=1, le=1000)
    timeout: float = Field(default=30.0, gt=0, le=300)
    start_at: datetime | None = None
    """Where the first read starts (a sale's last change, UTC if no offset is given);
    None: from that first read (sales before it are history, not stock movements)."""
    overlap_seconds: int = Field(default=120, ge=0, le=86_400)
    basket_settle_seconds: int | None = Field(default=None, ge=0, le=86_400)
    """Read draft sales parked at a till as store baskets (stream ``baskets``): a draft
    untouched this long is a basket, not a sale being rung up. None: drafts are not read."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must look like https://erp.example.com")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value.strip()

    @field_validator("sale_points")
    @classmethod
    def _points(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v <= 0 for v in value):
            raise ValueError("sale.point ids are positive integers")
        return tuple(dict.fromkeys(value))

    @field_validator("states")
    @classmethod
    def _states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - {"done", "posted"}
        if unknown or not value:
            raise ValueError("states are among 'done' and 'posted'")
        return value

    @field_validator("start_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


@dataclass(frozen=True, order=True)
class _Position:
    """A keyset position: (write_date naive UTC, id)."""

    at: datetime
    id: int = 0

    def dump(self) -> str:
        return json.dumps({"at": self.at.isoformat(), "id": self.id}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> _Position:
        try:
            data = json.loads(text)
            at = datetime.fromisoformat(data["at"])
            ident = data.get("id", 0)
            if at.tzinfo is not None or isinstance(ident, bool) or not isinstance(ident, int):
                raise ValueError("position")
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"tryton: unreadable sales cursor {text[:120]!r}") from exc
        return cls(at, ident)


class TrytonConnector(Connector):
    """Reads a Tryton database's POS sales as store sales, and its stock per sale point."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="tryton",
        kind="pos",
        version=VERSION,
        capabilities=frozenset(
            {
                Capability.READ_SALES,
                Capability.READ_STOCK,
                Capability.READ_BASKETS,
                Capability.WRITE_BASKETS,
                Capability.WRITE_RESERVATIONS,
            }
        ),
        config_model=TrytonConfig,
        description=(
            "Tryton POS (sale_point) over JSON-RPC: done/posted sale.point.sale records "
            "polled on (write_date, id) keyset pages with lines, payments and product codes "
            "as sales; stock per sale point storage location."
        ),
    )
    config: TrytonConfig

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
        self.rpc = TrytonRpc(
            self.config.url,
            self.config.database,
            self.config.username,
            self.config.password,
            timeout=(min(3.05, self.config.timeout), self.config.timeout),
            user_agent=f"brique-tryton/{VERSION}",
        )
        self._currencies: dict[int, dict[str, Any]] = {}
        self._storage: dict[int, int] = {}
        self._emitted: OrderedDict[int, str] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"TrytonConnector({self.context.connection!r}, {self.config.url!r}, "
            f"{self.config.database!r})"
        )

    def close(self) -> None:
        self.rpc.close()

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """Log in, read the configured sale points and count no sale (read rights)."""
        self.rpc.login()
        try:
            if self.config.sale_points:
                found = self.rpc.search_read(
                    "sale.point", [["id", "in", list(self.config.sale_points)]], ["name"]
                )
                known = {row.get("id") for row in found}
                missing = [str(p) for p in self.config.sale_points if p not in known]
                if missing:
                    raise ConfigError(
                        f"tryton: sale.point {', '.join(missing)} not found in database "
                        f"{self.config.database!r}"
                    )
            self.rpc.call("sale.point.sale", "search_count", [[["id", "=", 0]]])
        except TrytonRefusal as exc:
            raise ConfigError(
                f"{exc} (is the sale_point module activated, and may user "
                f"{self.config.username!r} read POS sales?)"
            ) from exc

    # -- sales in -------------------------------------------------------------------------

    def streams(self) -> Sequence[str]:
        if self.config.basket_settle_seconds is None:
            return (SALES_STREAM,)
        return (SALES_STREAM, baskets.STREAM)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """Sales changed after ``cursor``, oldest first, one ``search_read`` page per call."""
        if stream == baskets.STREAM and self.config.basket_settle_seconds is not None:
            yield from self._drafts().read(cursor, self._first_since(), self._clock())
            return
        if stream != SALES_STREAM:
            raise DataError(f"tryton has no stream {stream!r}")
        if cursor:
            start = _Position.load(cursor)
            query = start
            if self.config.overlap_seconds:
                query = _Position(start.at - timedelta(seconds=self.config.overlap_seconds))
        else:
            start = _Position(self._first_since())
            query = start
        reached = start
        last_cursor: str | None = None
        size = self.config.page_size
        while True:
            records = self._query(query, size)
            fresh: list[tuple[_Position, dict[str, Any]]] = []
            rejections: list[Rejection] = []
            moved = query
            for record in records:
                try:
                    position = _position_of(record)
                except DataError as exc:
                    rejections.append(self._rejection(record, f"unreadable sale: {exc}"))
                    continue
                if position <= moved:
                    continue  # the server ignored the keyset: never go back
                moved = position
                if position <= start and self._emitted.get(position.id) == position.at.isoformat():
                    continue  # re-read by the overlap, emitted by this process already
                fresh.append((position, record))
            full = len(records) >= size
            if full and moved == query:
                raise TransientError(
                    f"tryton sale.point.sale: a full page after {query.dump()} brought no sale "
                    "after it; the server ignores the domain. Stopped instead of looping"
                )
            reached = max(reached, moved)
            events, more = self._events(fresh)
            rejections += more
            done = self._committed(fresh)
            page_cursor = reached.dump()
            changed = page_cursor != (last_cursor if last_cursor is not None else cursor)
            if changed:
                last_cursor = page_cursor
            if events or rejections or changed:
                # a page re-read inside the overlap does not move the cursor: none is given
                yield Page(events, page_cursor if changed else None, rejections, on_committed=done)
            if not full:
                return
            query = moved

    def _query(self, after: _Position, size: int) -> list[dict[str, Any]]:
        domain: list[Any] = [["state", "in", list(self.config.states)]]
        if self.config.sale_points:
            domain.append(["point", "in", list(self.config.sale_points)])
        if after.id:
            domain.append(
                [
                    "OR",
                    ["write_date", ">", after.at],
                    [["write_date", "=", after.at], ["id", ">", after.id]],
                ]
            )
        else:
            domain.append(["write_date", ">=", after.at])
        return self.rpc.search_read("sale.point.sale", domain, SALE_FIELDS, order=ORDER, limit=size)

    def _first_since(self) -> datetime:
        start = self.config.start_at
        if start is None:
            start = self._clock() - timedelta(seconds=self.config.overlap_seconds)
        return start.astimezone(UTC).replace(tzinfo=None)

    def _rejection(self, record: Mapping[str, Any], error: str) -> Rejection:
        return Rejection(
            source=f"{self.config.url} {self.config.database} sale.point.sale {record.get('id')!r}",
            error=error,
            payload=json.dumps(record, default=str, separators=(",", ":"))[:10_000],
        )

    def _committed(self, rows: list[tuple[_Position, dict[str, Any]]]) -> Callable[[], None]:
        def remember() -> None:
            for position, _record in rows:
                self._emitted[position.id] = position.at.isoformat()
                self._emitted.move_to_end(position.id)
            while len(self._emitted) > MEMORY:
                self._emitted.popitem(last=False)

        return remember

    def _events(
        self, rows: list[tuple[_Position, dict[str, Any]]]
    ) -> tuple[list[InboundEvent], list[Rejection]]:
        if not rows:
            return [], []
        ids = [position.id for position, _ in rows]
        lines: dict[int, list[dict[str, Any]]] = {}
        for line in self.rpc.search_read(
            "sale.point.sale.line", [["sale", "in", ids]], LINE_FIELDS, order=(("id", "ASC"),)
        ):
            lines.setdefault(_id(line.get("sale")), []).append(line)
        payments: dict[int, list[dict[str, Any]]] = {}
        for payment in self.rpc.search_read(
            "sale.point.payment", [["sale", "in", ids]], PAYMENT_FIELDS, order=(("id", "ASC"),)
        ):
            payments.setdefault(_id(payment.get("sale")), []).append(payment)
        self._read_currencies({_id(record.get("currency")) for _, record in rows} - {0})
        codes = baskets.sale_codes(self.rpc, ids)
        settle = self.config.basket_settle_seconds
        events: list[InboundEvent] = []
        rejections: list[Rejection] = []
        for position, record in rows:
            try:
                payload = self._payload(record, lines.get(position.id, []), payments)
                payload["basket"] = baskets.sale_basket(record, codes.get(position.id), settle)
                key = reference(payload)
                occurred = utc(payload.get("create_date"), f"sale.point.sale {position.id}")
            except DataError as exc:
                rejections.append(self._rejection(record, str(exc)))
                continue
            events.append(
                InboundEvent(key=key, kind=SALE_KIND, payload=payload, occurred_at=occurred)
            )
        return events, rejections

    def _payload(
        self,
        sale: dict[str, Any],
        lines: list[dict[str, Any]],
        payments: dict[int, list[dict[str, Any]]],
    ) -> dict[str, Any]:
        sale_id = sale["id"]
        where = f"sale.point.sale {sale_id}"
        currency = self._currencies.get(_id(sale.get("currency")))
        if currency is None:
            raise DataError(f"{where}: currency {sale.get('currency')!r} could not be read")
        point = _nested(sale, "point")
        point_id = _id(sale.get("point"))
        return {
            "id": sale_id,
            "number": _text(sale.get("number")) or None,
            "state": _text(sale.get("state")),
            "date": _iso(sale.get("date")),
            "create_date": _iso(sale.get("create_date")),
            "write_date": _iso(sale.get("write_date")),
            "store": str(point_id) if point_id else None,
            "point": {"id": point_id or None, "name": _text(point.get("name")) or None},
            "currency": currency,
            "total": number_text(sale.get("total"), f"{where} total"),
            "lines": [_line(line, where) for line in lines],
            "payments": [_payment(p, where) for p in payments.get(sale_id, [])],
        }

    def _read_currencies(self, ids: set[int]) -> None:
        missing = sorted(i for i in ids if i not in self._currencies)
        if not missing:
            return
        for row in self.rpc.search_read(
            "currency.currency", [["id", "in", missing]], ["code", "digits"]
        ):
            code = _text(row.get("code"))
            digits = row.get("digits")
            if code:
                self._currencies[_id(row.get("id"))] = {
                    "id": row.get("id"),
                    "code": code.upper(),
                    "digits": digits if isinstance(digits, int) else 2,
                }

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind == baskets.KIND:
            try:
                return [baskets.decode_draft(event.payload)]
            except DataError as exc:
                raise DataError(str(exc), record=event.key) from exc
        if event.kind != SALE_KIND:
            raise DataError(f"tryton event kind not handled: {event.kind!r}", record=event.key)
        try:
            return [decode_sale(event.payload)]
        except DataError as exc:
            raise DataError(str(exc), record=event.key) from exc

    # -- handed-off baskets (see ``baskets``) ----------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        if sink == baskets.SINK:
            return baskets.BasketSink(self.rpc, self.config.sale_points).write(batch)
        if sink == reservations.SINK:
            return reservations.write_reservations(self.rpc, batch)
        return super().write(sink, batch)

    def _drafts(self) -> baskets.DraftReader:
        def currencies(ids: set[int]) -> dict[int, dict[str, Any]]:
            self._read_currencies({_id(i) for i in ids} - {0})
            return self._currencies

        return baskets.DraftReader(
            self.rpc,
            sale_points=self.config.sale_points,
            settle_seconds=self.config.basket_settle_seconds or 0,
            overlap_seconds=self.config.overlap_seconds,
            page_size=self.config.page_size,
            read_currencies=currencies,
        )

    # -- stock ----------------------------------------------------------------------------

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """On-hand quantity (done moves) per (SKU = product code, sale point id), counted in
        the sale point's storage location and its children. A SKU Tryton does not know is
        left out of the answer."""
        wanted: dict[str, set[str]] = {}
        for sku, location in pairs:
            wanted.setdefault(location, set()).add(sku)
        self._read_storage({_point_id(loc) for loc in wanted})
        found: dict[tuple[str, str], Decimal] = {}
        for location, skus in wanted.items():
            storage = self._storage.get(_point_id(location))
            if storage is None:
                raise ConfigError(
                    f"tryton: sale point {location!r} not found or has no storage location"
                )
            for row in self.rpc.search_read(
                "product.product",
                [["code", "in", sorted(skus)]],
                ["code", "quantity"],
                context={"locations": [storage]},
            ):
                code = _text(row.get("code"))
                text = number_text(row.get("quantity"), f"product {code} quantity")
                if code in skus and text is not None:
                    found[(code, location)] = Decimal(text)
        return found

    def _read_storage(self, points: set[int]) -> None:
        missing = sorted(p for p in points if p not in self._storage)
        if not missing:
            return
        for row in self.rpc.search_read(
            "sale.point", [["id", "in", missing]], ["storage_location"]
        ):
            storage = _id(row.get("storage_location"))
            if storage:
                self._storage[_id(row.get("id"))] = storage


# -- helpers ------------------------------------------------------------------------------


def _position_of(record: Mapping[str, Any]) -> _Position:
    sale_id, written = record.get("id"), record.get("write_date")
    if isinstance(sale_id, bool) or not isinstance(sale_id, int):
        raise DataError(f"no numeric id ({sale_id!r})")
    if not isinstance(written, datetime):
        raise DataError(f"write_date {written!r} is not a datetime")
    return _Position(written.replace(tzinfo=None), sale_id)


def _line(line: Mapping[str, Any], where: str) -> dict[str, Any]:
    label = f"{where} line {line.get('id')}"
    product = _nested(line, "product")
    return {
        "id": line.get("id"),
        "product_id": _id(line.get("product")) or None,
        "sku": _text(product.get("code")) or None,
        "product_name": _text(product.get("rec_name")) or None,
        **{
            name: number_text(line.get(name), f"{label} {name}")
            for name in ("quantity", "unit_price", "unit_gross_price", "unit_list_price", "amount")
        },
    }


def _payment(payment: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {
        "id": payment.get("id"),
        "method": _text(_nested(payment, "method").get("name")) or None,
        "method_id": _id(payment.get("method")) or None,
        "amount": number_text(payment.get("amount"), f"{where} payment {payment.get('id')}"),
    }


def _nested(record: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    """A dotted read (``point.name``) comes back under ``"point."``."""
    value = record.get(f"{field}.")
    return value if isinstance(value, Mapping) else {}


def _id(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return _id(value.get("id"))
    return 0


def _point_id(location: str) -> int:
    try:
        return int(str(location).strip())
    except ValueError:
        raise ConfigError(
            f"tryton: stock location {location!r} is not a sale point id (the mapping's "
            "locations[].ids for this connection name sale.point ids)"
        ) from None


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def _iso(value: Any) -> str | None:
    if value is None or value is False or value == "":
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
