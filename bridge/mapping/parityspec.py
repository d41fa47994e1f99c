"""The ``prices.parity`` block: which prices must agree, how closely, and how often to look.

It lives under ``prices`` because it judges what the price lists and channels produce. The
channel and price-list names it uses are checked here against the sibling keys of
``prices`` (with a did-you-mean hint at their ``file:line:col``); store codes and regions
belong to ``locations``, outside this block, and are checked when the policy is compiled
(``bridge.parity.policy``), with the same kind of located message.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from bridge.mapping.basespec import Spec
from bridge.model.types import Dec, Identifier
from bridge.yamlio import LocatedError, did_you_mean

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MEMBER_KINDS = ("channel", "store", "list")


def duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"6h"``, ``"1d"`` as a timedelta (the text was validated)."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def _check_duration(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError('write a duration as a number and a unit: "90s", "15m", "6h" or "1d"')
    if duration(value) <= timedelta(0):
        raise ValueError("a duration must be longer than zero")
    return value.strip()


Duration = Annotated[str, BeforeValidator(_check_duration)]
"""A duration written as a number and a unit: ``"90s"``, ``"15m"``, ``"6h"``, ``"1d"``."""


def _percent(name: str, value: Decimal | None) -> None:
    if value is not None and not 0 <= value <= 100:
        raise LocatedError(f"{name} is a percentage between 0 and 100 (got {value})", (name,))


class _Doc(Spec):
    model_config = ConfigDict(use_attribute_docstrings=True)


class ToleranceSpec(_Doc):
    """How far two prices may be apart and still count as the same; either bound suffices."""

    absolute: Dec | None = None
    """An amount in the prices' currency, e.g. "0.05"."""
    percent: Dec | None = None
    """A percentage of the baseline price, e.g. "1"."""

    @model_validator(mode="after")
    def _sane(self) -> ToleranceSpec:
        if self.absolute is not None and self.absolute < 0:
            raise LocatedError(f"absolute cannot be negative (got {self.absolute})", ("absolute",))
        _percent("percent", self.percent)
        return self


class GroupSpec(_Doc):
    """Members whose prices must agree: channels, stores (by code or region), price lists."""

    channels: tuple[str, ...] = ()
    """Shop connections (``prices.channels`` keys), or "*" for every one."""
    stores: tuple[Identifier, ...] = ()
    """Location codes, or "*" for every store; a store charges its price list."""
    regions: tuple[str, ...] = ()
    """Every store whose ``region`` is one of these."""
    lists: tuple[str, ...] = ()
    """Price lists as a store would charge them (e.g. the reference list ``default``)."""
    reference: str | None = None
    """The member the others are measured against: ``list:<name>``, ``channel:<name>`` or
    ``store:<code>``. Without one, the price most members agree on is the baseline."""
    tolerance: ToleranceSpec | None = None
    """This group's own tolerance (default: ``parity.tolerance``)."""

    @model_validator(mode="after")
    def _sane(self) -> GroupSpec:
        if not (self.channels or self.stores or self.regions or self.lists):
            raise LocatedError("a group needs members: channels, stores, regions or lists", ())
        if self.reference is not None:
            kind, _, name = self.reference.partition(":")
            if kind not in MEMBER_KINDS or not name:
                raise LocatedError(
                    f"reference {self.reference!r} must be list:<name>, channel:<name> or "
                    "store:<code>",
                    ("reference",),
                )
            field = {"channel": "channels", "list": "lists"}.get(kind)
            selected = getattr(self, field) if field else ()
            if field and name not in selected and "*" not in selected:
                raise LocatedError(
                    f"reference {self.reference!r} is not a member of this group "
                    f"(add {name!r} to its {field})",
                    ("reference",),
                )
        return self


class AllowSpec(_Doc):
    """An intended difference: one member (or every member drawing on one price list) may
    be cheaper or dearer than its group's baseline, by up to a percentage."""

    channel: str | None = None
    store: Identifier | None = None
    region: str | None = None
    price_list: str | None = None
    """Members whose price comes from this list (after fallbacks)."""
    cheaper_by: Dec = Decimal(0)
    """Up to this percentage below the baseline, e.g. "10"."""
    dearer_by: Dec = Decimal(0)
    """Up to this percentage above the baseline."""
    groups: tuple[str, ...] = ()
    """Only in these groups (default: every group)."""

    @model_validator(mode="after")
    def _sane(self) -> AllowSpec:
        chosen = [k for k in ("channel", "store", "region", "price_list") if getattr(self, k)]
        if len(chosen) != 1:
            raise LocatedError(
                "name exactly one of channel, store, region or price_list"
                + (f" (got {', '.join(chosen)})" if chosen else ""),
                (),
            )
        _percent("cheaper_by", self.cheaper_by)
        _percent("dearer_by", self.dearer_by)
        if not self.cheaper_by and not self.dearer_by:
            raise LocatedError('set cheaper_by or dearer_by (a percentage such as "10")', ())
        return self


class ExcludeSpec(_Doc):
    skus: tuple[Identifier, ...] = ()
    """SKUs never compared; ``*`` and ``?`` patterns allowed (``GIFT-*``)."""
    price_lists: tuple[str, ...] = ()
    """A member whose price comes from one of these lists is left out (e.g. clearance)."""


class TillSpec(_Doc):
    """What tills really charge, from the sales journal, against their store's list."""

    check: bool = True
    tax_included: bool = True
    """Whether the unit prices tills ring up include tax."""
    grace: Duration = "1h"
    """After a list price changes, tills may ring the old one this long (their own update)."""
    within: Duration = "30d"
    """Rings older than this are not judged."""


class ParitySpec(_Doc):
    """The price parity watchdog's policy. Every comparison is made tax-included, in
    ``prices.currency``, rounded to ``places``."""

    enabled: bool = True
    every: Duration = "1h"
    """How often every SKU is compared (price changes are compared as they arrive)."""
    places: int = Field(2, ge=0, le=6)
    """Decimal places prices are rounded to before comparing."""
    tolerance: ToleranceSpec = Field(default_factory=ToleranceSpec)
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    """Named groups of members that must agree; none: every channel and store together."""
    allow: tuple[AllowSpec, ...] = ()
    exclude: ExcludeSpec = Field(default_factory=ExcludeSpec)
    tills: TillSpec = Field(default_factory=TillSpec)

    @model_validator(mode="after")
    def _known_groups(self) -> ParitySpec:
        for index, allow in enumerate(self.allow):
            for pos, name in enumerate(allow.groups):
                if name not in self.groups:
                    known = ", ".join(sorted(self.groups)) or "none declared"
                    raise LocatedError(
                        f"unknown group {name!r}{did_you_mean(name, self.groups)} "
                        f"(groups: {known})",
                        ("allow", index, "groups", pos),
                    )
        return self


def _against_prices(value: ParitySpec | None, info: ValidationInfo) -> ParitySpec | None:
    """Channel and price-list names must be those declared beside this block."""
    if value is None:
        return value
    channels = set(info.data.get("channels") or {})
    lists = {"default", *(info.data.get("lists") or {})}

    def check(name: str, known: set[str], what: str, at: tuple[str | int, ...]) -> None:
        if name in known or (name == "*" and what == "channel"):
            return
        listed = ", ".join(sorted(known)) or f"none declared under prices.{what}s"
        raise LocatedError(
            f"unknown {'price list' if what == 'list' else what} {name!r}"
            f"{did_you_mean(name, known)} (known: {listed})",
            at,
        )

    for group_name, group in value.groups.items():
        at: tuple[str | int, ...] = ("groups", group_name)
        for pos, name in enumerate(group.channels):
            check(name, channels, "channel", (*at, "channels", pos))
        for pos, name in enumerate(group.lists):
            check(name, lists, "list", (*at, "lists", pos))
        kind, _, name = (group.reference or "").partition(":")
        if kind == "channel":
            check(name, channels, "channel", (*at, "reference"))
    for index, allow in enumerate(value.allow):
        if allow.channel is not None:
            check(allow.channel, channels, "channel", ("allow", index, "channel"))
        if allow.price_list is not None:
            check(allow.price_list, lists, "list", ("allow", index, "price_list"))
    for pos, name in enumerate(value.exclude.price_lists):
        check(name, lists, "list", ("exclude", "price_lists", pos))
    return value


ParityField = Annotated[ParitySpec | None, AfterValidator(_against_prices)]
"""The field ``prices.parity``: declared after ``lists`` and ``channels`` so it can check
the names it uses against them."""
