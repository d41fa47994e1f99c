"""The POSLog connector: tills drop ARTS POSLog files in a folder or POST them over HTTP.

Files are the state: a file stays in the drop folder until its events are committed to the
inbox, then moves to ``done/``; a file that cannot be read at all moves to ``rejected/``
next to a ``.error.txt`` saying why. Nothing is ever deleted or overwritten, so a file
can always be inspected and dropped again (the inbox ignores event keys it already has).
"""

from __future__ import annotations

import hmac
import io
import os
import time
from collections.abc import Callable, Iterator, Sequence
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
)
from bridge.errors import AuthError, ConfigError, DataError, TransientError
from bridge.model import Sale, SaleBody
from bridge.model.base import Record
from connectors.poslog.parser import DEFAULT_MAX_BYTES, parse

log = structlog.get_logger(__name__)

DONE = "done"
REJECTED = "rejected"
PROCESSING = "processing"
CLAIM_SEPARATOR = "__"
VERSION = "0.1.0"


class PosLogConfig(ConnectorConfig):
    """Settings of one POSLog source (a store, a chain's export folder, an HTTP endpoint)."""

    drop_folder: Path | None = None
    """Folder scanned for ``*.xml``; ``done/`` and ``rejected/`` are created inside it."""
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
        capabilities=frozenset({Capability.READ_SALES, Capability.FILE_DROP, Capability.HTTP_PUSH}),
        config_model=PosLogConfig,
        description="ARTS/NRF POSLog XML files (NCR, Retalix, Visma, roqqio...) as sales",
        document_suffixes=(".xml",),
    )
    config: PosLogConfig

    # -- checks

    def check(self) -> None:
        folder = self.config.drop_folder
        if folder is None:
            if self.config.http_token is None:
                raise ConfigError("poslog: set drop_folder, http_token or both")
            return
        if not folder.is_dir():
            raise ConfigError(f"poslog: drop_folder {str(folder)!r} is not an existing folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"poslog: drop_folder {str(folder)!r} is not writable "
                "(files are moved to done/ and rejected/ inside it)"
            )

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
            yield InboundEvent(
                key=item.key.as_string(),
                kind="sale",
                payload=item.model_dump(mode="json"),
                occurred_at=item.occurred_at,
            )
        log.debug("poslog.parsed", source=source, **_stats_fields(reader.stats))

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != "sale":
            return super().decode(event)
        try:
            return [SaleBody(sale=Sale.model_validate(event.payload))]
        except ValidationError as exc:
            raise DataError(f"poslog event {event.key}: {exc}") from exc

    # -- drop folder

    def streams(self) -> Sequence[str]:
        return ("sales",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """One page per ready file, oldest first; the file moves once the page is committed."""
        if stream != "sales":
            yield from super().read(stream, cursor)
            return
        folder = self.config.drop_folder
        if folder is None:
            raise ConfigError("poslog: no drop_folder configured")
        for path in [*self._abandoned_claims(folder), *self._ready_files(folder)]:
            claimed = _claim(path, folder / PROCESSING)
            if claimed is None:
                continue  # another poller took it first
            page = self._read_file(claimed, folder)
            if page is not None:
                yield page

    def _abandoned_claims(self, folder: Path) -> list[Path]:
        """Files a poller claimed and never finished (it was killed): read them again.

        Reading twice is harmless (the inbox keys tickets by their identity); never reading
        a ticket is not.
        """
        processing = folder / PROCESSING
        if not processing.is_dir():
            return []
        cutoff = time.time() - self.config.claim_timeout
        return sorted(p for p in processing.iterdir() if p.is_file() and p.stat().st_mtime < cutoff)

    def _ready_files(self, folder: Path) -> list[Path]:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError as exc:
            raise ConfigError(f"poslog: drop_folder {str(folder)!r} does not exist") from exc
        except OSError as exc:
            raise TransientError(f"poslog: cannot list {str(folder)!r}: {exc}") from exc
        now = time.time()
        ready: list[tuple[float, str, Path]] = []
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.lower().endswith(".xml"):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            if now - mtime < self.config.stable_seconds:
                continue  # still being written (or copied) by the till
            ready.append((mtime, entry.name, Path(entry.path)))
        ready.sort()
        return [path for _, _, path in ready]

    def _read_file(self, path: Path, folder: Path) -> Page | None:
        name = _original_name(path)
        try:
            size = path.stat().st_size
            if size > self.config.max_bytes:
                raise DataError(
                    f"{name}: {size} bytes is larger than max_bytes={self.config.max_bytes}"
                )
            with path.open("rb") as handle:
                items = list(self.parse_document(name, handle))
        except FileNotFoundError:
            return None  # taken by another worker or removed by an admin meanwhile
        except DataError as exc:
            message = str(exc)
            log.warning("poslog.file_rejected", file=name, error=message)
            return Page(
                events=[],
                rejections=[Rejection(source=name, error=message)],
                on_committed=_mover(path, folder / REJECTED, message),
            )
        except OSError as exc:
            raise TransientError(f"poslog: cannot read {name}: {exc}") from exc
        events = [i for i in items if isinstance(i, InboundEvent)]
        rejections = [i for i in items if isinstance(i, Rejection)]
        return Page(events=events, rejections=rejections, on_committed=_mover(path, folder / DONE))

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


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``stem~N.ext`` when taken (also by its ``.error.txt``)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate = folder / name
    counter = 1
    while candidate.exists() or (folder / f"{candidate.name}.error.txt").exists():
        candidate = folder / (f"{stem}~{counter}.{ext}" if dot else f"{stem}~{counter}")
        counter += 1
    return candidate


def _claim(path: Path, processing: Path) -> Path | None:
    """Take a file for this poller by an atomic rename; None when another one was faster.

    The claimed name is unique (``<token>__<name>``) so a second file of the same name
    dropped meanwhile never overwrites the first.
    """
    processing.mkdir(exist_ok=True)
    # An abandoned claim is re-claimed the same way, under a new name: one poller wins.
    target = processing / f"{time.time_ns()}-{os.getpid()}{CLAIM_SEPARATOR}{_original_name(path)}"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    os.utime(target)
    return target


def _original_name(path: Path) -> str:
    return path.name.partition(CLAIM_SEPARATOR)[2] or path.name


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    while True:
        target = _free_name(folder, _original_name(path))
        try:
            os.link(path, target)  # fails if target exists: never overwrite
        except FileExistsError:
            continue
        except OSError:
            if target.exists():
                continue
            os.rename(path, target)  # filesystems without hard links (some SMB shares)
            return target
        os.unlink(path)
        return target


def _mover(path: Path, folder: Path, error: str | None = None) -> Callable[[], None]:
    def on_committed() -> None:
        if not path.exists():
            return
        target = _move(path, folder)
        if error is not None:
            with open(f"{target}.error.txt", "x", encoding="utf-8") as handle:
                handle.write(error + "\n")
        log.info("poslog.file_moved", file=_original_name(path), to=str(target))

    return on_committed
