"""The outbox sinks by name, as stored in ``outbox.sink``.

Each entry names the Sink object as ``"module:attribute"``; it is imported on first use,
so a domain adds its sink with one line and the sync layer never imports the domains.
"""

from __future__ import annotations

from importlib import import_module

from bridge.sync.outbox import Sink

SINK_OBJECTS: dict[str, str] = {
    "stock": "bridge.sync.push_stock:STOCK",
    "prices": "bridge.sync.push_prices:PRICES",
    "returns": "bridge.returns.sink:RETURNS",
    "loyalty": "bridge.loyalty.push:LOYALTY",
    "baskets": "bridge.baskets.handoff:BASKETS",
    "reservations": "bridge.orders.push:RESERVATIONS",
}


class _Sinks(dict[str, Sink]):
    def __missing__(self, name: str) -> Sink:
        module, _, attribute = SINK_OBJECTS[name].partition(":")
        sink = getattr(import_module(module), attribute)
        self[name] = sink
        return sink


SINKS: dict[str, Sink] = _Sinks()
"""Name -> Sink, loaded on demand from ``SINK_OBJECTS``."""
