"""Which store fulfils a web order, and whether the shop says it shipped.

The store comes from the order itself when the shop names one Brique knows: the id read by
``orders.<shop>.store_from`` (a pickup point, a fulfilment location), else the order's own
store id (``TicketKey.store``), each mapped through ``locations[].ids`` of the shop's
connection. A store id the shop names explicitly (``store_from``) that Brique does not
know is an error to fix in the mapping; the order's generic store id (``web``) unmapped
or mapped to a pool falls back to the shop's default store (``orders.<shop>.store``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from bridge.errors import DataError
from bridge.mapping.paths import Getter, compile_path
from bridge.mapping.plan import MappingPlan
from bridge.model import Sale
from bridge.orders.spec import WebOrderSpec


@lru_cache(maxsize=256)
def _getter(expression: str) -> Getter:
    return compile_path(expression)


def _store_of(plan: MappingPlan, connection: str, native: str) -> str | None:
    """The Brique store a connection's id names; None for an unknown id or a pool."""
    try:
        code = plan.location_in(connection, native)
    except DataError:
        return None
    return None if code in plan.stock.pools else code


def named_store(spec: WebOrderSpec, native: Mapping[str, Any]) -> str | None:
    """The shop's own id of the store its order names (``store_from``), if it names one."""
    if spec.store_from is None:
        return None
    named = _getter(spec.store_from)(native)
    if named is None or isinstance(named, dict | list) or not str(named).strip():
        return None
    return str(named).strip()


def store_for(
    plan: MappingPlan,
    connection: str,
    sale: Sale,
    spec: WebOrderSpec,
    named: str | None,
) -> str:
    """The Brique location code of the store fulfilling ``sale`` (``named``: what
    ``named_store`` read); ``DataError`` naming the order when there is none (the event is
    dead-lettered, replayable once mapped)."""
    what = f"{connection} order {sale.key.transaction_id or sale.key.as_string()}"
    if named is not None:
        found = _store_of(plan, connection, named)
        if found is None:
            raise DataError(
                f"{what} is fulfilled by {connection} store {named!r} ({spec.store_from}), "
                f"which is not a store in the mapping: add it under 'locations' "
                f"(ids: {{{connection}: '{named}'}}) in {plan.source}"
            )
        return found
    found = _store_of(plan, connection, sale.key.store)
    if found is not None:
        return found
    if spec.store is not None:
        return spec.store
    raise DataError(
        f"{what}: no store fulfils it: its store id {sale.key.store!r} is not a store under "
        f"'locations' (ids: {{{connection}: ...}}) and 'orders.{connection}.store' is not set "
        f"in {plan.source}"
    )


def shipped(spec: WebOrderSpec, native: Mapping[str, Any]) -> bool:
    """Whether the shop's own order says the goods left the store."""
    return spec.fulfilled is not None and spec.fulfilled.matches(native)
