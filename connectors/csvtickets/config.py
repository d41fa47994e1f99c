"""Settings of one CSV ticket source: where files are dropped and what their columns mean."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.connector import ConnectorConfig

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Largest file read (64 MiB); a file is held in memory to group its rows into tickets."""

REQUIRED = ("store", "ticket", "sku", "quantity")
OPTIONAL = (
    "workstation",
    "business_day",
    "occurred_at",
    "line",
    "unit_price",
    "amount",
    "currency",
    "description",
    "barcode",
    "status",
    "tender",
    "tender_amount",
    "customer",
    "return_of",
    "voided",
)
CANONICAL = REQUIRED + OPTIONAL
"""Brique's names for the columns it understands, in the order they are reported."""


class CsvColumns(BaseModel):
    """Canonical name -> the CSV header naming that column in the till's export."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str
    ticket: str
    """The ticket number (``ticket_kind: number``) or a unique ticket id (``id``)."""
    sku: str
    quantity: str
    """Negative quantities are returns."""
    workstation: str | None = None
    business_day: str | None = None
    """Without it, the business day is the date of ``occurred_at`` (till local time)."""
    occurred_at: str | None = None
    line: str | None = None
    """Line number in the ticket; without it, the row's position among the ticket's rows."""
    unit_price: str | None = None
    amount: str | None = None
    currency: str | None = None
    description: str | None = None
    barcode: str | None = None
    status: str | None = None
    tender: str | None = None
    tender_amount: str | None = None
    customer: str | None = None
    """A loyalty card number, or an e-mail address when it holds an ``@``."""
    return_of: str | None = None
    """The original ticket a returned line comes from."""
    voided: str | None = None

    @field_validator("*")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a column name cannot be blank")
        return value.strip() if value is not None else None

    def used(self) -> dict[str, str]:
        """Canonical name -> header, for the columns configured."""
        return {name: header for name in CANONICAL if (header := getattr(self, name))}


class CsvConfig(ConnectorConfig):
    """Settings of one CSV source (a till's, a store's or a chain's export folder)."""

    drop_folder: Path | None = None
    """Folder scanned for files; ``processing/``, ``done/`` and ``rejected/`` live inside it."""
    columns: CsvColumns | None = None
    """Canonical name -> CSV header. Left out, the headers are the canonical names themselves
    (``store,ticket,sku,quantity,...``) and every canonical column found is read."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"
    decimal_comma: bool = False
    """``12,50`` is twelve and a half (a ``.`` is then only a thousands separator)."""
    default_currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    """ISO currency of tickets whose file has no currency column (or an empty value)."""
    ticket_kind: Literal["number", "id"] = "number"
    """``number``: a register's sequence number (the key is store/workstation/day/number, and
    gaps are reported); ``id``: an id unique in the store (the key is store/tx/id)."""
    date_format: str | None = None
    """``strptime`` format of ``occurred_at`` (e.g. ``%d/%m/%Y %H:%M``); ISO 8601 if unset."""
    business_day_format: str | None = None
    """``strptime`` format of ``business_day`` (e.g. ``%d/%m/%Y``); ISO 8601 if unset."""
    timezone: str | None = None
    """IANA zone given to naive till times; None keeps them naive (till local time)."""
    suffixes: tuple[str, ...] = (".csv",)
    """File name endings read from the drop folder (case-insensitive)."""
    stable_seconds: float = Field(default=0, ge=0)
    """Ignore files modified less than this long ago, so half-copied files are not read."""
    claim_timeout: float = Field(default=300, gt=0)
    """Seconds after which a file a poller took but never finished is read again."""
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    """Larger files are rejected unread."""

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}") from exc
        return value

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value in ('"', "\r", "\n"):
            raise ValueError(f"{value!r} cannot be the delimiter")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("suffixes")
    @classmethod
    def _suffixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(s.strip().lower() for s in value if s.strip())
        if not cleaned:
            raise ValueError("give at least one file suffix, e.g. ['.csv']")
        return cleaned
