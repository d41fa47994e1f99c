"""Stores, warehouses and online locations where stock lives."""

from __future__ import annotations

from typing import Literal

from bridge.model.base import Record
from bridge.model.types import Identifier


class Location(Record):
    """A place holding stock, named by Brique's own code (mapped to each platform's id)."""

    code: Identifier
    name: str = ""
    kind: Literal["store", "warehouse", "online"] = "store"
    region: str | None = None
    """ISO 3166 country code, used e.g. to read local phone numbers."""
