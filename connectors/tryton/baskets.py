"""Handed-off baskets at a Tryton till: draft POS sales Brique opens and closes, and drafts
parked at the till read back as store baskets.

Where the code lives. ``sale.point.sale`` (trytond 8.2) has no reference, description or
party field, and its ``number`` is the sale point's strict fiscal sequence, given at
payment: nothing Brique may write. So the handoff code travels in an ``ir.note`` on the
draft sale, first line ``Brique basket <CODE>`` (then the customer, when known, and the
note Brique was given). The Tryton client shows a record's notes on its form (the notes
button and its unread count), and Brique finds the sale again by searching ``ir.note``.

Opening (sink ``baskets``, ``action="open"``):

1. look the code up (the note on one of the sales this API user created, else
   ``external_id``): found -> that sale, nothing created;
2. else a draft (``state = open``) sale at the sale point named by ``location`` (the
   sale point id, as for stock), lines by product ``code`` = SKU, priced by the till's own
   ``on_change_product`` (the store's price, tax as the sale point shows it), then the note.

The sale and its note are two JSON-RPC calls, two transactions: a failed note deletes the
draft again; only a crash of this process between the two calls leaves a draft without a
code (visible at the till as an unnamed open sale), and a retry then opens a second one.

Closing (``action="close"``): an open draft with nothing paid is cancelled (the ``cancel``
button, not deleted: the cashier keeps a trace and may re-open it); a done or posted sale
is never touched (it completed the basket at the till); a draft with payments is refused
(the cashier is taking it). A missing sale is closed already.

Reading: completed sales carry ``Sale.basket`` = the note's code; draft sales parked at a
till (``basket_settle_seconds`` set: untouched that long) are read by the ``baskets`` stream
as store baskets, keyed by their content, so a changed draft is a new event and a re-read
one is the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bridge.connector import BasketWrite, InboundEvent, Page, WriteBatch, WriteResult
from bridge.errors import ConfigError, DataError, TransientError
from bridge.model import Basket, BasketBody, BasketLine, BasketStatus, Money
from connectors.tryton.rpc import TrytonRefusal, TrytonRpc
from connectors.tryton.sales import SKU_PLACEHOLDER, number_text, utc

log = logging.getLogger(__name__)

SINK = "baskets"
STREAM = "baskets"
KIND = "basket"
SALE = "sale.point.sale"
NOTE_PREFIX = "Brique basket "
"""First line of the note that carries a handoff code: ``Brique basket K7M4QXZ3``."""
CANDIDATES = 1000
"""How many of its own latest sales the sink searches for a handoff code."""
DRAFT_FIELDS = ["state", "point", "currency", "create_date", "write_date"]
LINE_FIELDS = ["sale", "product", "product.code", "quantity", "unit_price"]


def resource(sale_id: int) -> str:
    """An ``ir.note`` resource (a Reference field): ``sale.point.sale,<id>``."""
    return f"{SALE},{sale_id}"


def note_code(message: Any) -> str | None:
    """The handoff code a note carries, or None when it is not a Brique handoff note."""
    if not isinstance(message, str):
        return None
    first = message.split("\n", 1)[0].strip()
    if not first.startswith(NOTE_PREFIX):
        return None
    return first[len(NOTE_PREFIX) :].strip() or None


def note_text(item: BasketWrite) -> str:
    """The note the cashier reads: the code first (what search and Brique look for)."""
    lines = [f"{NOTE_PREFIX}{item.code}"]
    customer = item.customer
    if customer is not None:
        who = [
            customer.name,
            customer.email,
            customer.phone,
            f"card {customer.loyalty_card}" if customer.loyalty_card else None,
        ]
        shown = ", ".join(str(part) for part in who if part)
        if shown:
            lines.append(f"Customer: {shown}")
    if item.note.strip():
        lines.append(item.note.strip())
    return "\n".join(lines)


def codes_of(rpc: TrytonRpc, sale_ids: Sequence[int]) -> dict[int, str]:
    """Sale id -> the handoff code its note carries (the oldest note wins)."""
    if not sale_ids:
        return {}
    wanted = {resource(i): i for i in sale_ids}
    found: dict[int, str] = {}
    for note in rpc.search_read(
        "ir.note",
        [["resource", "in", sorted(wanted)]],
        ["resource", "message"],
        order=(("id", "ASC"),),
    ):
        sale_id = wanted.get(str(note.get("resource")))
        code = note_code(note.get("message"))
        if sale_id is not None and code is not None:
            found.setdefault(sale_id, code)
    return found


def sale_codes(rpc: TrytonRpc, sale_ids: Sequence[int]) -> dict[int, str]:
    """``codes_of`` for the sales stream: a refused note read (no access to ``ir.note``)
    costs the basket link, never the sales, and says so."""
    try:
        return codes_of(rpc, sale_ids)
    except TrytonRefusal as exc:
        log.warning("tryton: handoff codes of sales not read (ir.note refused): %s", exc)
        return {}


def sale_basket(
    record: Mapping[str, Any], code: str | None, settle_seconds: int | None
) -> str | None:
    """``Sale.basket`` of a done or posted sale: the handoff code its note carries; else,
    when drafts are read as baskets, the sale's own id (the basket id its draft had) if it
    stayed open long enough to have been read as one."""
    if code:
        return code
    if settle_seconds is None:
        return None
    created, written = record.get("create_date"), record.get("write_date")
    if not isinstance(created, datetime) or not isinstance(written, datetime):
        return None
    if written - created < timedelta(seconds=settle_seconds):
        return None
    return str(record.get("id"))


# -- the sink -----------------------------------------------------------------------------


class BasketSink:
    """Opens and closes handed-off baskets as draft POS sales (see the module docstring)."""

    def __init__(self, rpc: TrytonRpc, sale_points: Sequence[int]) -> None:
        self.rpc = rpc
        self.sale_points = tuple(sale_points)

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        for item in batch.items:
            if not isinstance(item, BasketWrite):
                raise ConfigError(f"tryton sink {SINK!r} takes BasketWrite, not {type(item)}")
            try:
                if item.action == "open":
                    result.observed[item.code] = self.open(item)
                else:
                    result.observed[item.code] = self.close(item)
            except DataError as exc:
                result.failed[item.code] = str(exc)
                continue
            result.written += 1
        return result

    # -- look-up

    def find(self, item: BasketWrite) -> dict[str, Any] | None:
        """The sale opened for ``item``: by the code in its note, else by ``external_id``."""
        ids = self._by_code(item.code)
        if not ids and item.external_id:
            try:
                ids = [int(item.external_id)]
            except ValueError:
                raise DataError(
                    f"basket {item.code}: external_id {item.external_id!r} is not a {SALE} id"
                ) from None
        if not ids:
            return None
        rows = self.rpc.search_read(
            SALE, [["id", "in", ids]], ["state", "number", "amount_paid"], order=(("id", "ASC"),)
        )
        return rows[0] if rows else None

    def _by_code(self, code: str) -> list[int]:
        """Sales whose note carries ``code``. A user who is not an administrator may only
        search the notes of named records (trytond's ``check_search_access``), so the
        candidates are the last sales this user created: Brique's API user rings up no
        sale itself, so those are the drafts it opened."""
        if self.rpc.user_id is None:
            self.rpc.login()
        mine = self.rpc.search_read(
            SALE,
            [["create_uid", "=", self.rpc.user_id]],
            ["id"],
            order=(("id", "DESC"),),
            limit=CANDIDATES,
        )
        candidates = [row["id"] for row in mine if isinstance(row.get("id"), int)]
        if not candidates:
            return []
        notes = self.rpc.search_read(
            "ir.note",
            [
                ["resource", "in", [resource(i) for i in candidates]],
                ["message", "like", f"{NOTE_PREFIX}{code}%"],
            ],
            ["resource", "message"],
            order=(("id", "ASC"),),
        )
        ids = []
        for note in notes:
            model, _, ident = str(note.get("resource")).partition(",")
            if model == SALE and note_code(note.get("message")) == code and ident.isdigit():
                ids.append(int(ident))
        return ids

    # -- open

    def open(self, item: BasketWrite) -> dict[str, Any]:
        found = self.find(item)
        if found is not None:
            return {"id": str(found["id"]), "url": None, "state": found.get("state")}
        if not item.lines:
            raise DataError(f"basket {item.code}: no line to put on a draft sale")
        point = self._point(item)
        quantities = [_quantity(line.quantity, item.code, line.sku) for line in item.lines]
        products = self._products(item)
        prices: dict[int, dict[str, Any]] = {}
        lines = []
        for line, quantity in zip(item.lines, quantities, strict=True):
            product = products[line.sku]
            if product not in prices:
                prices[product] = self._price(item.code, point, product, line.sku)
            lines.append(
                {
                    "product": product,
                    "quantity": quantity,
                    "unit_gross_price": prices[product]["unit_gross_price"],
                    "unit_list_price": prices[product]["unit_list_price"],
                }
            )
        created = self.rpc.call(SALE, "create", [[{"point": point, "lines": [["create", lines]]}]])
        if not isinstance(created, list) or len(created) != 1 or not isinstance(created[0], int):
            raise TransientError(f"tryton {SALE}.create answered {str(created)[:80]!r}")
        (sale_id,) = created
        try:
            self.rpc.call(
                "ir.note", "create", [[{"resource": resource(sale_id), "message": note_text(item)}]]
            )
        except BaseException:
            self._forget(sale_id)
            raise
        return {"id": str(sale_id), "url": None, "state": "open"}

    def _forget(self, sale_id: int) -> None:
        """A draft whose note could not be written is deleted: no sale without its code."""
        try:
            self.rpc.call(SALE, "delete", [[sale_id]])
        except Exception as exc:  # the note's own error is the one to raise
            log.warning("tryton: draft sale %s left without its handoff note: %s", sale_id, exc)

    def _point(self, item: BasketWrite) -> int:
        if item.location is None:
            if len(self.sale_points) == 1:
                return self.sale_points[0]
            raise DataError(
                f"basket {item.code}: no store to open it at (location is empty and the "
                "connection does not name exactly one sale point)"
            )
        try:
            point = int(str(item.location).strip())
        except ValueError:
            raise DataError(
                f"basket {item.code}: location {item.location!r} is not a sale.point id (the "
                "mapping's locations[].ids for this connection name sale points)"
            ) from None
        if self.sale_points and point not in self.sale_points:
            raise DataError(
                f"basket {item.code}: sale point {point} is not read by this connection"
            )
        return point

    def _products(self, item: BasketWrite) -> dict[str, int]:
        skus = sorted({line.sku for line in item.lines})
        found: dict[str, int] = {}
        for row in self.rpc.search_read(
            "product.product", [["code", "in", skus]], ["code"], order=(("id", "ASC"),)
        ):
            code = row.get("code")
            if isinstance(code, str) and isinstance(row.get("id"), int):
                found.setdefault(code, row["id"])
        for sku in skus:
            if sku.startswith(SKU_PLACEHOLDER) and sku[len(SKU_PLACEHOLDER) :].isdigit():
                found.setdefault(sku, int(sku[len(SKU_PLACEHOLDER) :]))
        missing = [sku for sku in skus if sku not in found]
        if missing:
            raise DataError(f"basket {item.code}: no Tryton product with code {', '.join(missing)}")
        return found

    def _price(self, code: str, point: int, product: int, sku: str) -> dict[str, Any]:
        """The till's own price (raw RPC has no on_change: ask ``on_change_product``)."""
        context = self.rpc.context or {}
        values = {
            "product": product,
            "quantity": 1,
            "sale": -1,
            "_parent_sale.point": point,
            "_parent_sale.date": datetime.now(UTC).date(),
            "_parent_sale.company": context.get("company"),
        }
        changes = self.rpc.call("sale.point.sale.line", "on_change_product", [values])
        if not isinstance(changes, Mapping):
            raise TransientError(f"tryton on_change_product answered {str(changes)[:80]!r}")
        gross, listed = changes.get("unit_gross_price"), changes.get("unit_list_price")
        if not isinstance(gross, Decimal) or not isinstance(listed, Decimal):
            raise DataError(f"basket {code}: product {sku} has no price at sale point {point}")
        return {"unit_gross_price": gross, "unit_list_price": listed}

    # -- close

    def close(self, item: BasketWrite) -> dict[str, Any]:
        found = self.find(item)
        if found is None:
            return {"id": None, "closed": True}
        sale_id, state = found["id"], found.get("state")
        if state == "open":
            paid = found.get("amount_paid")
            if isinstance(paid, Decimal | int) and paid:
                raise DataError(
                    f"basket {item.code}: draft sale {sale_id} has payments at the till; "
                    "not cancelled (the cashier is completing it)"
                )
            self.rpc.call(SALE, "cancel", [[sale_id]])
            state = "cancelled"
        return {"id": str(sale_id), "closed": True, "state": state}


def _quantity(value: Decimal, code: str, sku: str) -> int | Decimal:
    if value <= 0:
        raise DataError(f"basket {code}: line {sku} has quantity {value}, not a positive one")
    return int(value) if value == value.to_integral_value() else value


# -- drafts parked at the till, read as store baskets -------------------------------------


def _window_dump(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _load(cursor: str) -> tuple[datetime, datetime | None, int]:
    """``{"at"}`` (read up to there) or ``{"from", "to", "id"}`` (inside a window)."""
    try:
        data = json.loads(cursor)
        if "at" in data:
            return datetime.fromisoformat(data["at"]), None, 0
        start, end = datetime.fromisoformat(data["from"]), datetime.fromisoformat(data["to"])
        last = data["id"]
        if isinstance(last, bool) or not isinstance(last, int):
            raise ValueError("id")
        return start, end, last
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"tryton: unreadable baskets cursor {cursor[:120]!r}") from exc


class DraftReader:
    """The ``baskets`` stream: draft sales changed in a time window, paged by id.

    A draft never written since its creation has no ``write_date``, so there is no single
    column to keep a keyset on: each read takes the window (last read, now - settle] of
    drafts whose last change (``write_date``, else ``create_date``) falls in it and pages it
    by id. The window is fixed for the read, so the pages neither skip nor repeat; a cursor
    inside it resumes after the last id, the last page's cursor is the window's end.
    """

    def __init__(
        self,
        rpc: TrytonRpc,
        *,
        sale_points: Sequence[int],
        settle_seconds: int,
        overlap_seconds: int,
        page_size: int,
        read_currencies: Any,
    ) -> None:
        self.rpc = rpc
        self.sale_points = tuple(sale_points)
        self.settle = timedelta(seconds=settle_seconds)
        self.overlap = timedelta(seconds=overlap_seconds)
        self.page_size = page_size
        self.read_currencies = read_currencies
        """``(ids) -> {id: {"id", "code", "digits"}}`` (the connector's currency cache)."""

    def read(self, cursor: str | None, first_since: datetime, now: datetime) -> Iterator[Page]:
        if cursor:
            start, end, after = _load(cursor)
            if end is None:
                start, end = start - self.overlap, None
        else:
            start, end, after = first_since, None, 0
        if end is None:
            end = (now.astimezone(UTC) - self.settle).replace(tzinfo=None)
            if end <= start:
                return  # nothing settled since the last read
        while True:
            rows = self.rpc.search_read(
                SALE,
                self._domain(start, end, after),
                DRAFT_FIELDS,
                order=(("id", "ASC"),),
                limit=self.page_size,
            )
            fresh = [r for r in rows if isinstance(r.get("id"), int) and r["id"] > after]
            full = len(rows) >= self.page_size
            if full and not fresh:
                raise TransientError(
                    f"tryton {SALE}: a full page of drafts after id {after} brought none after "
                    "it; the server ignores the domain. Stopped instead of looping"
                )
            events = self._events(fresh)
            if fresh:
                after = max(r["id"] for r in fresh)
            if full:
                window = {"from": start.isoformat(), "to": end.isoformat(), "id": after}
                yield Page(events, _window_dump(window))
                continue
            yield Page(events, _window_dump({"at": end.isoformat()}))
            return

    def _domain(self, start: datetime, end: datetime, after: int) -> list[Any]:
        changed_after = ["OR", ["write_date", ">", start], ["create_date", ">", start]]
        settled = [
            ["create_date", "<=", end],
            ["OR", ["write_date", "=", None], ["write_date", "<=", end]],
        ]
        domain: list[Any] = [["state", "in", ["open", "cancelled"]], changed_after, *settled]
        if self.sale_points:
            domain.append(["point", "in", list(self.sale_points)])
        if after:
            domain.append(["id", ">", after])
        return domain

    def _events(self, rows: list[dict[str, Any]]) -> list[InboundEvent]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        lines: dict[int, list[dict[str, Any]]] = {}
        for line in self.rpc.search_read(
            "sale.point.sale.line", [["sale", "in", ids]], LINE_FIELDS, order=(("id", "ASC"),)
        ):
            sale = line.get("sale")
            if isinstance(sale, int):
                lines.setdefault(sale, []).append(line)
        codes = codes_of(self.rpc, ids)
        currencies = self.read_currencies({r.get("currency") for r in rows} - {None})
        events = []
        for row in rows:
            payload = _draft_payload(
                row,
                lines.get(row["id"], []),
                codes.get(row["id"]),
                currencies.get(row.get("currency")),
            )
            if payload is None or not _worth_reading(row, payload, self.settle):
                continue
            events.append(
                InboundEvent(
                    key=draft_key(payload),
                    kind=KIND,
                    payload=payload,
                    occurred_at=utc(
                        payload.get("write_date") or payload.get("create_date"),
                        f"{SALE} {row['id']}",
                    ),
                )
            )
        return events


def _draft_payload(
    row: Mapping[str, Any],
    lines: list[dict[str, Any]],
    code: str | None,
    currency: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    where = f"{SALE} {row.get('id')}"
    out_lines = []
    for line in lines:
        product = line.get("product.")
        sku = product.get("code") if isinstance(product, Mapping) else None
        if not sku:
            sku = f"{SKU_PLACEHOLDER}{line.get('product')}"
        out_lines.append(
            {
                "sku": str(sku),
                "quantity": number_text(line.get("quantity"), f"{where} quantity"),
                "unit_price": number_text(line.get("unit_price"), f"{where} unit_price"),
            }
        )
    point = row.get("point")
    return {
        "id": row.get("id"),
        "state": row.get("state"),
        "store": str(point) if isinstance(point, int) else None,
        "currency": dict(currency) if currency else None,
        "code": code,
        "create_date": _iso(row.get("create_date")),
        "write_date": _iso(row.get("write_date")),
        "lines": out_lines,
    }


def _worth_reading(row: Mapping[str, Any], payload: Mapping[str, Any], settle: timedelta) -> bool:
    """Which drafts are baskets: one with goods and no return line; a cancelled one only if
    it could have been read open before (it stayed open ``settle``), and never one carrying
    Brique's code (Brique cancelled it, or its own lifecycle ends that basket)."""
    lines = payload["lines"]
    if not lines or any(Decimal(line["quantity"] or "0") <= 0 for line in lines):
        return False
    if row.get("state") == "open":
        return True
    if payload.get("code"):
        return False
    created, written = row.get("create_date"), row.get("write_date")
    return (
        isinstance(created, datetime)
        and isinstance(written, datetime)
        and written - created >= settle
    )


def draft_key(payload: Mapping[str, Any]) -> str:
    """``draft/<id>/<digest>``: the same draft read again is the same event; any change of
    its state, lines, prices or code is a new one."""
    content = {k: payload.get(k) for k in ("state", "store", "code", "lines")}
    digest = hashlib.sha256(_window_dump(content).encode()).hexdigest()[:16]
    return f"draft/{payload.get('id')}/{digest}"


def decode_draft(payload: Mapping[str, Any]) -> BasketBody:
    """A draft's payload -> a store basket (ACTIVE while open, EXPIRED once cancelled)."""
    where = f"{SALE} {payload.get('id')}"
    currency_info = payload.get("currency") or {}
    currency = str(currency_info.get("code") or "").upper()
    if not currency:
        raise DataError(f"{where}: no currency")
    try:
        lines = tuple(
            BasketLine(
                sku=line["sku"],
                quantity=Decimal(line["quantity"]),
                unit_price=None
                if line.get("unit_price") is None
                else Money(amount=Decimal(line["unit_price"]), currency=currency),
            )
            for line in payload.get("lines") or []
        )
        basket = Basket(
            basket_id=str(payload["id"]),
            channel="store",
            status=BasketStatus.ACTIVE if payload.get("state") == "open" else BasketStatus.EXPIRED,
            currency=currency,
            lines=lines,
            created_at=utc(payload.get("create_date"), f"{where} create_date"),
            updated_at=utc(
                payload.get("write_date") or payload.get("create_date"), f"{where} write_date"
            ),
            code=payload.get("code"),
            location=payload.get("store"),
        )
    except (ValidationError, KeyError, TypeError, ArithmeticError) as exc:
        raise DataError(f"{where}: unreadable draft ({exc})") from exc
    return BasketBody(basket=basket)


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
