"""Follow-up use-cases the workers run by task name, with ids as arguments.

A use-case asks for one with ``rt.dispatcher.call(name, *ids)`` after its commit. Each
entry names a function ``fn(rt, *ids)`` in ``bridge``; ``workers.tasks`` registers one
Celery task per entry, so adding a follow-up never means writing Celery code, and the core
keeps not importing Celery. Every such function must be idempotent: the sweeper, a
redelivery or a duplicate request may run it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

SEND_OUTBOX = "brique.send_outbox"
"""Send one outbox row (a use-case that queued a write in its transaction asks for it)."""

FOLLOWUPS: dict[str, str] = {
    SEND_OUTBOX: "bridge.sync.outbox:send",
    "brique.deliver_event": "bridge.events.delivery:deliver",
    "brique.check_parity": "bridge.parity.scan:check_parity",
    "brique.returns_send": "bridge.returns.push:send",
    "brique.push_loyalty": "bridge.loyalty.push:push",
    "brique.loyalty_rescore": "bridge.loyalty.sales:rescore",
    "brique.basket_guard": "bridge.baskets.timers:guard_customer",
    "brique.push_reservations": "bridge.orders.push:push",
}


def resolve(task: str) -> Callable[..., Any]:
    """The use-case behind a follow-up task name; ``KeyError`` for an unknown one."""
    module, _, name = FOLLOWUPS[task].partition(":")
    return getattr(import_module(module), name)
