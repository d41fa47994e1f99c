"""The generic CSV connector: tills that can only export CSV, one row per ticket line.

The retailer names the columns in the connection's settings (``columns``); Brique groups the
rows into tickets (``reader``), stores each ticket as a native payload in the inbox, and
``decode`` turns that payload into a canonical ``Sale`` after the mapping's inbound field
rules have overlaid it, so a till's quirks (padded SKUs, legacy codes, status codes) are
fixed in the mapping file, without code.

Files are the state (``bridge.dropfolder``, as for POSLog): a file stays in ``processing/``
until its events are in the inbox, then moves to ``done/``; a file that cannot be read at all
moves to ``rejected/`` next to a ``.error.txt`` saying why. A rejected ticket is a dead
letter; the corrected file can be dropped again, the inbox skipping the tickets it already has.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import tzinfo
from typing import BinaryIO, ClassVar
from zoneinfo import ZoneInfo

import structlog
from pydantic import ValidationError

from bridge.connector import (
    Capability,
    Connector,
    ConnectorInfo,
    InboundEvent,
    Page,
    Rejection,
)
from bridge.dropfolder import DropFolder
from bridge.errors import DataError
from bridge.model import SaleBody
from bridge.model.base import Record
from connectors.csvtickets.config import CsvConfig
from connectors.csvtickets.decode import to_sale
from connectors.csvtickets.reader import read_document, validation_message

log = structlog.get_logger(__name__)

VERSION = "0.1.0"


class CsvTicketsConnector(Connector):
    """Ticket lines exported as CSV by a till, columns named in the settings, into sales."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name="csv",
        kind="pos",
        version=VERSION,
        capabilities=frozenset({Capability.READ_SALES, Capability.FILE_DROP}),
        config_model=CsvConfig,
        description="CSV ticket exports (one row per line, columns mapped in the settings)",
        document_suffixes=(".csv",),
    )
    config: CsvConfig

    # -- checks

    def check(self) -> None:
        self._folder().check()

    def _folder(self) -> DropFolder:
        return DropFolder.from_settings(self.config, suffixes=self.config.suffixes, name="csv")

    def _zone(self) -> tzinfo | None:
        return ZoneInfo(self.config.timezone) if self.config.timezone else None

    # -- documents

    def parse_document(self, source: str, stream: BinaryIO) -> Iterator[InboundEvent | Rejection]:
        """The tickets of one CSV file (``brique inspect``, ``brique ingest``, the poller).

        A bad ticket is a ``Rejection`` naming ``file:line``; a file whose structure cannot be
        trusted (encoding, header, field counts...) raises ``DataError``.
        """
        data = stream.read(self.config.max_bytes + 1)
        if len(data) > self.config.max_bytes:
            raise DataError(f"{source}: larger than max_bytes={self.config.max_bytes}")
        items = read_document(data, source, self.config, self._zone())
        rejected = sum(isinstance(i, Rejection) for i in items)
        log.debug("csv.parsed", source=source, tickets=len(items) - rejected, rejected=rejected)
        yield from items

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != "sale":
            return super().decode(event)
        try:
            sale = to_sale(event.payload, self.config, self._zone())
        except ValidationError as exc:
            raise DataError(
                f"csv event {event.key}: {validation_message(exc)}", record=event.key
            ) from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise DataError(f"csv event {event.key}: {exc}", record=event.key) from None
        return [SaleBody(sale=sale)]

    # -- drop folder

    def streams(self) -> Sequence[str]:
        return ("sales",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """One page per ready file, oldest first; the file moves once the page is committed."""
        if stream != "sales":
            yield from super().read(stream, cursor)
            return
        yield from self._folder().pages(self.parse_document)
