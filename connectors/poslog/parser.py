"""A hardened, streaming reader of ARTS POSLog (NRF IXRetail) files into canonical sales.

Why it looks like this:

* POSLog files come from tills and shared folders, so they are untrusted input. DTDs and
  entity declarations are refused twice (a byte scan of the prolog before libxml2 sees
  it, then lxml's own view of the DOCTYPE), entities are never resolved, nothing is fetched
  from the network, and the document size is bounded (``max_bytes``).
* Files can hold thousands of transactions (end-of-day exports), so ``lxml.etree.iterparse``
  hands us one ``Transaction`` at a time and each is cleared once mapped: memory stays flat.
* Producers disagree with the standard and with each other (see ``../shared/PLATFORMS.md``
  Part B 1.3): elements are matched by *local name* whatever their namespace or prefix,
  V2.x and V6 headers are both read, and vendor extensions are ignored.
* One bad transaction must not lose the others: it becomes a ``Rejection`` naming
  ``file:line`` and parsing goes on. Only XML that cannot be read at all raises ``DataError``.

Timestamps: an offset in the file is kept; a naive time (Visma, NCR ACS) stays naive unless
the caller passes ``timezone``. Guessing UTC would silently shift every Swedish sale by one
or two hours, while a naive value is visibly "till local time".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from lxml import etree
from pydantic import ValidationError

from bridge.connector import Rejection
from bridge.errors import DataError
from bridge.model import CustomerRef, Money, Sale, SaleLine, SaleStatus, Tender, TicketKey
from bridge.model.sale import TicketLink

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Largest document read (64 MiB): a day of a busy till is a few MiB even with receipts."""

NAMESPACES = (
    "http://www.nrf-arts.org/IXRetail/namespace/",
    "http://www.nrf-arts.org/IXRetail/v6.0.0/poslog",
)
"""The POSLog namespaces seen in the wild. Informational: elements match by local name."""

SALE_ITEMS = frozenset({"Sale", "SaleForDelivery", "SaleForPickup"})
RETURN_ITEMS = frozenset({"Return", "ReturnForDelivery", "ReturnForPickup"})
BARCODE_TYPES = frozenset({"GTIN", "EAN", "EAN8", "EAN13", "UPC", "UPCA", "UPCE", "ISBN"})

_STATUS = {
    "finished": SaleStatus.COMPLETED,
    "tendered": SaleStatus.COMPLETED,
    "totaled": SaleStatus.COMPLETED,
    "delivered": SaleStatus.COMPLETED,
    "canceled": SaleStatus.CANCELLED,
    "cancelled": SaleStatus.CANCELLED,
    "suspendeddeleted": SaleStatus.CANCELLED,
    "voided": SaleStatus.VOIDED,
    "transactionvoided": SaleStatus.VOIDED,
    "postvoided": SaleStatus.VOIDED,
    "suspended": SaleStatus.SUSPENDED,
    "suspendedretrieved": SaleStatus.SUSPENDED,
}
"""``RetailTransaction@TransactionStatus`` -> status. Absent means completed; any other value
(InProcess, Failed, Subtotal...) maps to ``other``, which moves no stock."""

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PAYLOAD_LIMIT = 200_000
_PROLOG_SCAN_LIMIT = 1024 * 1024
_READ_CHUNK = 64 * 1024


@dataclass
class ParseStats:
    """What one document held; filled while iterating, complete once iteration ends."""

    transactions: int = 0
    """``Transaction`` elements read."""
    retail: int = 0
    """Transactions with a ``RetailTransaction`` body (each becomes a Sale or a Rejection)."""
    control: int = 0
    """``ControlTransaction`` elements, including those Visma appends to a retail one."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Transactions without a retail body, by body type (e.g. ``ControlTransaction``)."""
    sales: int = 0
    rejected: int = 0
    lines: int = 0
    """Item lines (Sale*/Return*) in the sales produced."""
    returns: int = 0
    """Item lines read as returns (a Return element or a negative sale)."""
    voided_lines: int = 0
    """Lines flagged void/cancel/delete by the till."""
    reversed_lines: int = 0
    """Unflagged lines cancelled by a later flagged negative line (NCR ACS line voids)."""
    tenders: int = 0
    """``Tender`` line items in the sales produced (rounding-only ones included)."""
    tender_changes: int = 0
    """Change given back (``TenderChange``), emitted as refund tenders."""
    statuses: Counter[str] = field(default_factory=Counter)
    """Raw ``TransactionStatus`` values seen, to spot producers' unmapped statuses."""
    bytes_read: int = 0


class _Reject(Exception):
    """One transaction cannot become a Sale; carries the element to name its line."""

    def __init__(self, message: str, element: Any = None) -> None:
        super().__init__(message)
        self.element = element


# --------------------------------------------------------------------------- input guard


class _GuardedStream:
    """File-like wrapper: bounds the size and refuses a DOCTYPE before libxml2 parses it."""

    def __init__(self, raw: BinaryIO, source: str, max_bytes: int) -> None:
        self._raw = raw
        self._source = source
        self._max = max_bytes
        self._head = b""
        self._prolog_pending = True
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = _READ_CHUNK
        data = self._raw.read(min(size, self._max - self.count + 1))
        if not isinstance(data, bytes | bytearray):
            raise DataError(f"{self._source}: expected a binary stream")
        self.count += len(data)
        if self.count > self._max:
            raise DataError(
                f"{self._source}: document larger than max_bytes={self._max}; refused unread"
            )
        if self._prolog_pending and data:
            self._head += data
            self._scan_prolog()
        return bytes(data)

    def _scan_prolog(self) -> None:
        """Walk the prolog (XML declaration, PIs, comments) up to the root start tag."""
        text = _decode_head(self._head)
        pos = 0
        while True:
            lt = text.find("<", pos)
            if lt < 0 or len(text) < lt + 4:
                break
            if text.startswith("<?", lt):
                end = text.find("?>", lt + 2)
                if end < 0:
                    break
                pos = end + 2
            elif text.startswith("<!--", lt):
                end = text.find("-->", lt + 4)
                if end < 0:
                    break
                pos = end + 3
            elif text.startswith("<!", lt):
                line = text.count("\n", 0, lt) + 1
                raise DataError(
                    f"{self._source}:{line}: DOCTYPE/ENTITY declarations are refused "
                    "(entity expansion and external entities are not allowed in POSLog)"
                )
            else:
                self._prolog_pending = False
                self._head = b""
                return
        if len(self._head) > _PROLOG_SCAN_LIMIT:
            # Absurdly long prolog: stop scanning; the lxml-level check still applies.
            self._prolog_pending = False
            self._head = b""


def _decode_head(head: bytes) -> str:
    """Decode the prolog well enough to find markup; Latin-1 keeps ASCII-based encodings."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "ignore")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", "ignore")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", "ignore")
    return head.decode("latin-1")


# --------------------------------------------------------------------------- element helpers


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(el: Any, *names: str) -> Any:
    """First direct child whose local name is one of ``names`` (any namespace)."""
    if el is None:
        return None
    for child in el:
        if _local(child) in names:
            return child
    return None


def _first(*elements: Any) -> Any:
    """First element that is not None (an lxml element without children is falsy)."""
    return next((el for el in elements if el is not None), None)


def _children(el: Any, *names: str) -> list[Any]:
    if el is None:
        return []
    return [child for child in el if _local(child) in names]


def _text(el: Any, *path: str) -> str | None:
    """Stripped text at a path of local names below ``el``; None when absent or blank."""
    for name in path:
        el = _child(el, name)
        if el is None:
            return None
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def _flag(el: Any, name: str) -> bool:
    value = el.get(name) if el is not None else None
    return value is not None and value.strip().lower() in ("true", "1")


def _decimal(el: Any, what: str) -> Decimal:
    """Exact Decimal from an element's text; floats never touch a POS amount."""
    raw = (el.text or "").strip() if el is not None else ""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _Reject(f"{what}: {raw!r} is not a decimal number", el) from None
    if not value.is_finite():
        raise _Reject(f"{what}: {raw!r} is not a finite number", el)
    return value


def _currency_attr(el: Any) -> str | None:
    """``@Currency``/``@CurrencyCode`` when it is a real ISO code (roqqio writes "XXX")."""
    if el is None:
        return None
    for name in ("Currency", "CurrencyCode"):
        value = (el.get(name) or "").strip().upper()
        if _CURRENCY.match(value) and value != "XXX":
            return value
    return None


def _datetime(el: Any, tz: tzinfo | None) -> datetime | None:
    if el is None or not (el.text or "").strip():
        return None
    raw = el.text.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _Reject(f"{_local(el)}: {raw!r} is not an ISO date-time", el) from None
    if value.tzinfo is None and tz is not None:
        value = value.replace(tzinfo=tz)
    return value


def _date(el: Any) -> date | None:
    if el is None or not (el.text or "").strip():
        return None
    raw = el.text.strip()
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise _Reject(f"{_local(el)}: {raw!r} is not an ISO date", el) from None


def _store_id(el: Any) -> str | None:
    """V6 ``BusinessUnit/UnitID``, V2.x ``RetailStoreID``."""
    return _text(el, "BusinessUnit", "UnitID") or _text(el, "RetailStoreID")


# --------------------------------------------------------------------------- the parser


class PosLogReader(Iterator[Sale | Rejection]):
    """Iterator over the sales (and rejections) of one document; ``stats`` once exhausted."""

    def __init__(
        self,
        stream: BinaryIO,
        source: str,
        *,
        default_currency: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timezone: tzinfo | None = None,
    ) -> None:
        self.source = source
        self.stats = ParseStats()
        self._default_currency = default_currency.strip().upper() if default_currency else None
        self._tz = timezone
        self._guard = _GuardedStream(stream, source, max_bytes)
        self._items = self._run()

    def __iter__(self) -> PosLogReader:
        return self

    def __next__(self) -> Sale | Rejection:
        return next(self._items)

    # -- document level

    def _run(self) -> Iterator[Sale | Rejection]:
        events = etree.iterparse(
            self._guard,
            events=("start", "end"),
            tag="{*}Transaction",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        depth = 0
        checked = False
        try:
            for event, el in events:
                if not checked:
                    self._refuse_doctype(el)
                    checked = True
                if event == "start":
                    depth += 1
                    continue
                depth -= 1
                if depth:
                    continue  # a Transaction nested in a vendor extension: part of its parent
                yield from self._transaction(el)
                _release(el)
            root = getattr(events, "root", None)
            if not checked and root is not None:
                self._refuse_doctype(root)
        except etree.XMLSyntaxError as exc:
            line, col = exc.position if exc.position else (exc.lineno or 0, exc.offset or 0)
            raise DataError(f"{self.source}:{line}:{col}: {exc.msg}") from None
        finally:
            self.stats.bytes_read = self._guard.count

    def _refuse_doctype(self, el: Any) -> None:
        """Second gate: whatever the encoding, lxml knows whether a DOCTYPE was there."""
        docinfo = el.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            root = el.getroottree().getroot()
            line = root.sourceline if root is not None else el.sourceline
            raise DataError(
                f"{self.source}:{line}: DOCTYPE/ENTITY declarations are refused "
                "(entity expansion and external entities are not allowed in POSLog)"
            )

    # -- transaction level

    def _transaction(self, tx: Any) -> Iterator[Sale | Rejection]:
        stats = self.stats
        stats.transactions += 1
        bodies = [c for c in tx if _local(c).endswith("Transaction")]
        stats.control += sum(1 for b in bodies if _local(b) == "ControlTransaction")
        retail = next((b for b in bodies if _local(b) == "RetailTransaction"), None)
        if retail is None:
            kind = _local(bodies[0]) if bodies else "(no body)"
            stats.skipped[kind] = stats.skipped.get(kind, 0) + 1
            return
        stats.retail += 1
        try:
            sale, counts = self._sale(tx, retail)
        except (_Reject, ValidationError, ValueError) as exc:
            stats.rejected += 1
            element = exc.element if isinstance(exc, _Reject) and exc.element is not None else tx
            line = element.sourceline or tx.sourceline
            where = f"transaction #{stats.transactions} at line {tx.sourceline}"
            key = _text(tx, "TransactionID") or _text(tx, "SequenceNumber")
            if key:
                where += f" ({key})"
            message = _validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
            payload = etree.tostring(tx, encoding="unicode", with_tail=False)[:_PAYLOAD_LIMIT]
            yield Rejection(
                source=f"{self.source}:{line}", error=f"{where}: {message}", payload=payload
            )
            return
        stats.sales += 1
        for name, value in counts.items():
            setattr(stats, name, getattr(stats, name) + value)
        yield sale

    def _sale(self, tx: Any, retail: Any) -> tuple[Sale, Counter[str]]:
        counts: Counter[str] = Counter()
        store = _store_id(tx)
        if store is None:
            raise _Reject("no store: expected BusinessUnit/UnitID or RetailStoreID", tx)
        key = TicketKey(
            store=store,
            workstation=_text(tx, "WorkstationID"),
            business_day=_date(_child(tx, "BusinessDayDate")),
            sequence=_text(tx, "SequenceNumber"),
            transaction_id=_text(tx, "TransactionID"),
        )
        currency = self._sale_currency(tx)
        occurred_at = None
        for name in ("EndDateTime", "POSLogDateTime", "BeginDateTime"):
            occurred_at = _datetime(_child(tx, name), self._tz)
            if occurred_at is not None:
                break

        raw_status = retail.get("TransactionStatus")
        self.stats.statuses[raw_status or "(absent)"] += 1
        if _flag(tx, "TrainingModeFlag"):
            status = SaleStatus.TRAINING
        elif _flag(tx, "CancelFlag"):
            status = SaleStatus.CANCELLED
        elif not raw_status:
            status = SaleStatus.COMPLETED
        else:
            status = _STATUS.get(raw_status.rpartition(":")[2].strip().lower(), SaleStatus.OTHER)

        lines: list[dict[str, Any]] = []
        tenders: list[Tender] = []
        loyalty_card: str | None = None
        for position, item in enumerate(_children(retail, "LineItem"), start=1):
            body = next((c for c in item if _local(c) in SALE_ITEMS | RETURN_ITEMS), None)
            if body is not None:
                lines.append(self._line(item, body, position, currency))
                continue
            for child in item:
                name = _local(child)
                if name == "Tender":
                    counts["tenders"] += 1
                    if not _line_voided(item):
                        tenders.extend(self._tender(child, currency, counts))
                elif name == "TenderChange":
                    if not _line_voided(item):
                        tenders.extend(self._change(child, None, currency, counts))
                elif name == "LoyaltyMembership" and loyalty_card is None:
                    loyalty_card = _text(child, "LoyaltyID")

        counts["reversed_lines"] += _match_reversals(lines)
        sale_lines = []
        for data in lines:
            counts["lines"] += 1
            counts["returns"] += bool(data["is_return"])
            counts["voided_lines"] += bool(data.pop("_flagged"))
            element = data.pop("_element")
            try:
                sale_lines.append(SaleLine(**data))
            except ValidationError as exc:
                message = f"LineItem {data['line_no']}: {_validation_message(exc)}"
                raise _Reject(message, element) from None

        total = None
        for el in _children(retail, "Total"):
            if (el.get("TotalType") or "").strip() == "TransactionGrandAmount":
                total = Money(amount=_decimal(el, "Total"), currency=_currency_attr(el) or currency)
                break

        sale = Sale(
            key=key,
            status=status,
            occurred_at=occurred_at,
            currency=currency,
            lines=tuple(sale_lines),
            tenders=tuple(tenders),
            total=total,
            customer=_customer(retail, loyalty_card),
            link=_link(_first(_child(retail, "TransactionLink"), _child(tx, "TransactionLink"))),
        )
        return sale, counts

    def _sale_currency(self, tx: Any) -> str:
        """Transaction CurrencyCode, else the first real currency attribute, else the default."""
        code = (_text(tx, "CurrencyCode") or "").upper()
        if _CURRENCY.match(code) and code != "XXX":
            return code
        for el in tx.iter():
            found = _currency_attr(el) if isinstance(el.tag, str) else None
            if found:
                return found
        if self._default_currency:
            return self._default_currency
        raise _Reject("no currency in the transaction and no default_currency configured", tx)

    # -- line level

    def _line(self, item: Any, body: Any, position: int, currency: str) -> dict[str, Any]:
        line_no = _text(item, "SequenceNumber") or str(position)
        where = f"LineItem {line_no}"
        sku, barcode = _identity(body)
        if sku is None:
            raise _Reject(f"{where}: no ItemID or POSIdentity/POSItemID", body)

        quantity_el = _child(body, "Quantity")
        # @Units is not a multiplier in practice: Retalix repeats the quantity there and
        # Visma writes Units="0.00"; multiplying would zero or square real quantities.
        quantity = Decimal(1)  # ARTS: Quantity is optional and defaults to one
        if quantity_el is not None:
            quantity = _decimal(quantity_el, f"{where} Quantity")
        unit = None
        if quantity_el is not None:
            unit = (quantity_el.get("UnitOfMeasureCode") or "").strip() or None

        flagged = _line_voided(item)
        is_return = _local(body) in RETURN_ITEMS
        if is_return:
            quantity = quantity.copy_abs().copy_negate()  # exact: no context rounding
        elif quantity < 0:
            is_return = True  # roqqio & co. write returns as negative sales

        def money(name: str) -> Money | None:
            el = _child(body, name)
            if el is None or not (el.text or "").strip():
                return None
            return Money(
                amount=_decimal(el, f"{where} {name}"), currency=_currency_attr(el) or currency
            )

        discount = money("ExtendedDiscountAmount")
        if discount is None or discount.amount == 0:
            discount = _modifiers(body, where, currency) or discount
        if discount is not None and discount.amount == 0:
            discount = None

        # roqqio leaves Description out and names the item in ItemID/@Name.
        item_id_el = _child(body, "ItemID")
        description = _text(body, "Description") or ""
        if not description and item_id_el is not None:
            description = (item_id_el.get("Name") or "").strip()
        link_el = _first(_child(body, "TransactionLink"), _child(item, "TransactionLink"))
        amount = money("ExtendedAmount")
        if amount is not None and is_return:
            # Producers write a return's ExtendedAmount unsigned (roqqio: quantity -1,
            # amount 2.990, total -2.990); the canonical line's amount follows its quantity.
            amount = Money(amount=amount.amount.copy_abs().copy_negate(), currency=amount.currency)
        return {
            "line_no": line_no,
            "sku": sku,
            "quantity": quantity,
            "unit_price": money("ActualSalesUnitPrice") or money("RegularSalesUnitPrice"),
            "amount": amount,
            "discount": discount,
            "description": description,
            "barcode": barcode,
            "unit": unit,
            "is_return": is_return,
            "voided": flagged,
            "link": _link(link_el),
            "_flagged": flagged,
            "_element": body,
        }

    # -- tenders

    def _tender(self, el: Any, currency: str, counts: Counter[str]) -> list[Tender]:
        kind = (el.get("TenderType") or "").strip()
        refund = (el.get("TypeCode") or "").strip().lower() == "refund"
        result: list[Tender] = []
        amount_el = _child(el, "Amount")
        if amount_el is not None and (amount_el.text or "").strip():
            result.append(
                Tender(
                    kind=kind or "unknown",
                    amount=Money(
                        amount=_decimal(amount_el, "Tender Amount"),
                        currency=_currency_attr(amount_el) or _currency_attr(el) or currency,
                    ),
                    refund=refund,
                )
            )
        elif not kind:
            # Visma: <Tender><Rounding RoundingDirection="Up">0.12</Rounding></Tender>. Cash
            # was rounded up, so the customer paid 0.12 more than the ticket: record -0.12
            # so tenders still add up to what the ticket cost.
            rounding = _child(el, "Rounding")
            if rounding is not None and (rounding.text or "").strip():
                value = _decimal(rounding, "Tender Rounding")
                up = (rounding.get("RoundingDirection") or "").strip().lower() == "up"
                result.append(
                    Tender(
                        kind="rounding",
                        amount=Money(
                            amount=value.copy_negate() if up else value,
                            currency=_currency_attr(rounding) or currency,
                        ),
                    )
                )
        paid = result[0].amount.amount if result and result[0].kind != "rounding" else None
        for change in _children(el, "TenderChange"):
            changes = self._change(change, kind, currency, Counter())
            if paid is not None and (paid < 0 or any(c.amount.amount == paid for c in changes)):
                # NCR ACS writes the change as its own negative Tender and repeats it in a
                # nested TenderChange: an echo, not a second movement of cash.
                continue
            counts["tender_changes"] += len(changes)
            result.extend(changes)
        return result

    def _change(
        self, el: Any, kind: str | None, currency: str, counts: Counter[str]
    ) -> list[Tender]:
        """Change handed back, possibly nested (roqqio: TenderChange/TenderChange/Amount)."""
        kind = (el.get("TenderType") or "").strip() or kind
        result: list[Tender] = []
        amount_el = _child(el, "Amount")
        if amount_el is not None and (amount_el.text or "").strip():
            counts["tender_changes"] += 1
            result.append(
                Tender(
                    kind=kind or "Cash",
                    amount=Money(
                        amount=_decimal(amount_el, "TenderChange Amount"),
                        currency=_currency_attr(amount_el) or currency,
                    ),
                    refund=True,
                )
            )
        for inner in _children(el, "TenderChange"):
            result.extend(self._change(inner, kind, currency, counts))
        return result


def _line_voided(item: Any) -> bool:
    return any(_flag(item, f) for f in ("VoidFlag", "CancelFlag", "DeleteFlag"))


def _identity(body: Any) -> tuple[str | None, str | None]:
    """(sku, barcode) of an item line.

    The SKU is ``ItemID``, unless the ItemID is typed as a barcode and a non-barcode
    ``POSIdentity`` exists (Retalix: ``ItemID Type="X:EAN"`` is the scanned code and
    ``POSItemID`` the item code); without ItemID it is the first non-barcode POSIdentity
    (Visma: ``RSID`` next to ``GTIN``), else any POSIdentity. The barcode is the POSIdentity
    whose ``POSIDType`` names a barcode (GTIN/EAN/UPC), else a barcode-typed ItemID.
    """
    item_id_el = _child(body, "ItemID")
    item_id = _text(body, "ItemID")
    item_id_type = ""
    if item_id_el is not None:
        item_id_type = (item_id_el.get("Type") or "").rpartition(":")[2].strip().upper()
    identities = []
    for ident in _children(body, "POSIdentity"):
        value = _text(ident, "POSItemID")
        if value:
            kind = (ident.get("POSIDType") or "").rpartition(":")[2].strip().upper()
            identities.append((kind, value))
    barcode = next((v for k, v in identities if k in BARCODE_TYPES), None)
    item_id_is_barcode = item_id is not None and item_id_type in BARCODE_TYPES
    if barcode is None and item_id_is_barcode:
        barcode = item_id
    item_code = next((v for k, v in identities if k not in BARCODE_TYPES), None)
    if item_id is not None and not (item_id_is_barcode and item_code is not None):
        return item_id, barcode
    if item_code is not None:
        return item_code, barcode
    return (identities[0][1] if identities else None), barcode


def _modifiers(body: Any, where: str, currency: str) -> Money | None:
    """Sum of RetailPriceModifier amounts: Subtract is a discount, Add a surcharge."""
    total: Decimal | None = None
    found_currency = None
    for modifier in _children(body, "RetailPriceModifier"):
        amount_el = _child(modifier, "Amount")
        if amount_el is None or not (amount_el.text or "").strip():
            continue
        value = _decimal(amount_el, f"{where} RetailPriceModifier")
        action = (amount_el.get("Action") or modifier.get("Action") or "Subtract").lower()
        value = value.copy_negate() if action == "add" else value
        total = value if total is None else total + value
        found_currency = found_currency or _currency_attr(amount_el)
    if total is None:
        return None
    return Money(amount=total, currency=found_currency or currency)


def _match_reversals(lines: list[dict[str, Any]]) -> int:
    """Void the line a flagged negative line cancels; return how many were found.

    NCR ACS voids a line by appending a ``VoidFlag="true"`` line with the opposite quantity
    and amount; the original stays unflagged. Ignoring only the flagged line would sell the
    item anyway, so the latest earlier line with the same SKU and opposite quantity is
    voided too, and the reversal itself is not a customer return.
    """
    matched = 0
    for index, line in enumerate(lines):
        if not line["_flagged"] or line["quantity"] >= 0 or line["_element"] is None:
            continue
        if _local(line["_element"]) in RETURN_ITEMS:
            continue
        wanted = line["quantity"].copy_negate()
        for earlier in reversed(lines[:index]):
            if (
                not earlier["voided"]
                and earlier["sku"] == line["sku"]
                and earlier["quantity"] == wanted
            ):
                earlier["voided"] = True
                line["is_return"] = False
                matched += 1
                break
    return matched


def _link(el: Any) -> TicketLink | None:
    """TransactionLink -> pointer to the original ticket (returns, post-voids)."""
    if el is None:
        return None
    link = TicketLink(
        store=_store_id(el),
        workstation=_text(el, "WorkstationID"),
        business_day=_date(_child(el, "BusinessDayDate")),
        sequence=_text(el, "SequenceNumber"),
        transaction_id=_text(el, "TransactionID"),
        line=_text(el, "LineItemSequenceNumber"),
    )
    return link if link.model_dump(exclude_none=True) else None


def _customer(retail: Any, loyalty_card: str | None) -> CustomerRef | None:
    customer = _child(retail, "Customer")
    loyalty = _first(_child(retail, "LoyaltyAccount"), _child(customer, "LoyaltyAccount"))
    values: dict[str, str | None] = {
        "customer_id": _text(customer, "CustomerID") or _text(loyalty, "CustomerID"),
        "loyalty_card": _text(loyalty, "LoyaltyCard", "PrimaryAccountNumber") or loyalty_card,
        "email": None,
        "phone": None,
        "name": _name(_child(customer, "Name")),
    }
    if customer is not None:
        for el in customer.iter():
            name = _local(el)
            text = (el.text or "").strip() if isinstance(el.tag, str) else ""
            if not text:
                continue
            if values["email"] is None and name in ("EMailAddress", "EmailAddress", "EMail"):
                values["email"] = text if "@" in text else None
            elif values["phone"] is None and name in (
                "FullTelephoneNumber",
                "TelephoneNumber",
                "PhoneNumber",
            ):
                values["phone"] = text
    if not any(values.values()):
        return None
    return CustomerRef(**values)


def _name(el: Any) -> str | None:
    if el is None:
        return None
    for tag in ("OfficialName", "FullName"):
        value = _text(el, tag)
        if value:
            return value
    parts = [
        _text(el, tag)
        for tag in ("GivenName", "FirstName", "MiddleName", "FamilyName", "LastName", "Surname")
    ]
    joined = " ".join(p for p in parts if p)
    return joined or ((el.text or "").strip() or None)


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


def _release(el: Any) -> None:
    """Drop a mapped Transaction and everything before it, so memory stays flat."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    if parent is None:
        return
    while el.getprevious() is not None:
        del parent[0]


def parse(
    stream: BinaryIO,
    source: str,
    *,
    default_currency: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timezone: tzinfo | None = None,
) -> PosLogReader:
    """Read one POSLog document; iterate the result for ``Sale | Rejection``.

    ``source`` names the document in rejections and errors (``file.xml:LINE``). The returned
    reader's ``stats`` are complete once it is exhausted. Unreadable XML, a DOCTYPE or a
    document over ``max_bytes`` raise ``DataError`` while iterating.
    """
    return PosLogReader(
        stream,
        source,
        default_currency=default_currency,
        max_bytes=max_bytes,
        timezone=timezone,
    )
