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

This module ties the pieces together: ``xmlsafe`` (size bound, DOCTYPE refusal), ``elements``
(local names, decimals, currencies, dates, links), ``lines``, ``tenders`` and ``customers``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, BinaryIO

from lxml import etree
from pydantic import ValidationError

from bridge.connector import Rejection
from bridge.errors import DataError
from bridge.model import Money, Sale, SaleLine, SaleStatus, Tender, TicketKey
from bridge.model.sale import LoyaltyEntry
from connectors.poslog.customers import _customer
from connectors.poslog.elements import (
    _CURRENCY,
    _child,
    _children,
    _currency_attr,
    _date,
    _datetime,
    _decimal,
    _first,
    _flag,
    _forget,
    _link,
    _local,
    _Reject,
    _store_id,
    _text,
)
from connectors.poslog.lines import LINE_BODIES, _line, _line_voided, _match_reversals
from connectors.poslog.loyalty import LOYALTY_ITEMS, loyalty_entry
from connectors.poslog.suspended import resumed_basket
from connectors.poslog.tenders import _change, _tender
from connectors.poslog.xmlsafe import _GuardedStream, _refuse_doctype

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Largest document read (64 MiB): a day of a busy till is a few MiB even with receipts."""

NAMESPACES = (
    "http://www.nrf-arts.org/IXRetail/namespace/",
    "http://www.nrf-arts.org/IXRetail/v6.0.0/poslog",
)
"""The POSLog namespaces seen in the wild. Informational: elements match by local name."""

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
    "suspendedretrieved": SaleStatus.OTHER,
}
"""``RetailTransaction@TransactionStatus`` -> status. Absent means completed; any other value
(InProcess, Failed, Subtotal...) maps to ``other``, which moves no stock. ``Suspended`` is a
parked basket (the connector reads it as one, ``suspended``); ``SuspendedRetrieved`` only
records that it was taken back, so it is no basket any more (``other``)."""

_PAYLOAD_LIMIT = 200_000


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
                    _refuse_doctype(el, self.source)
                    checked = True
                if event == "start":
                    depth += 1
                    continue
                depth -= 1
                if depth:
                    continue  # a Transaction nested in a vendor extension: part of its parent
                try:
                    item = self._transaction(el)
                finally:
                    _forget()  # before yielding: the memo must not outlive the transaction
                if item is not None:
                    yield item
                _release(el)
            root = getattr(events, "root", None)
            if not checked and root is not None:
                _refuse_doctype(root, self.source)
        except etree.XMLSyntaxError as exc:
            line, col = exc.position if exc.position else (exc.lineno or 0, exc.offset or 0)
            raise DataError(f"{self.source}:{line}:{col}: {exc.msg}") from None
        finally:
            self.stats.bytes_read = self._guard.count

    # -- transaction level

    def _transaction(self, tx: Any) -> Sale | Rejection | None:
        stats = self.stats
        stats.transactions += 1
        bodies = [c for c in tx if _local(c).endswith("Transaction")]
        stats.control += sum(1 for b in bodies if _local(b) == "ControlTransaction")
        retail = next((b for b in bodies if _local(b) == "RetailTransaction"), None)
        if retail is None:
            kind = _local(bodies[0]) if bodies else "(no body)"
            stats.skipped[kind] = stats.skipped.get(kind, 0) + 1
            return None
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
            return Rejection(
                source=f"{self.source}:{line}", error=f"{where}: {message}", payload=payload
            )
        stats.sales += 1
        for name, value in counts.items():
            setattr(stats, name, getattr(stats, name) + value)
        return sale

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
        loyalty: list[LoyaltyEntry] = []
        for position, item in enumerate(_children(retail, "LineItem"), start=1):
            body = _child(item, *LINE_BODIES)
            if body is not None:
                lines.append(_line(item, body, position, currency))
                continue
            for child in item:
                name = _local(child)
                if name == "Tender":
                    counts["tenders"] += 1
                    if not _line_voided(item):
                        tenders.extend(_tender(child, currency, counts))
                elif name == "TenderChange":
                    if not _line_voided(item):
                        tenders.extend(_change(child, None, currency, counts))
                elif name == "LoyaltyMembership" and loyalty_card is None:
                    loyalty_card = _text(child, "LoyaltyID")
                elif name in LOYALTY_ITEMS and not _line_voided(item):
                    entry = loyalty_entry(item, child, position, currency)
                    loyalty += [entry] if entry is not None else []

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
            customer=_customer(
                retail, loyalty_card or next((e.card for e in loyalty if e.card), None)
            ),
            loyalty=tuple(loyalty),
            link=_link(_first(_child(retail, "TransactionLink"), _child(tx, "TransactionLink"))),
            basket=resumed_basket(tx, retail),
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
