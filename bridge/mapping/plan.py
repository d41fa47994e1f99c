"""A compiled mapping: plain dict look-ups built once, used on every record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from bridge.errors import DataError
from bridge.mapping.spec import MappingSpec


@dataclass(frozen=True)
class MappingPlan:
    version: str
    """SHA-256 prefix of the mapping file: recorded on every ledger and outbox row."""
    source: str = "<empty>"
    _loc_in: dict[tuple[str, str], str] = field(default_factory=dict)
    _loc_out: dict[tuple[str, str], str] = field(default_factory=dict)
    _sku_in: dict[tuple[str, str], str] = field(default_factory=dict)
    _sku_out: dict[tuple[str, str], str] = field(default_factory=dict)
    _buffers: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def compile(cls, spec: MappingSpec, raw: bytes = b"", source: str = "<memory>") -> MappingPlan:
        loc_in, loc_out, buffers = {}, {}, {}
        for loc in spec.locations:
            buffers[loc.code] = loc.safety_buffer
            for conn, ext in loc.ids.items():
                loc_in[(conn, ext)] = loc.code
                loc_out[(conn, loc.code)] = ext
        sku_in, sku_out = {}, {}
        for conn, table in spec.skus.items():
            for native, sku in table.items():
                sku_in[(conn, native)] = sku
                sku_out[(conn, sku)] = native
        digest = hashlib.sha256(raw or spec.model_dump_json().encode()).hexdigest()[:16]
        return cls(digest, source, loc_in, loc_out, sku_in, sku_out, buffers)

    def location_in(self, connection: str, native: str) -> str:
        """Brique location code for a connection's store id; unknown -> DataError."""
        try:
            return self._loc_in[(connection, native)]
        except KeyError:
            raise DataError(
                f"{connection} location {native!r} is not mapped: add it under "
                f"'locations' (ids: {{{connection}: '{native}'}}) in {self.source}"
            ) from None

    def location_out(self, connection: str, code: str) -> str | None:
        """The connection's id for a Brique location, or None if it does not carry it."""
        return self._loc_out.get((connection, code))

    def connections_for_location(self, code: str) -> list[str]:
        return [conn for (conn, loc) in self._loc_out if loc == code]

    def sku_in(self, connection: str, native: str) -> str:
        return self._sku_in.get((connection, native), native)

    def sku_out(self, connection: str, sku: str) -> str:
        return self._sku_out.get((connection, sku), sku)

    def safety_buffer(self, code: str) -> Decimal:
        return self._buffers.get(code, Decimal(0))
