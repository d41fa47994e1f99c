"""Baskets handed to POSLog tills: suspended transactions written to the tills' import folder.

A till that reads POSLog can import a *suspended* transaction and let the cashier resume
it, the ARTS way of parking a basket (``RetailTransaction@TransactionStatus="Suspended"``,
see ``suspended``). So opening a basket (sink ``baskets``) writes one POSLog V6 document,
``brique-basket-<CODE>.xml``, into ``handoff_folder``: the store (``BusinessUnit/UnitID``
= the basket's location), ``TransactionID`` = the handoff code (what the cashier types and
what the resuming transaction's ``TransactionLink`` names), the currency, one ``Sale``
line per item (``ItemID`` = SKU, quantity, the price when Brique has one) and the customer.
No clock time goes in, so the same basket always gives the same bytes.

Files are written atomically (a hidden temporary file in the folder, then a rename), and
what was handed is remembered in ``.brique/sent/`` inside the folder (with its void, made
at the same time, so a close voids the very version the till took), so:

* opening again with the same content writes nothing, even after the till took the file;
* a changed basket replaces the file while the till has not taken it yet; once taken, the
  first version stands (a second suspended transaction with the same id would be a second
  basket at the till) and the answer says ``"picked_up": true``.

Closing removes the file when the till has not taken it (it never saw the basket);
otherwise it writes ``brique-basket-<CODE>-void.xml``, the same transaction with status
``SuspendedDeleted`` (ARTS: a suspended transaction deleted without being retrieved).
A close is remembered in ``.brique/closed/`` and is idempotent too. Whether a till that
already resumed the basket ignores the void is the till's business: a file cannot ask;
its own POSLog then carries the resume link that converts the basket.

XML is built with lxml elements (user text is always element text or attribute values,
never spliced into markup); a value XML cannot hold is a ``DataError`` for that basket.
"""

from __future__ import annotations

import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.connector import BasketWrite, WriteBatch, WriteResult
from bridge.errors import ConfigError, DataError, TransientError
from bridge.model import CustomerRef

SINK = "baskets"
NAMESPACE = "http://www.nrf-arts.org/IXRetail/namespace/"
PREFIX = "brique-basket-"
STATE_DIR = ".brique"
VOID = "SuspendedDeleted"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def file_name(code: str, *, void: bool = False) -> str:
    """``brique-basket-<CODE>.xml`` (``-void`` for the cancellation): the code must be a
    plain word, as handoff codes are, so it can never name a path."""
    if not _SAFE.match(code):
        raise DataError(f"basket {code!r}: the code cannot name a file (letters, digits, - _)")
    return f"{PREFIX}{code}{'-void' if void else ''}.xml"


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _add(parent: Any, name: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, _q(name), attrs)
    if text is not None:
        element.text = text
    return element


def document(item: BasketWrite, *, status: str = "Suspended") -> bytes:
    """The POSLog V6 document of one handed-off basket (deterministic bytes)."""
    if not item.location:
        raise DataError(f"basket {item.code}: no store to hand it to (location is empty)")
    try:
        root = etree.Element(
            _q("POSLog"),
            {"MajorVersion": "6", "MinorVersion": "0", "FixVersion": "0"},
            nsmap={None: NAMESPACE},
        )
        tx = _add(root, "Transaction")
        _add(_add(tx, "BusinessUnit"), "UnitID", item.location)
        _add(tx, "TransactionID", item.code)
        _add(tx, "CurrencyCode", item.currency)
        retail = _add(tx, "RetailTransaction", TransactionStatus=status)
        total: Decimal | None = Decimal(0)
        for number, line in enumerate(item.lines, start=1):
            entry = _add(retail, "LineItem")
            _add(entry, "SequenceNumber", str(number))
            sale = _add(entry, "Sale")
            _add(sale, "ItemID", line.sku)
            if line.unit_price is not None and total is not None:
                price = line.unit_price
                _add(sale, "ActualSalesUnitPrice", _number(price.amount), Currency=price.currency)
                amount = price.amount * line.quantity
                _add(sale, "ExtendedAmount", _number(amount), Currency=price.currency)
                total += amount
            else:
                total = None
            _add(sale, "Quantity", _number(line.quantity), UnitOfMeasureCode="EA")
        if total is not None and item.lines:
            _add(retail, "Total", _number(total), TotalType="TransactionGrandAmount")
        if item.customer is not None:
            _customer(retail, item.customer)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    except ValueError as exc:  # lxml: text that XML cannot hold (control characters)
        raise DataError(f"basket {item.code}: {exc}") from None


def _customer(retail: Any, customer: CustomerRef) -> None:
    element = _add(retail, "Customer")
    if customer.customer_id:
        _add(element, "CustomerID", customer.customer_id)
    if customer.name:
        _add(_add(element, "Name"), "FullName", customer.name)
    if customer.phone:
        _add(_add(element, "Telephone"), "FullTelephoneNumber", customer.phone)
    if customer.email:
        _add(_add(element, "EMail"), "EMailAddress", customer.email)
    if customer.loyalty_card:
        card = _add(_add(retail, "LoyaltyAccount"), "LoyaltyCard")
        _add(card, "PrimaryAccountNumber", customer.loyalty_card)


def _number(value: Decimal) -> str:
    return format(value, "f")


class HandoffFolder:
    """The tills' import folder and Brique's memory of what it put there."""

    def __init__(self, folder: Path | None) -> None:
        if folder is None:
            raise ConfigError(
                "poslog: set handoff_folder (the folder the tills import suspended "
                "transactions from) to hand baskets to the tills"
            )
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConfigError(f"poslog: handoff_folder {self.folder} is not a folder")
        self.sent = self.folder / STATE_DIR / "sent"
        self.closed = self.folder / STATE_DIR / "closed"
        try:
            self.sent.mkdir(parents=True, exist_ok=True)
            self.closed.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"poslog: handoff_folder {self.folder} is not writable: {exc}"
            ) from exc

    def write(self, batch: WriteBatch) -> WriteResult:
        result = WriteResult()
        for item in batch.items:
            if not isinstance(item, BasketWrite):
                raise ConfigError(f"poslog sink {SINK!r} takes BasketWrite, not {type(item)}")
            try:
                if item.action == "open":
                    result.observed[item.code] = self.open(item)
                else:
                    result.observed[item.code] = self.close(item)
            except DataError as exc:
                result.failed[item.code] = str(exc)
                continue
            except OSError as exc:
                raise TransientError(f"poslog handoff_folder {self.folder}: {exc}") from exc
            result.written += 1
        return result

    def open(self, item: BasketWrite) -> dict[str, Any]:
        name = file_name(item.code)
        content = document(item)
        target, memory = self.folder / name, self.sent / name
        observed = {"id": item.code, "url": None, "file": name}
        held = _read(memory)
        if held == content:
            return observed  # handed before: nothing to write, taken or not
        if held is not None and not target.exists():
            return {**observed, "picked_up": True}  # the till has the first version
        if _read(target) != content:
            _atomic_write(target, content)
        _atomic_write(memory.with_name(memory.name + ".void"), document(item, status=VOID))
        _atomic_write(memory, content)
        (self.closed / name).unlink(missing_ok=True)  # opened again after a close
        return observed

    def close(self, item: BasketWrite) -> dict[str, Any]:
        name = file_name(item.code)
        target, memory, record = self.folder / name, self.sent / name, self.closed / name
        observed: dict[str, Any] = {"id": item.code, "closed": True}
        done = _read(record)
        if done is not None:
            return {**observed, "file": done.decode() or None}
        if memory.exists() and target.exists():
            target.unlink()  # never taken: the till never saw it
            outcome = b""
        elif memory.exists():
            void = file_name(item.code, void=True)
            held = _read(memory.with_name(memory.name + ".void"))
            _atomic_write(self.folder / void, held or document(item, status=VOID))
            outcome = void.encode()
        else:
            outcome = b""  # never handed to the tills
        _atomic_write(record, outcome)
        memory.unlink(missing_ok=True)
        memory.with_name(memory.name + ".void").unlink(missing_ok=True)
        return {**observed, "file": outcome.decode() or None}


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _atomic_write(path: Path, content: bytes) -> None:
    """Write then rename, so a till scanning the folder never reads half a file (the
    temporary name is hidden and ends in ``.tmp``, outside any ``*.xml`` pattern)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
