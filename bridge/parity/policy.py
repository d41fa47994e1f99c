"""The parity policy compiled against one mapping plan: groups resolved into members.

A member is one place a price shows: a shop channel (``channel:webshop``), a store charging
its price list (``store:PARIS-01``), or a price list as a store would charge it
(``list:default``, the reference list). Groups, allowances and exclusions become plain
lookups once, so judging a SKU is dictionary work.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bridge.errors import ConfigError
from bridge.mapping.parityspec import ParitySpec, ToleranceSpec, duration
from bridge.mapping.plan import MappingPlan
from bridge.mapping.spec import MappingSpec
from bridge.yamlio import Problem, did_you_mean, load_yaml, problems_at

Loc = tuple[str | int, ...]
PARITY_AT: Loc = ("prices", "parity")


@dataclass(frozen=True)
class Member:
    key: str
    """``channel:<connection>``, ``store:<code>`` or ``list:<name>``."""
    kind: str
    name: str
    price_list: str = "default"
    """The list it charges from (before fallbacks); a channel's own list."""
    region: str | None = None


@dataclass(frozen=True)
class Tolerance:
    absolute: Decimal = Decimal(0)
    percent: Decimal = Decimal(0)

    def slack(self, base: Decimal) -> Decimal:
        """How far from ``base`` a price may be and still agree: the larger bound."""
        return max(self.absolute, abs(base) * self.percent / 100)

    def describe(self) -> str:
        parts = [f"{self.absolute}"] if self.absolute else []
        parts += [f"{self.percent}%"] if self.percent else []
        return " or ".join(parts) or "none"


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[Member, ...]
    reference: Member | None
    tolerance: Tolerance


@dataclass(frozen=True)
class Allowance:
    """An intended difference: ``cheaper_by``/``dearer_by`` are fractions of the baseline."""

    kind: str
    """channel, store, region or price_list."""
    name: str
    cheaper_by: Decimal
    dearer_by: Decimal
    groups: frozenset[str]

    def covers(self, group: str, member: Member, used_list: str) -> bool:
        if self.groups and group not in self.groups:
            return False
        if self.kind == "price_list":
            return used_list == self.name
        if self.kind == "region":
            return member.kind == "store" and member.region == self.name
        return member.kind == self.kind and member.name == self.name


@dataclass(frozen=True)
class TillPolicy:
    check: bool = True
    tax_included: bool = True
    grace: timedelta = timedelta(hours=1)
    within: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Policy:
    declared: bool
    """Whether the mapping has a ``prices.parity`` block: only then do scans and alerts run
    (the report works without one, with the defaults)."""
    enabled: bool
    every: timedelta
    places: int
    tolerance: Tolerance
    groups: tuple[Group, ...]
    allowances: tuple[Allowance, ...]
    excluded_lists: frozenset[str]
    tills: TillPolicy
    channels: tuple[Member, ...]
    stores: tuple[Member, ...]
    excluded_sku: Callable[[str], bool] = field(default=lambda sku: False)
    problems: tuple[tuple[Loc, str], ...] = ()
    """Store codes or regions the block names that ``locations`` does not have."""

    @property
    def active(self) -> bool:
        """Scans, alerts and triggers run."""
        return self.declared and self.enabled

    def allowance(self, group: str, member: Member, used_list: str) -> Allowance | None:
        for allow in self.allowances:
            if allow.covers(group, member, used_list):
                return allow
        return None

    def describe(self) -> dict[str, object]:
        """The policy as the reports show it."""
        return {
            "declared": self.declared,
            "enabled": self.enabled,
            "every_seconds": int(self.every.total_seconds()),
            "tolerance": {
                "absolute": format(self.tolerance.absolute, "f"),
                "percent": format(self.tolerance.percent, "f"),
            },
            "groups": {
                g.name: {
                    "members": [m.key for m in g.members],
                    "reference": g.reference.key if g.reference else None,
                    "tolerance": g.tolerance.describe(),
                }
                for g in self.groups
            },
            "allowed": [
                {
                    a.kind: a.name,
                    "cheaper_by_percent": format((a.cheaper_by * 100).normalize(), "f"),
                    "dearer_by_percent": format((a.dearer_by * 100).normalize(), "f"),
                    "groups": sorted(a.groups),
                }
                for a in self.allowances
            ],
        }


def _tolerance(spec: ToleranceSpec | None, default: Tolerance) -> Tolerance:
    if spec is None:
        return default
    return Tolerance(spec.absolute or Decimal(0), spec.percent or Decimal(0))


def _sku_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    exact = {p for p in patterns if not any(c in p for c in "*?[")}
    globs = [p for p in patterns if p not in exact]
    if not globs:
        return exact.__contains__
    rx = re.compile("|".join(fnmatch.translate(g) for g in globs))
    return lambda sku: sku in exact or rx.match(sku) is not None


def compile_policy(plan: MappingPlan, shops: Iterable[str]) -> Policy:
    """The policy of ``plan`` for the shop connections that are enabled (``shops``)."""
    spec = plan.spec
    parity = spec.prices.parity
    declared = parity is not None
    parity = parity or ParitySpec()
    enabled_shops = set(shops)
    channels = tuple(
        Member(f"channel:{name}", "channel", name, rules.price_list)
        for name, rules in plan.prices.channels.items()
        if name in enabled_shops
    )
    stores = tuple(
        Member(f"store:{loc.code}", "store", loc.code, loc.price_list or "default", loc.region)
        for loc in spec.locations
    )
    by_channel = {m.name: m for m in channels}
    by_store = {m.name: m for m in stores}
    problems = reference_problems(spec)
    tolerance = _tolerance(parity.tolerance, Tolerance())
    groups = []
    specs = parity.groups or {"all": None}
    for name, group in specs.items():
        if group is None:  # no groups declared: every channel and every store together
            members = [*channels, *stores]
            groups.append(Group(name, tuple(members), None, tolerance))
            continue
        members = []
        for channel in group.channels:  # a channel of a disabled connection shows nothing
            if channel == "*":
                members += channels
            elif channel in by_channel:
                members.append(by_channel[channel])
        for code in group.stores:
            if code == "*":
                members += stores
            elif code in by_store:
                members.append(by_store[code])
        for region in group.regions:
            members += [m for m in stores if m.region == region]
        for name_ in group.lists:
            members.append(Member(f"list:{name_}", "list", name_, name_))
        unique = tuple(dict.fromkeys(members))
        reference = None
        if group.reference is not None:
            reference = next((m for m in unique if m.key == group.reference), None)
        groups.append(Group(name, unique, reference, _tolerance(group.tolerance, tolerance)))
    allowances = []
    for allow in parity.allow:
        kind = next(k for k in ("channel", "store", "region", "price_list") if getattr(allow, k))
        allowances.append(
            Allowance(
                kind,
                getattr(allow, kind),
                allow.cheaper_by / 100,
                allow.dearer_by / 100,
                frozenset(allow.groups),
            )
        )
    tills = parity.tills
    return Policy(
        declared=declared,
        enabled=parity.enabled,
        every=duration(parity.every),
        places=parity.places,
        tolerance=tolerance,
        groups=tuple(groups),
        allowances=tuple(allowances),
        excluded_lists=frozenset(parity.exclude.price_lists),
        tills=TillPolicy(
            tills.check, tills.tax_included, duration(tills.grace), duration(tills.within)
        ),
        channels=channels,
        stores=stores,
        excluded_sku=_sku_matcher(parity.exclude.skus),
        problems=tuple(problems),
    )


def reference_problems(spec: MappingSpec) -> list[tuple[Loc, str]]:
    """Store codes and regions named in ``prices.parity`` that ``locations`` lacks; each with
    its location in the file."""
    parity = spec.prices.parity
    if parity is None:
        return []
    codes = [loc.code for loc in spec.locations]
    regions = sorted({loc.region for loc in spec.locations if loc.region})
    found: list[tuple[Loc, str]] = []

    def store(code: str, at: Loc) -> None:
        if code != "*" and code not in codes:
            found.append(((*PARITY_AT, *at), f"unknown store {code!r}{did_you_mean(code, codes)}"))

    def region(name: str, at: Loc) -> None:
        if name not in regions:
            known = ", ".join(regions) or "no location has a region"
            found.append(
                ((*PARITY_AT, *at), f"no store in region {name!r}"
                 f"{did_you_mean(name, regions)} (regions: {known})")
            )  # fmt: skip

    for name, group in parity.groups.items():
        for pos, code in enumerate(group.stores):
            store(code, ("groups", name, "stores", pos))
        for pos, name_ in enumerate(group.regions):
            region(name_, ("groups", name, "regions", pos))
        kind, _, ref = (group.reference or "").partition(":")
        if kind == "store":
            store(ref, ("groups", name, "reference"))
            if ref in codes and "*" not in group.stores and ref not in group.stores:
                loc = next(loc for loc in spec.locations if loc.code == ref)
                if loc.region is None or loc.region not in group.regions:
                    found.append(
                        ((*PARITY_AT, "groups", name, "reference"),
                         f"reference {group.reference!r} is not a member of this group "
                         f"(add {ref!r} to its stores)")
                    )  # fmt: skip
    for index, allow in enumerate(parity.allow):
        if allow.store is not None:
            store(allow.store, ("allow", index, "store"))
        if allow.region is not None:
            region(allow.region, ("allow", index, "region"))
    return found


def located(plan: MappingPlan, problems: Sequence[tuple[Loc, str]]) -> list[Problem]:
    """``file:line:col`` problems, positioned in the mapping file the plan came from."""
    path = Path(plan.source)
    try:
        data = load_yaml(path)
    except ConfigError:  # the file changed or vanished since: name the place without a position
        data = None
    return problems_at(data, path, [(loc, message, False) for loc, message in problems])
