"""The base every canonical record derives from: strict, frozen, no unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """A canonical record. Frozen so a record seen by one step cannot be changed by another."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
