"""The outbox sinks by name, as stored in ``outbox.sink``."""

from __future__ import annotations

from bridge.sync.outbox import Sink
from bridge.sync.push_prices import PRICES
from bridge.sync.push_stock import STOCK

SINKS: dict[str, Sink] = {sink.name: sink for sink in (STOCK, PRICES)}
