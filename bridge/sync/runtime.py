"""What a use-case needs in one process: settings, database, mapping, connectors, dispatcher.

The dispatcher is how a use-case asks for follow-up work *after* its commit. Workers give a
Celery-backed one; tests and ``brique inspect`` give in-process ones. bridge never imports
Celery.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bridge import registry
from bridge.connector import Capability, Connector, ConnectorContext
from bridge.mapping.loader import MappingHolder
from bridge.settings import Settings
from bridge.store import db
from bridge.store.tables import Binding


class Dispatcher(Protocol):
    """Follow-up work, carried as ids. Called only after the transaction that made it."""

    def process_inbox(self, connection: str, inbox_ids: Sequence[int]) -> None: ...

    def push_stock(self, connection: str, delay: float = 0.0) -> None: ...

    def push_prices(self, connection: str, delay: float = 0.0) -> None: ...

    def send_outbox(self, connection: str, outbox_id: int, delay: float = 0.0) -> None: ...

    def call(
        self, task: str, *args: object, connection: str | None = None, delay: float = 0.0
    ) -> None:
        """Any other follow-up task by name (``brique.deliver_event``), with id arguments;
        ``connection`` picks that connection's queue when the installation splits them."""


class NullDispatcher:
    """Records requests without running them (the sweeper finds the work later)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def process_inbox(self, connection: str, inbox_ids: Sequence[int]) -> None:
        self.calls.append(("process_inbox", (connection, tuple(inbox_ids))))

    def push_stock(self, connection: str, delay: float = 0.0) -> None:
        self.calls.append(("push_stock", (connection,)))

    def push_prices(self, connection: str, delay: float = 0.0) -> None:
        self.calls.append(("push_prices", (connection,)))

    def send_outbox(self, connection: str, outbox_id: int, delay: float = 0.0) -> None:
        self.calls.append(("send_outbox", (connection, outbox_id)))

    def call(
        self, task: str, *args: object, connection: str | None = None, delay: float = 0.0
    ) -> None:
        self.calls.append((task, args))


class DbBindings:
    """The binding table as a connector sees it, cached per process (bindings rarely change)."""

    def __init__(self, sessions: sessionmaker[Session], connection: str) -> None:
        self._sessions = sessions
        self._connection = connection
        self._cache: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_external(self, entity: str, internal_id: str) -> str | None:
        key = (entity, internal_id)
        if key in self._cache:
            return self._cache[key]
        with self._sessions() as s:
            found = s.scalar(
                select(Binding.external_id).where(
                    Binding.connection == self._connection,
                    Binding.entity == entity,
                    Binding.internal_id == internal_id,
                )
            )
        if found is not None:
            with self._lock:
                self._cache[key] = found
        return found

    def get_internal(self, entity: str, external_id: str) -> str | None:
        with self._sessions() as s:
            return s.scalar(
                select(Binding.internal_id).where(
                    Binding.connection == self._connection,
                    Binding.entity == entity,
                    Binding.external_id == external_id,
                )
            )

    def put(self, entity: str, internal_id: str, external_id: str) -> None:
        with db.transaction(self._sessions) as s:
            row = s.scalar(
                select(Binding).where(
                    Binding.connection == self._connection,
                    Binding.entity == entity,
                    Binding.internal_id == internal_id,
                )
            )
            if row is None:
                s.add(
                    Binding(
                        connection=self._connection,
                        entity=entity,
                        internal_id=internal_id,
                        external_id=external_id,
                    )
                )
            else:
                row.external_id = external_id
        with self._lock:
            self._cache[(entity, internal_id)] = external_id


class Runtime:
    """One per process. Connectors are built lazily and kept (they hold HTTP sessions)."""

    def __init__(
        self,
        settings: Settings,
        dispatcher: Dispatcher | None = None,
        *,
        strict_mapping: bool = True,
    ) -> None:
        """``strict_mapping=False`` starts even when the mapping file is broken (for status
        reports); workers never do: they need a good mapping to start."""
        self.settings = settings
        self.engine = db.make_engine(settings.resolved_database_url())
        self.sessions = db.session_factory(self.engine)
        self.mapping = MappingHolder(settings.mapping, strict=strict_mapping)
        self.dispatcher: Dispatcher = dispatcher or NullDispatcher()
        self._connectors: dict[str, Connector] = {}
        self._lock = threading.Lock()

    def connector(self, name: str) -> Connector:
        with self._lock:
            if name not in self._connectors:
                conn = self.settings.connection(name)
                cls = registry.get(conn.connector).cls
                context = ConnectorContext(
                    connection=name,
                    bindings=DbBindings(self.sessions, name),
                    data_dir=self.settings.data_dir,
                )
                self._connectors[name] = cls.from_settings(conn.config, context)
            return self._connectors[name]

    def use(self, name: str, connector: Connector) -> None:
        """Install a ready-made connector for a connection (embedding, tests)."""
        with self._lock:
            self._connectors[name] = connector

    def shop_connections(self) -> list[str]:
        """Enabled connections whose connector writes stock."""
        names = []
        for name, conn in self.settings.connections.items():
            if not conn.enabled:
                continue
            built = self._connectors.get(name)
            info = built.info if built is not None else registry.get(conn.connector).info
            if Capability.WRITE_STOCK in info.capabilities:
                names.append(name)
        return names

    def transaction(self):
        return db.transaction(self.sessions)

    def close(self) -> None:
        for conn in self._connectors.values():
            conn.close()
        self.engine.dispose()
