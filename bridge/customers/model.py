"""An observed customer record and its normalisation into identity keys.

Strong keys (they merge golden records automatically): the loyalty card (exact, stripped),
the e-mail (stripped, lower case), the phone (E.164, read in the record's region or the
store's) and channel ids (``connection:id``). Name and postcode are folded for *weak*
matching only: they open a review, never a merge.

An invalid e-mail or phone drops that key, not the record: the reason is kept in ``notes``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import phonenumbers
from pydantic import AwareDatetime, BeforeValidator, Field, field_validator

from bridge.errors import DataError
from bridge.mapping import functions
from bridge.model.base import Record
from bridge.model.types import Identifier, OptionalIdentifier

KINDS = ("loyalty", "email", "phone", "channel")
"""The strong key kinds, strongest first."""


def _optional_text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
"""Free text or None; blank text means None."""


def check_region(value: str) -> str:
    """An ISO 3166 alpha-2 region ``phonenumbers`` knows (``FR``, ``GB``, ``GP``...)."""
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {value!r}: expected an ISO 3166 code like 'FR'")
    return code


class ObservedCustomer(Record):
    """A customer as one channel (a connection) shows it."""

    source: Identifier
    """The connection the record comes from (``tills``, ``webshop``)."""
    source_id: Identifier
    """The customer's id on that connection."""
    loyalty_card: OptionalIdentifier = None
    email: OptionalText = None
    phone: OptionalText = None
    region: OptionalText = None
    """ISO 3166 code to read a national phone number; else the store's region is used."""
    first_name: OptionalText = None
    last_name: OptionalText = None
    postcode: OptionalText = None
    country: OptionalText = None
    channel_ids: dict[str, str] = Field(default_factory=dict)
    """Ids this customer has on *other* connections (a web account carrying its POS id)."""
    observed_at: AwareDatetime | None = None
    """When the channel last saw this version; best values follow the latest one."""

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else check_region(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"country {value!r}: expected an ISO 3166 alpha-2 code like 'FR'")
        return value.upper()

    @field_validator("channel_ids")
    @classmethod
    def _channel_ids(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for conn, ident in value.items():
            conn, ident = conn.strip(), ident.strip()
            if not conn or not ident:
                raise ValueError("channel_ids: connection names and ids must not be blank")
            out[conn] = ident
        return out


@dataclass(frozen=True)
class Normalised:
    """The keys one observed record carries, ready for matching."""

    loyalty_card: str | None
    email: str | None
    phone: str | None
    name_key: str | None
    postcode_key: str | None
    channels: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        """The strong keys as sorted (kind, value) pairs (sorted: a fixed lock order)."""
        found = {("channel", c) for c in self.channels}
        if self.loyalty_card:
            found.add(("loyalty", self.loyalty_card))
        if self.email:
            found.add(("email", self.email))
        if self.phone:
            found.add(("phone", self.phone))
        return tuple(sorted(found))


def channel_key(connection: str, ident: str) -> str:
    return f"{connection}:{ident}"


def fold(text: str | None) -> str | None:
    """Case-folded, accents removed, punctuation as spaces, spaces collapsed."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", bare).split()
    return " ".join(words) or None


def fold_postcode(text: str | None) -> str | None:
    """A folded postcode without spaces: ``SW1A 1AA`` and ``sw1a1aa`` are the same."""
    folded = fold(text)
    return folded.replace(" ", "") if folded else None


_EMAIL = functions.bind("email", {}, functions.BindContext())


@cache
def _phone(region: str | None) -> functions.Step:
    return functions.bind("phone", {"region": region} if region else {}, functions.BindContext())


def normalise(record: ObservedCustomer, region: str | None = None) -> Normalised:
    """The record's keys; ``region`` (the store's) reads phones when the record has none."""
    notes: list[str] = []
    email = phone = None
    if record.email is not None:
        try:
            email = _EMAIL(record.email, None)
        except DataError as exc:
            notes.append(f"{exc}; e-mail key dropped")
    if record.phone is not None:
        where = record.region or (check_region(region) if region else None)
        try:
            phone = _phone(where)(record.phone, None)
        except DataError as exc:
            notes.append(f"{exc}; phone key dropped")
    first, last = fold(record.first_name), fold(record.last_name)
    channels = {channel_key(record.source, record.source_id)}
    channels.update(channel_key(c, i) for c, i in record.channel_ids.items())
    return Normalised(
        loyalty_card=record.loyalty_card,
        email=email,
        phone=phone,
        name_key=f"{first} {last}" if first and last else None,
        postcode_key=fold_postcode(record.postcode),
        channels=tuple(sorted(channels)),
        notes=tuple(notes),
    )


def record_hash(record: ObservedCustomer, norm: Normalised) -> str:
    """Equal observations hash equal: observing one twice changes nothing."""
    body = {"record": record.model_dump(mode="json"), "keys": norm.keys, "notes": norm.notes}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
