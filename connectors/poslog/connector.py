"""The POSLog connector: tills drop ARTS POSLog files in a folder or POST them over HTTP.

Files are the state (``bridge.dropfolder``): a file is claimed into ``processing/`` until its
events are committed to the inbox, then moves to ``done/``; a file that cannot be read at all
moves to ``rejected/`` next to a ``.error.txt`` saying why. Nothing is ever deleted or
overwritten, so a file can always be inspected and dropped again (the inbox ignores event keys
it already has).

Baskets: a suspended transaction is a basket parked at a till and is read as one, never as
a sale (``suspended``); baskets handed to the tills are written as suspended transactions
into ``handoff_folder`` (sink ``baskets``, ``handoff``).
"""

from __future__ import annotations

import hmac
import io
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from pydantic import Field, SecretStr, ValidationError, field_validator

from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorInfo,
    InboundEvent,
    Page,
    Rejection,
    WebhookRequest,
    WriteBatch,
    WriteResult,
)
from bridge.dropfolder import DropFolder
from bridge.errors import AuthError, ConfigError, DataError
from bridge.model import Basket, BasketBody, Sale, SaleBody, SaleStatus
from bridge.model.base import Record
from connectors.poslog import handoff, suspended
from connectors.poslog.parser import DEFAULT_MAX_BYTES, parse

log = structlog.get_logger(__name__)

VERSION = "0.1.0"


class PosLogConfig(ConnectorConfig):
    """Settings of one POSLog source (a store, a chain's export folder, an HTTP endpoint)."""

    drop_folder: Path | None = None
    """Folder scanned for ``*.xml``; ``processing/``, ``done/`` and ``rejected/`` live inside it."""
    default_currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    """ISO currency for files that name none (some tills only write amounts)."""
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    """Larger documents are refused unread."""
    http_token: SecretStr | None = None
    """Bearer token tills must send to POST POSLog; HTTP push is off without one."""
    stable_seconds: float = Field(default=0, ge=0)
    """Ignore files modified less than this long ago, so half-copied files are not read."""
    claim_timeout: float = Field(default=300, gt=0)
    """Seconds after which a file a poller took but never finished is read again."""
    timezone: str | None = None
    """IANA zone (e.g. ``Europe/Stockholm``) given to naive till times; None keeps them naive."""
    handoff_folder: Path | None = None
    """Folder the tills import suspended transactions from: baskets handed to a till are
    written there (sink ``baskets``, see ``handoff``); None: the sink refuses to write."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class PosLogConnector(Connector):
    """ARTS POSLog (V2.x and V6) from a drop folder or HTTP POST, into canonical sales."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="poslog",
        kind="pos",
        version=VERSION,
        capabilities=frozenset(
            {
                Capability.READ_SALES,
                Capability.FILE_DROP,
                Capability.HTTP_PUSH,
                Capability.READ_BASKETS,
                Capability.WRITE_BASKETS,
            }
        ),
        config_model=PosLogConfig,
        description="ARTS/NRF POSLog XML files (NCR, Retalix, Visma, roqqio...) as sales",
        document_suffixes=(".xml",),
    )
    config: PosLogConfig

    # -- checks

    def check(self) -> None:
        if self.config.drop_folder is None:
            if self.config.http_token is None:
                raise ConfigError("poslog: set drop_folder, http_token or both")
            return
        self._folder().check()

    # -- documents

    def _zone(self) -> tzinfo | None:
        return ZoneInfo(self.config.timezone) if self.config.timezone else None

    def parse_document(self, source: str, stream: BinaryIO) -> Iterator[InboundEvent | Rejection]:
        reader = parse(
            stream,
            source,
            default_currency=self.config.default_currency,
            max_bytes=self.config.max_bytes,
            timezone=self._zone(),
        )
        for item in reader:
            if isinstance(item, Rejection):
                yield item
                continue
            if item.status is SaleStatus.SUSPENDED:  # a parked basket, not a sale
                basket = suspended.basket_event(item)
                if basket is not None:
                    yield basket
                continue
            yield InboundEvent(
                key=item.key.as_string(),
                kind="sale",
                payload=item.model_dump(mode="json"),
                occurred_at=item.occurred_at,
            )
        log.debug("poslog.parsed", source=source, **_stats_fields(reader.stats))

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind not in ("sale", suspended.KIND):
            return super().decode(event)
        try:
            if event.kind == suspended.KIND:
                return [BasketBody(basket=Basket.model_validate(event.payload))]
            return [SaleBody(sale=Sale.model_validate(event.payload))]
        except ValidationError as exc:
            raise DataError(f"poslog event {event.key}: {exc}") from exc

    # -- baskets handed to the tills

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        if sink != handoff.SINK:
            return super().write(sink, batch)
        return handoff.HandoffFolder(self.config.handoff_folder).write(batch)

    # -- drop folder

    def _folder(self) -> DropFolder:
        return DropFolder.from_settings(
            self.config, suffixes=self.info.document_suffixes, name="poslog"
        )

    def streams(self) -> Sequence[str]:
        return ("sales",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """One page per ready file, oldest first; the file moves once the page is committed."""
        if stream != "sales":
            yield from super().read(stream, cursor)
            return
        yield from self._folder().pages(self.parse_document)

    # -- HTTP push

    def verify_webhook(self, request: WebhookRequest) -> None:
        token = self.config.http_token
        if token is None:
            raise AuthError("HTTP push disabled: set http_token")
        header = request.header("Authorization") or ""
        scheme, _, presented = header.partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected
        ):
            raise AuthError("poslog: missing or wrong bearer token")

    def parse_webhook(  # type: ignore[override]
        self, request: WebhookRequest
    ) -> list[InboundEvent | Rejection]:
        """Events of the POSTed document, plus its rejections.

        Rejections are returned too (``bridge.sync.ingest`` stores them as dead letters),
        so a bad transaction in a pushed file is never silently dropped.
        """
        return list(self.parse_document("http", io.BytesIO(request.body)))


def _stats_fields(stats: Any) -> dict[str, Any]:
    return {
        "transactions": stats.transactions,
        "sales": stats.sales,
        "rejected": stats.rejected,
        "skipped": stats.skipped,
    }
