"""What a mapping does to real input, before anything reaches a shop: a dry run.

For each record of an input file, a preview shows the native record, the canonical record
the mapping makes of it, and what Brique would send to each shop connection, or the error
that would dead-letter it. Nothing is written: no database, no broker, no network. The
connection's connector is built from the settings only to read and decode the input.

Three kinds of input:

- a document the connection's connector reads (a POSLog file): each event is decoded as the
  workers do; a sale becomes stock movements published to the shops' locations, shown as
  deltas (absolute quantities need the ledger);
- a price list, ``*.csv`` with columns ``sku,price[,list][,currency]`` (as ``brique prices
  import``), unless the connector itself reads CSV documents: each row's channel price and
  the native fields of each shop's price rules, computed from that row's list alone (the
  referential's other lists are not read);
- a native payload, ``*.json`` (one object or a list of them) of a given kind (``sale`` by
  default), as a connector stores it in the inbox.

``diff`` compares two previews of the same input (an old and a new mapping) path by path.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.connector import Capability, Connector, ConnectorContext, InboundEvent, Rejection
from bridge.errors import ConfigError, DataError
from bridge.mapping.plan import MappingPlan
from bridge.settings import Settings

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "(absent)"})()
"""Marks a value one side of a diff does not have."""

MAX_REJECTED_PAYLOAD = 2000


@dataclass
class PreviewRecord:
    """One input record, what the mapping makes of it, and what would be sent."""

    key: str
    """The record's identity in the input (ticket key, ``sku@list``, ``file#n``); it does not
    depend on the mapping, so two previews of the same input pair up by key."""
    native: dict[str, Any]
    """The record as read from the input (before inbound rules)."""
    canonical: dict[str, Any] | None = None
    """The canonical record, JSON-ready (decimals as strings); None if it could not be made."""
    outbound: dict[str, Any] = field(default_factory=dict)
    """Shop connection -> what Brique would send it: a list of stock deltas for a sale, the
    channel price and native fields for a price (None: the channel shows no price)."""
    error: str | None = None
    """Why this record would be dead-lettered (a ``DataError``), or None."""
    notes: list[str] = field(default_factory=list)
    """What the preview could not know or did not do (e.g. only one price list known)."""
    source: str = ""
    """The input file."""

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "native": self.native,
            "canonical": self.canonical,
            "outbound": self.outbound,
            "error": self.error,
            "notes": self.notes,
        }


# -- settings ---------------------------------------------------------------------------------


def shop_connections(settings: Settings) -> list[str]:
    """Enabled connections whose connector writes stock: those Brique publishes to (the same
    rule as ``Runtime.shop_connections``, without building a runtime)."""
    from bridge import registry

    return [
        name
        for name, conn in settings.connections.items()
        if conn.enabled and Capability.WRITE_STOCK in registry.get(conn.connector).info.capabilities
    ]


def build_connector(settings: Settings, connection: str) -> Connector:
    """The connection's connector, configured from the settings, with no bindings database and
    no data folder (it only reads and decodes here). Unknown connection: ``ConfigError``."""
    from bridge import registry

    conn = settings.connection(connection)
    cls = registry.get(conn.connector).cls
    return cls.from_settings(conn.config, ConnectorContext(connection=connection))


# -- preview ----------------------------------------------------------------------------------


def preview(
    plan: MappingPlan,
    settings: Settings,
    connection: str,
    path: Path,
    *,
    kind: str = "sale",
    connector: Connector | None = None,
) -> list[PreviewRecord]:
    """Preview every record of ``path`` as read by ``connection`` through ``plan``.

    A record that cannot be mapped carries its error and the others still preview; an input
    that cannot be read at all is one record with the error. ``ConfigError`` for an unknown
    connection or one whose connector cannot read ``path``; ``OSError`` if it cannot be read.
    """
    settings.connection(connection)
    shops = shop_connections(settings)
    source = str(path)
    from bridge import registry

    suffix = path.suffix.lower()
    info = (connector or registry.get(settings.connection(connection).connector)).info
    if suffix == ".csv" and suffix not in info.document_suffixes:
        records = _price_file(plan, shops, path)
    elif connector is None:
        connector = build_connector(settings, connection)
        try:
            records = _events(plan, connector, shops, connection, path, kind)
        finally:
            connector.close()
    else:
        records = _events(plan, connector, shops, connection, path, kind)
    for record in records:
        record.source = source
    return records


def _events(
    plan: MappingPlan,
    connector: Connector,
    shops: Sequence[str],
    connection: str,
    path: Path,
    kind: str,
) -> list[PreviewRecord]:
    """Records of a document the connector reads, or of a file of native JSON payloads."""
    suffix = path.suffix.lower()
    if suffix != ".json" and type(connector).parse_document is Connector.parse_document:
        raise ConfigError(
            f"connection {connection!r} ({connector.info.name}) does not read documents: "
            "give a price list (.csv) or a native payload (.json, with its kind)"
        )
    data = path.read_bytes()
    records: list[PreviewRecord] = []
    try:
        if suffix == ".json":
            events: Iterable[InboundEvent | Rejection] = _json_events(path.name, data, kind)
        else:
            events = connector.parse_document(str(path), io.BytesIO(data))
        for event in events:
            if isinstance(event, Rejection):
                raw = event.payload[:MAX_REJECTED_PAYLOAD]
                records.append(PreviewRecord(event.source, {"payload": raw}, error=event.error))
            else:
                records.extend(_event(plan, connector, shops, connection, event))
    except DataError as exc:  # the input as a whole cannot be read
        records.append(PreviewRecord(path.name, {}, error=str(exc)))
    return records


def _json_events(name: str, data: bytes, kind: str) -> list[InboundEvent | Rejection]:
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{name}: not a JSON document: {exc}") from None
    many = isinstance(parsed, list)
    events: list[InboundEvent | Rejection] = []
    for index, payload in enumerate(parsed if many else [parsed], start=1):
        key = f"{name}#{index}" if many else name
        if isinstance(payload, dict):
            events.append(InboundEvent(key=key, kind=kind, payload=payload))
        else:
            got = type(payload).__name__
            error = f"a {kind} payload is a JSON object, got {got}"
            events.append(Rejection(key, error, json.dumps(payload)))
    return events


def _event(
    plan: MappingPlan,
    connector: Connector,
    shops: Sequence[str],
    connection: str,
    event: InboundEvent,
) -> list[PreviewRecord]:
    """Inbound rules, then the connector's decoding, then each body's use-case (as apply)."""
    native = event.payload
    try:
        mapped = plan.inbound(connection, event.kind, event.payload)
        if mapped is not event.payload:
            event = InboundEvent(event.key, event.kind, mapped, event.occurred_at)
        bodies = connector.decode(event)
    except (DataError, ValidationError) as exc:
        return [PreviewRecord(event.key, native, error=str(exc))]
    except Exception as exc:  # a bug, not bad data: show it on this record, go on
        return [PreviewRecord(event.key, native, error=_unexpected(exc))]
    if not bodies:
        return [PreviewRecord(event.key, native, notes=["the connector decodes it to nothing"])]
    records = []
    for index, body in enumerate(bodies, start=1):
        key = event.key if len(bodies) == 1 else f"{event.key}#{index}"
        record = PreviewRecord(key, native)
        try:
            _body(plan, shops, connection, body, record)
        except (DataError, ValidationError, ValueError) as exc:
            record.error, record.outbound = str(exc), {}  # dead-lettered: nothing is sent
        except Exception as exc:
            record.error, record.outbound = _unexpected(exc), {}
        records.append(record)
    return records


def _unexpected(exc: Exception) -> str:
    return (
        f"unexpected {type(exc).__name__}: {exc} (a fault in Brique or a plugin rather than in "
        "the data: the workers would not dead-letter this record, they would fail on it)"
    )


def _body(
    plan: MappingPlan, shops: Sequence[str], connection: str, body: Any, record: PreviewRecord
) -> None:
    from bridge.model import PriceBody, SaleBody, StockLevelBody

    if isinstance(body, SaleBody):
        _sale(plan, shops, connection, body.sale, record)
    elif isinstance(body, PriceBody):
        record.canonical = _dump(body.entry)
        _price(plan, shops, body.entry, record)
    elif isinstance(body, StockLevelBody):
        record.canonical = _dump(body.level)
        plan.location_in(connection, body.level.location)
        record.notes.append(
            f"a stock level reported by {connection}: Brique re-publishes its own quantity "
            "when this differs from what it last published there (needs the database)"
        )
    else:
        record.canonical = _dump(body)
        raise DataError(f"no use-case for {type(body).__name__}")


def _sale(
    plan: MappingPlan, shops: Sequence[str], connection: str, sale: Any, record: PreviewRecord
) -> None:
    """The canonical sale, and the stock it moves on each shop (as ``_apply_sale``)."""
    from bridge.sync.apply import canonical_sale
    from bridge.sync.ledger import to_e4

    sale = canonical_sale(plan, connection, sale)
    record.canonical = _dump(sale)
    if sale.channel != "store":
        record.outbound = {shop: [] for shop in shops}
        record.notes.append(f"a {sale.channel} sale moves no store stock")
        return
    location = plan.location_in(connection, sale.key.store)
    record.outbound = {shop: [] for shop in shops}
    lines = sale.stock_lines()
    if not lines:
        record.notes.append("no line moves stock (a cancelled ticket, voided lines)")
    for line in lines:
        try:
            to_e4(-line.quantity)
        except ValueError as exc:
            raise DataError(str(exc), record=f"{sale.key.as_string()} line {line.line_no}") from exc
        for shop in shops:
            for target in plan.published_locations(shop, location):
                record.outbound[shop].append(
                    {
                        "sku": line.sku,
                        "location": target,
                        "target": plan.location_out(shop, target),
                        "delta": _plain(-line.quantity),
                    }
                )
    if lines and shops:
        record.notes.append(
            "stock: each shop is sent its new available quantity at target; "
            "the preview shows the change (delta), not the quantity (that needs the ledger)"
        )


# -- prices -----------------------------------------------------------------------------------


def _price(plan: MappingPlan, shops: Sequence[str], entry: Any, record: PreviewRecord) -> None:
    """Each price channel's price for one entry, knowing only this entry's list."""
    from bridge.sync.push_prices import check_entry

    book = plan.prices
    price = entry.price
    check_entry(plan, entry)  # what the import would refuse
    known = {entry.price_list: price.amount}
    channels = [shop for shop in shops if shop in book.channels]
    for shop in channels:
        computed = plan.channel_price(shop, entry.sku, known)
        if computed is None:
            record.outbound[shop] = None
            record.notes.append(
                f"{shop}: list {entry.price_list!r} is not on the channel's list "
                f"{book.channels[shop].price_list!r} or its fallbacks; no price from this row"
            )
            continue
        fields = plan.outbound(shop, "price", computed.as_record()) or {}
        record.outbound[shop] = {
            "sku": computed.sku,
            "price": _plain(computed.price),
            "compare_at": _plain(computed.compare_at),
            "currency": computed.currency,
            "tax_included": computed.tax_included,
            "price_list": computed.price_list,
            "fields": _plain(fields),
        }
    if not channels:
        record.notes.append("no shop connection has a price channel (prices.channels)")
    else:
        record.notes.append(
            f"prices: computed from list {entry.price_list!r} alone; the referential's other "
            "lists (fallbacks, compare-at) are not read, and an unchanged price is not resent"
        )


def _price_file(plan: MappingPlan, shops: Sequence[str], path: Path) -> list[PreviewRecord]:
    """One record per CSV row, read by ``price_rows`` exactly as ``brique prices import``."""
    from bridge.sync.price_import import price_rows

    try:
        rows = list(price_rows(path, plan.prices.currency, plan.prices.tax_included))
    except DataError as exc:
        return [PreviewRecord(path.name, {}, error=str(exc))]  # names the file and line
    except (OSError, UnicodeDecodeError) as exc:
        return [PreviewRecord(path.name, {}, error=f"{path}: {exc}")]
    records = []
    for row in rows:
        sku = (row.cells.get("sku") or "").strip()
        listed = (row.cells.get("list") or "").strip() or "default"
        record = PreviewRecord(f"{sku}@{listed}" if sku else f"line {row.line}", row.cells)
        if row.entry is None:
            record.error = row.error
        else:
            record.canonical = _dump(row.entry)
            try:
                _price(plan, shops, row.entry, record)
            except DataError as exc:
                record.error, record.outbound = str(exc), {}
        records.append(record)
    return records


# -- diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str
    """Dotted path in the record, e.g. ``outbound.webshop[0].target``."""
    old: Any
    new: Any
    """``ABSENT`` when that side has no value there."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.old is not ABSENT:
            out["old"] = self.old
        if self.new is not ABSENT:
            out["new"] = self.new
        return out

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True)
class RecordDiff:
    key: str
    source: str
    changes: tuple[Change, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "changes": [c.as_json() for c in self.changes],
        }


def diff(old: Sequence[PreviewRecord], new: Sequence[PreviewRecord]) -> list[RecordDiff]:
    """One entry per record (paired by source and key, in input order) with its changes in
    ``canonical``, ``outbound`` and ``error``; an empty ``changes`` means unchanged."""
    before = _by_identity(old)
    after = _by_identity(new)
    order = list(after) + [k for k in before if k not in after]
    out = []
    for identity in order:
        a, b = before.get(identity), after.get(identity)
        if a is None or b is None:
            changes = [Change("record", _side(a), _side(b))]
        else:
            changes = []
            for part in ("canonical", "outbound", "error"):
                changes += compare(getattr(a, part), getattr(b, part), part)
        source, key = identity[0], identity[2]
        out.append(RecordDiff(key, source, tuple(changes)))
    return out


def _side(record: PreviewRecord | None) -> Any:
    if record is None:
        return ABSENT
    return {"canonical": record.canonical, "outbound": record.outbound, "error": record.error}


def _by_identity(records: Sequence[PreviewRecord]) -> dict[tuple[str, int, str], PreviewRecord]:
    """(source, occurrence, key) -> record: a key seen twice in a file is told apart."""
    seen: dict[tuple[str, str], int] = {}
    out = {}
    for record in records:
        n = seen.get((record.source, record.key), 0)
        seen[(record.source, record.key)] = n + 1
        key = record.key if n == 0 else f"{record.key} ({n + 1})"
        out[(record.source, n, key)] = record
    return out


def compare(old: Any, new: Any, path: str) -> list[Change]:
    """The leaves where two JSON-like values differ; a side missing a key or an item makes one
    change at that key or item."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in list(old) + [k for k in new if k not in old]:
            changes += compare(old.get(key, ABSENT), new.get(key, ABSENT), _join(path, key))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            a = old[index] if index < len(old) else ABSENT
            b = new[index] if index < len(new) else ABSENT
            changes += compare(a, b, f"{path}[{index}]")
        return changes
    if old is ABSENT and new is ABSENT:
        return []
    if old is not ABSENT and new is not ABSENT and type(old) is type(new) and old == new:
        return []
    return [Change(path, old, new)]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _join(path: str, key: Any) -> str:
    key = str(key)
    if _NAME.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _show(value: Any) -> str:
    return "(absent)" if value is ABSENT else json.dumps(value, ensure_ascii=False)


# -- JSON -------------------------------------------------------------------------------------


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _plain(value: Any) -> Any:
    """JSON-ready: Decimal as exact text, dates in ISO 8601, containers recursively."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, BaseModel):
        return _dump(value)
    return value
