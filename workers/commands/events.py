"""``brique events``: (being written)."""

from __future__ import annotations

from typing import Any


def register(app: Any, groups: Any) -> None:
    return None
