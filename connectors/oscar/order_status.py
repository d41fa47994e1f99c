"""Oscar orders whose status changed after they were read (stream ``order_statuses``).

Oscar's order has no modification time and its admin API no filter, so the ``orders``
stream reads an order once, when placed: a cancellation or a shipment set afterwards (the
dashboard's "change status") would never reach Brique. This stream reads the order list
again (newest first) down to the orders placed ``orders_recheck_days`` ago (not before
``orders_since``) and compares each one's ``status`` with what it saw at its last poll;
its cursor is that memory, as JSON ``{"<number>": "<status>"}`` of the orders in the
window. A status it has not seen for an
order is an event ``order/<number>/<status>`` carrying the whole order (its lines read
then), which Brique journals as the order's next version; the same content again (the
first sight of an order the ``orders`` stream read already) is no version.

Cost per poll: the list's pages down to the window's start; lines only for changed orders.
Each page's cursor remembers only the statuses its events (and the unchanged orders)
carry, so a crash between pages loses no change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bridge.connector import InboundEvent, Page
from bridge.errors import DataError
from connectors.oscar.client import id_from_url
from connectors.oscar.orders import ORDER, parse_time

if TYPE_CHECKING:
    from connectors.oscar.connector import OscarConnector

STREAM = "order_statuses"


def status_key(number: str, status: str) -> str:
    return f"order/{number}/{status or '-'}"


def read_statuses(
    connector: OscarConnector, cursor: str | None, *, now: datetime | None = None
) -> Iterator[Page]:
    """Orders of the window whose status changed since the cursor, oldest first."""
    memory = _load(cursor)
    horizon = (now or datetime.now(UTC)) - timedelta(days=connector.config.orders_recheck_days)
    since = connector.config.orders_since
    if since is not None:  # orders the ``orders`` stream never reads are not Brique's either
        horizon = max(horizon, since if since.tzinfo else since.replace(tzinfo=UTC))
    seen: dict[str, str] = {}
    changed: list[tuple[datetime, int, dict[str, Any]]] = []
    for order in connector.client.listing("admin/orders/", what="oscar orders"):
        placed = parse_time(order.get("date_placed"))
        order_id = id_from_url(order.get("url"))
        number = str(order.get("number") or "").strip()
        if placed is None or order_id is None or not number:
            continue
        if placed < horizon:
            break  # newest first: the rest is older than the window
        status = str(order.get("status") or "")
        seen[number] = status
        if memory.get(number) != status:
            changed.append((placed, int(order_id), order))
    changed.sort(key=lambda entry: (entry[0], entry[1]))
    told = {n: s for n, s in seen.items() if memory.get(n) == s}
    size = connector.config.page_size
    for start in range(0, len(changed), size):
        events = []
        for placed, order_id, order in changed[start : start + size]:
            payload = connector._with_lines(dict(order), str(order_id))
            number = str(order["number"]).strip()
            told[number] = seen[number]
            events.append(
                InboundEvent(
                    key=status_key(number, seen[number]),
                    kind=ORDER,
                    payload=payload,
                    occurred_at=placed,
                )
            )
        yield Page(events=events, cursor=_dump(told))
    if not changed and seen != memory:
        yield Page(events=[], cursor=_dump(seen))  # orders that left the window are forgotten


def _load(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise DataError(f"oscar {STREAM} cursor {cursor[:120]!r} is not readable")
    return {str(k): v for k, v in data.items()}


def _dump(memory: dict[str, str]) -> str:
    return json.dumps(memory, sort_keys=True, separators=(",", ":"))
