"""The connector contract: what a POS or shop plugin implements, and nothing more.

A connector translates between one system's native payloads and the canonical model. It
reads streams page by page with resumable cursors, writes batches carrying an idempotency
key, and may verify and parse webhooks. It raises only the errors of ``bridge.errors``.
It never touches the database or the broker: the sync use-cases do, around it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import ConfigError, DataError
from bridge.model.base import Record
from bridge.model.basket import BasketLine
from bridge.model.customer import CustomerRef
from bridge.model.money import Money
from bridge.model.types import Dec, Identifier


class Capability(StrEnum):
    READ_SALES = "read_sales"
    READ_ORDERS = "read_orders"
    READ_STOCK = "read_stock"
    WRITE_STOCK = "write_stock"
    WRITE_PRICES = "write_prices"
    WEBHOOKS = "webhooks"
    FILE_DROP = "file_drop"
    HTTP_PUSH = "http_push"
    READ_BASKETS = "read_baskets"
    """Decodes carts/checkouts into ``BasketBody`` records (webhooks or a stream)."""
    WRITE_BASKETS = "write_baskets"
    """Sink ``baskets``: opens a handed-off basket (a web cart with its checkout link, a
    draft sale or suspended transaction at a till) and closes it once converted."""
    WRITE_RESERVATIONS = "write_reservations"
    """Sink ``reservations``: holds or releases store stock for a web order."""
    WRITE_RETURNS = "write_returns"
    """Sink ``returns``: marks a web order returned/refunded after a return elsewhere."""
    WRITE_LOYALTY = "write_loyalty"
    """Sink ``loyalty``: publishes a customer's points balance (absolute)."""


class ConnectorConfig(BaseModel):
    """Base of every connector's settings. Secrets are ``SecretStr`` so they never print."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ConnectorInfo:
    name: str
    kind: Literal["pos", "shop"]
    version: str
    capabilities: frozenset[Capability]
    config_model: type[ConnectorConfig]
    description: str = ""
    batch_limits: Mapping[str, int] = field(default_factory=dict)
    """Largest batch each sink accepts in one call, e.g. ``{"stock": 250}``."""
    document_suffixes: tuple[str, ...] = ()
    """File suffixes ``parse_document`` reads (``(".xml",)``): tools such as the mapping
    preview hand such files to the connector."""


@dataclass(frozen=True)
class InboundEvent:
    """A native record as received, keyed by the source's own event key (the inbox key)."""

    key: str
    kind: str
    payload: dict[str, Any]
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Rejection:
    """Input that could not be read at all (e.g. a malformed file); becomes a dead letter."""

    source: str
    error: str
    payload: str = ""


@dataclass
class Page:
    """One page of a stream: its events, the cursor to resume after it, and an ack hook."""

    events: list[InboundEvent]
    cursor: str | None = None
    rejections: list[Rejection] = field(default_factory=list)
    on_committed: Callable[[], None] | None = None
    """Called once the events are safely in the inbox (e.g. move the file to ``done/``)."""


class StockWrite(Record):
    """One absolute quantity to publish for (sku, platform location)."""

    sku: Identifier
    location: Identifier
    """The platform's own location id, already mapped from Brique's location code."""
    quantity: Dec
    previous: Dec | None = None
    """What Brique believes the platform holds now, for compare-and-set; None if unknown."""
    fields: dict[str, Any] = Field(default_factory=dict)
    """Native fields from the mapping's outbound stock rules, for connectors whose payload
    is mapped (e.g. a generic REST shop); empty when the mapping declares none."""


class PriceWrite(Record):
    """One SKU's selling price on a channel, already computed by the mapping.

    ``price`` is what the channel must show (its price list, its tax convention, rounded and
    with its price ending); ``fields`` is the native payload the mapping's outbound rules
    built from it (e.g. Shopify ``{"price": "19.99", "compareAtPrice": null}``). A connector
    sends ``fields`` and adds only its own ids; it never recomputes a price.
    """

    sku: Identifier
    price: Money
    compare_at: Money | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class BasketWrite(Record):
    """Sink ``baskets``: one handed-off basket to open on, or close on, the platform.

    ``code`` is the handoff code (the item key in ``WriteResult``). Opening answers
    ``observed[code] = {"id": <platform id>, "url": <checkout or resume link, if any>}``;
    opening again with the same code must find and return the same basket (idempotent: look
    it up by ``external_id`` or by the code stored on the platform). Closing marks the
    platform's basket done (converted elsewhere) and answers ``{"id": ..., "closed": true}``.
    """

    code: Identifier
    action: Literal["open", "close"] = "open"
    currency: str
    lines: tuple[BasketLine, ...] = ()
    """SKUs are the platform's own (already mapped)."""
    customer: CustomerRef | None = None
    location: str | None = None
    """The platform's location id (the store a basket is handed to), when it has one."""
    external_id: str | None = None
    """The platform's id of this basket when Brique created or read it before."""
    note: str = ""


class ReservationWrite(Record):
    """Sink ``reservations``: hold (or release) store stock for a web order's line.

    ``quantity`` is the absolute quantity held for (order, line) at ``location``; 0 releases
    it. Writing the same value twice changes nothing."""

    order_reference: Identifier
    line_no: Identifier
    sku: Identifier
    location: Identifier
    quantity: Dec
    reference: str = ""


class ReturnWrite(Record):
    """Sink ``returns``: a web order returned elsewhere (at a till): mark it on the shop.

    ``key`` (the store return's ticket key) makes the write idempotent on the platform."""

    key: Identifier
    order_reference: Identifier
    lines: tuple[BasketLine, ...] = ()
    """Returned SKUs (platform's own) and quantities (positive), with the refunded price."""
    refund: Money | None = None
    """What the store refunded; None when the shop must not record an amount."""
    restocked_at: str | None = None
    """The store (platform location id) that took the goods back."""
    note: str = ""


class LoyaltyWrite(Record):
    """Sink ``loyalty``: a customer's points balance, absolute (idempotent by nature)."""

    customer: CustomerRef
    """The keys this platform knows the customer by (its id in ``channel_ids``, card, email)."""
    balance: Dec
    previous: Dec | None = None


@dataclass(frozen=True)
class WriteBatch:
    idempotency_key: str
    items: Sequence[Record]
    reference: str | None = None
    """The document the write comes from, as ``Kind/id`` (``Ticket/1001/01/2026-11-23/7``,
    ``StockPush/42``); shown in the platform's history when it has one."""


@dataclass
class WriteResult:
    """Per-batch outcome: items written, items refused (to dead-letter), quantities seen."""

    written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """item key -> error message, for items the platform refused (``DataError``)."""
    observed: dict[str, Any] = field(default_factory=dict)
    """item key -> what the platform holds now, when the write reports it."""
    stale: dict[str, Decimal | None] = field(default_factory=dict)
    """item key -> what the platform holds, for items not written because the platform's
    quantity was not the ``previous`` Brique expected (compare-and-set refused). Brique
    recomputes those from its ledger and writes again; a connector never forces them."""


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as received: raw body bytes (signatures cover those) and headers."""

    headers: Mapping[str, str]
    body: bytes
    url: str = ""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class BindingLookup(Protocol):
    """What a connector may ask of the binding table: external ids it resolved before."""

    def get_external(self, entity: str, internal_id: str) -> str | None: ...

    def get_internal(self, entity: str, external_id: str) -> str | None: ...

    def put(self, entity: str, internal_id: str, external_id: str) -> None: ...


class _NoBindings:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}

    def get_external(self, entity: str, internal_id: str) -> str | None:
        return self._data.get((entity, internal_id))

    def get_internal(self, entity: str, external_id: str) -> str | None:
        for (kind, internal), external in self._data.items():
            if kind == entity and external == external_id:
                return internal
        return None

    def put(self, entity: str, internal_id: str, external_id: str) -> None:
        self._data[(entity, internal_id)] = external_id


@dataclass
class ConnectorContext:
    """What the host gives a connector: its connection name, bindings and a data folder."""

    connection: str
    bindings: BindingLookup = field(default_factory=_NoBindings)
    data_dir: Path | None = None


class Connector(abc.ABC):
    """Base of every connector. Subclasses set ``info`` and implement what they declare."""

    info: ClassVar[ConnectorInfo]

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        if not isinstance(config, self.info.config_model):
            config = self.info.config_model.model_validate(config)
        self.config = config
        self.context = context

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], context: ConnectorContext) -> Connector:
        """Build from a settings mapping; an invalid config is a ``ConfigError`` for the admin."""
        try:
            config = cls.info.config_model.model_validate(dict(settings))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"connection {context.connection!r}: {problems}") from None
        return cls(config, context)

    @abc.abstractmethod
    def check(self) -> None:
        """Prove the connection works; raise ``AuthError``/``ConfigError``/``TransientError``."""

    def streams(self) -> Sequence[str]:
        """Names of the streams ``read`` accepts."""
        return ()

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        raise DataError(f"{self.info.name} has no stream {stream!r}")

    def parse_document(self, source: str, stream: BinaryIO) -> Iterator[InboundEvent | Rejection]:
        """Read a pushed or dropped document (file, HTTP POST body) into inbound events.

        A record that cannot be read yields a ``Rejection`` naming ``source`` and the line;
        a document that cannot be read at all raises ``DataError``.
        """
        raise DataError(f"{self.info.name} does not read documents")

    def read_stock(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Current available quantity per (sku, platform location), for reconciliation."""
        raise DataError(f"{self.info.name} cannot read stock")

    def decode(self, event: InboundEvent) -> list[Record]:
        """Turn a stored inbound event into canonical bodies (with native identifiers)."""
        raise DataError(f"{self.info.name} cannot decode events of kind {event.kind!r}")

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        raise DataError(f"{self.info.name} has no sink {sink!r}")

    def verify_webhook(self, request: WebhookRequest) -> None:
        """Raise ``AuthError`` unless the request is signed by the remote."""
        from bridge.errors import AuthError

        raise AuthError(f"{self.info.name} does not accept webhooks")

    def parse_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        """Split a verified webhook into inbound events keyed by the remote's delivery id."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions and files."""
