"""Delivering events to subscribers (being written)."""

from __future__ import annotations

from typing import Any


def deliver(rt: Any, event_id: int) -> None:
    return None


def replay_dead_letter(s: Any, dl: Any) -> tuple[str, None]:
    return "nothing", None
