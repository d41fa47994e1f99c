"""Ingress: write inbound events to the inbox, commit, then dispatch their ids.

A duplicate event key is a no-op, so replaying a file or a webhook changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

import structlog
from sqlalchemy.orm import Session

from bridge.connector import InboundEvent, Rejection, WebhookRequest
from bridge.store.tables import InboxRow, SyncCursor
from bridge.store.upsert import insert_ignore
from bridge.sync import deadletters
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass
class IngestResult:
    accepted: list[int] = field(default_factory=list)
    duplicates: int = 0
    rejected: int = 0

    def merge(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected


def _store(
    session: Session, connection: str, items: Iterable[InboundEvent | Rejection]
) -> IngestResult:
    result = IngestResult()
    for item in items:
        if isinstance(item, Rejection):
            deadletters.record(
                session,
                connection=connection,
                stage="ingest",
                error=item.error,
                record=item.source,
                payload=item.payload or None,
            )
            result.rejected += 1
            continue
        new_id = insert_ignore(
            session,
            InboxRow,
            {
                "connection": connection,
                "event_key": item.key,
                "kind": item.kind,
                "payload": json.dumps(item.payload, separators=(",", ":"), default=str),
                "occurred_at": item.occurred_at,
                "status": "pending",
                "attempts": 0,
            },
            ("connection", "event_key"),
        )
        if new_id is None:
            result.duplicates += 1
        else:
            result.accepted.append(new_id)
    return result


def poll(rt: Runtime, connection: str, stream: str) -> IngestResult:
    """Read a stream page by page; each page and its cursor commit together."""
    connector = rt.connector(connection)
    total = IngestResult()
    with rt.sessions() as s:
        saved = s.get(SyncCursor, (connection, stream))
        cursor = saved.cursor if saved else None
    for page in connector.read(stream, cursor):
        with rt.transaction() as s:
            result = _store(s, connection, [*page.events, *page.rejections])
            if page.cursor is not None:
                row = s.get(SyncCursor, (connection, stream))
                if row is None:
                    s.add(SyncCursor(connection=connection, stream=stream, cursor=page.cursor))
                else:
                    row.cursor = page.cursor
        # The rows are committed: dispatch them first, whatever happens to the source next.
        if result.accepted:
            rt.dispatcher.process_inbox(connection, result.accepted)
        if page.on_committed:
            try:
                page.on_committed()
            except OSError as exc:
                # The events are safe in the inbox; a source left behind is read again and
                # its duplicates are no-ops.
                log.warning("ack_failed", connection=connection, stream=stream, error=str(exc))
        total.merge(result)
    if total.accepted or total.rejected:
        log.info(
            "ingested",
            connection=connection,
            stream=stream,
            accepted=len(total.accepted),
            duplicates=total.duplicates,
            rejected=total.rejected,
        )
    return total


def receive_webhook(rt: Runtime, connection: str, request: WebhookRequest) -> IngestResult:
    """Verify (``AuthError`` on a bad signature), store, commit, dispatch."""
    connector = rt.connector(connection)
    connector.verify_webhook(request)
    events = connector.parse_webhook(request)
    with rt.transaction() as s:
        result = _store(s, connection, events)
    if result.accepted:
        rt.dispatcher.process_inbox(connection, result.accepted)
    return result


def ingest_document(rt: Runtime, connection: str, source: str, stream: BinaryIO) -> IngestResult:
    """Store the events of one document (e.g. ``brique ingest FILE``)."""
    connector = rt.connector(connection)
    with rt.transaction() as s:
        result = _store(s, connection, connector.parse_document(source, stream))
    if result.accepted:
        rt.dispatcher.process_inbox(connection, result.accepted)
    return result
