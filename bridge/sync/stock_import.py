"""Import counted stock (CSV ``sku,location,quantity``) as COUNT movements in the ledger.

A count is a movement like any other: its delta brings the ledger to the counted quantity,
so the ledger stays append-only and re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bridge.errors import DataError
from bridge.model import MovementReason
from bridge.store.tables import StockMovementRow
from bridge.store.upsert import insert_ignore
from bridge.sync.apply import mark_dirty
from bridge.sync.ledger import levels, to_e4
from bridge.sync.runtime import Runtime


def import_counts(rt: Runtime, path: Path) -> int:
    """Returns the number of movements written (0 when the file was already imported)."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"sku", "location", "quantity"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
        for lineno, rec in enumerate(reader, start=2):
            try:
                qty = Decimal(rec["quantity"].strip())
            except (InvalidOperation, AttributeError):
                raise DataError(
                    f"{path}:{lineno}: quantity {rec['quantity']!r} is not a number"
                ) from None
            rows.append((rec["sku"].strip(), rec["location"].strip(), qty))
    plan = rt.mapping.plan
    shops = rt.shop_connections()
    written = 0
    touched: set[str] = set()
    with rt.transaction() as s:
        current = levels(s, [(sku, loc) for sku, loc, _ in rows])
        for sku, loc, qty in rows:
            delta = to_e4(qty) - to_e4(current[(sku, loc)].on_hand)
            new = insert_ignore(
                s,
                StockMovementRow,
                {
                    "movement_key": f"count:{digest}:{sku}:{loc}",
                    "sku": sku,
                    "location": loc,
                    "delta_e4": delta,
                    "reason": MovementReason.COUNT.value,
                    "source_ref": f"{path.name}#{digest}",
                    "mapping_version": plan.version,
                },
                ("movement_key",),
            )
            if new is not None:
                written += 1
                touched |= mark_dirty(s, plan, shops, sku, loc, f"Count/{path.name}#{digest}")
    for shop in sorted(touched):
        rt.dispatcher.push_stock(shop)
    return written
