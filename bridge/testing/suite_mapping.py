"""The ``mapping`` suite: the connector's default mapping loads, and its rules round-trip.

A connector ships a default mapping (``mapping_file``) that admins start from. The suite
checks that it validates, that sample events decode once its inbound rules are applied
(as ``bridge.sync`` does), and that every field its outbound rules write and its inbound
rules read back comes back unchanged: what Brique sends is what it would read again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from bridge.connector import Connector, InboundEvent
from bridge.mapping.loader import load_plan
from bridge.mapping.plan import MappingPlan
from bridge.mapping.rules import RecordMapper
from bridge.testing.base import ContractBase, suite

_ABSENT = object()


def _get(record: Any, parts: tuple[str | int, ...]) -> Any:
    for part in parts:
        if isinstance(part, str) and isinstance(record, dict):
            record = record.get(part, _ABSENT)
        elif isinstance(part, int) and isinstance(record, list | tuple) and part < len(record):
            record = record[part]
        else:
            return _ABSENT
    return record


def round_trip_pairs(
    outbound: RecordMapper, inbound: RecordMapper
) -> list[tuple[tuple[str | int, ...], str]]:
    """(canonical path, native field) pairs written by ``outbound`` and read back by
    ``inbound`` into the same canonical path."""
    reads = {}
    for rule in inbound.fields:
        parts = getattr(rule.get, "parts", None)
        if parts is not None and len(parts) == 1 and isinstance(parts[0], str):
            reads[parts[0]] = rule.target
    pairs = []
    for rule in outbound.fields:
        parts = getattr(rule.get, "parts", None)
        if parts is None or rule.create_only or len(rule.target) != 1:
            continue
        native = rule.target[0]
        if reads.get(native) == tuple(parts):
            pairs.append((tuple(parts), native))
    return pairs


class MappingSuite(ContractBase):
    mapping_file: ClassVar[Path | str | None] = None
    """The default mapping the connector ships (e.g. ``mappings/defaults/x-y.yaml``)."""
    mapping_connection: ClassVar[str] = "contract"
    """The connection name that stands for this connector in ``mapping_file``."""

    def _plan(self) -> MappingPlan:
        if self.mapping_file is None:
            pytest.skip(
                "contract suite 'mapping': the connector ships no default mapping "
                "(set mapping_file to test it)"
            )
        return load_plan(Path(self.mapping_file))

    @suite("mapping")
    def test_default_mapping_is_valid(self) -> None:
        plan = self._plan()
        assert plan.version, "the mapping compiled to a plan without a version"
        declared = {conn for (conn, _kind, _direction) in plan.mappers}
        declared |= {conn for (conn, _loc) in plan._loc_out}
        assert self.mapping_connection in declared, (
            f"{self.mapping_file} says nothing about connection {self.mapping_connection!r}: "
            f"set mapping_connection to the name it uses ({', '.join(sorted(declared))})"
        )

    @suite("mapping")
    def test_samples_decode_through_the_inbound_rules_and_round_trip(
        self, connector: Connector, harness: Any
    ) -> None:
        plan = self._plan()
        events = [e for e in self.sample_events(connector, harness) if isinstance(e, InboundEvent)]
        if not events:
            pytest.skip("contract suite 'mapping': no sample events to map (sample_events)")
        checked = 0  # fields mapped both ways; none is fine (decoding was still checked)
        for event in events:
            payload = plan.inbound(self.mapping_connection, event.kind, event.payload)
            mapped = InboundEvent(event.key, event.kind, payload, event.occurred_at)
            bodies = connector.decode(mapped)
            assert bodies, f"event {event.key!r} decoded to nothing once mapped"
            outbound = plan.mapper(self.mapping_connection, event.kind, "outbound")
            inbound = plan.mapper(self.mapping_connection, event.kind, "inbound")
            if outbound is None or inbound is None:
                continue
            for body in bodies:
                record = _canonical(body)
                native = outbound.build(record, created=True)
                back = inbound.overlay(native)
                for path, field in round_trip_pairs(outbound, inbound):
                    before = _get(record, path)
                    if before is _ABSENT:
                        continue
                    after = _get(back, path)
                    assert after == before, (
                        f"{event.kind} {'.'.join(map(str, path))}: {before!r} went out as "
                        f"{field}={native.get(field)!r} and came back as {after!r}"
                    )
                    checked += 1


def _canonical(body: Any) -> dict[str, Any]:
    """The record inside a body (``SaleBody.sale``...) as the mapping reads it."""
    data = body.model_dump(mode="python") if isinstance(body, BaseModel) else dict(body)
    inner = [v for k, v in data.items() if k != "kind" and isinstance(v, dict)]
    return inner[0] if len(inner) == 1 else data
