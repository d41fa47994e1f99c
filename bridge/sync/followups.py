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

FOLLOWUPS: dict[str, str] = {
    "brique.deliver_event": "bridge.events.delivery:deliver",
}


def resolve(task: str) -> Callable[..., Any]:
    """The use-case behind a follow-up task name; ``KeyError`` for an unknown one."""
    module, _, name = FOLLOWUPS[task].partition(":")
    return getattr(import_module(module), name)
