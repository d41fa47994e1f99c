"""Sending ``returns`` writes, after the commit that queued them, and replaying refusals.

The capability is checked here, where the connector is known: a shop whose connector cannot
mark returns (``Capability.WRITE_RETURNS``) gets its row closed as ``unsupported`` with what
to do by hand, not a dead letter per return. Everything else is the outbox's: attempts,
retries of transient errors, dead letters of refusals. The sweeper re-sends a row whose
message was lost (as ``brique.send_outbox``).
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from bridge.connector import Capability, ReturnWrite
from bridge.errors import ConfigError
from bridge.returns.sink import SINK, queue
from bridge.returns.tables import StoreReturn
from bridge.store.tables import DeadLetter, InboxRow, OutboxRow
from bridge.sync import outbox
from bridge.sync.runtime import Runtime

SEND = "brique.returns_send"
"""Follow-up task: send one ``returns`` outbox row (``bridge.sync.followups``)."""


def send(rt: Runtime, outbox_id: int) -> str:
    """Send the row if its shop can mark returns; close it as ``unsupported`` otherwise."""
    with rt.sessions() as s:
        out = s.get(OutboxRow, outbox_id)
        if out is None or out.sink != SINK or out.status != "pending":
            return "missing" if out is None else out.status
        connection = out.connection
    connector = rt.connector(connection)
    if Capability.WRITE_RETURNS in connector.info.capabilities:
        return outbox.send(rt, outbox_id)
    message = (
        f"the {connector.info.name} connector cannot mark returns: mark the order returned "
        f"in {connection}'s back office (no money to move: the store refunded it)"
    )
    with rt.transaction() as s:
        out = s.get(OutboxRow, outbox_id, with_for_update=True)
        if out is None or out.status != "pending":
            return "missing" if out is None else out.status
        out.status, out.last_error = "unsupported", message
        for item in json.loads(out.payload)["items"]:
            ret = s.get(StoreReturn, item["return"])
            if ret is not None and ret.outbox_id == outbox_id:
                ret.shop_status, ret.shop_detail = "unsupported", message
    return "unsupported"


def replay_dead_letter(
    s: Session, dl: DeadLetter
) -> tuple[str, tuple[str, tuple[object, ...]] | None]:
    """Replay a ``returns`` dead letter (``deadletters.REPLAYERS``).

    A write the shop refused goes out again as a new outbox row (a new key: the platform
    remembers the refused one); the writers still find an earlier success by its marker, so
    a replay never marks twice. A return the hook could not record (``record`` =
    ``inbox:<id>``) has its inbox row processed again, which journals nothing twice."""
    if dl.record and dl.record.startswith("inbox:") and dl.ref_id is not None:
        row = s.get(InboxRow, dl.ref_id)
        if row is None:
            raise ConfigError(f"dead letter #{dl.id} points at missing inbox row {dl.ref_id}")
        row.status, row.last_error = "pending", None
        return f"inbox row {row.id} will be processed again (by the sweeper)", None
    ret = s.get(StoreReturn, dl.ref_id) if dl.ref_id is not None else None
    if ret is None or not dl.payload:
        raise ConfigError(f"dead letter #{dl.id} names no store return to mark again")
    item = json.loads(dl.payload)
    write = ReturnWrite.model_validate(item["write"])
    outbox_id = queue(s, dl.connection, ret, write, None, suffix=f"#replay-{dl.id}")
    ret.outbox_id, ret.shop_status, ret.shop_detail = outbox_id, "pending", None
    return f"return {ret.return_key} will be marked on {dl.connection} again", (SEND, (outbox_id,))
