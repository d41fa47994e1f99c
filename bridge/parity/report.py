"""The parity report behind ``brique prices parity`` and ``GET /prices/parity``.

It compares live (the same judge as the scans, on the database as it is now) and writes
nothing; recorded divergences only add since when each has been open. Pages of SKUs are
read in their own short sessions, so a report over the whole catalogue never holds the
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from bridge.errors import ConfigError
from bridge.parity.evaluate import Evaluator, SkuParity, text
from bridge.parity.policy import Member, Policy, located
from bridge.parity.scan import open_count, policy_of
from bridge.parity.snapshot import among, load, sku_pages
from bridge.parity.tables import PriceDivergence
from bridge.sync.runtime import Runtime
from bridge.yamlio import did_you_mean

BASIS_NOTE = (
    "every price converted to tax included at the SKU's rate, in {currency}, rounded "
    "half-up to {places} places; 'native' is the price as the channel shows it or as the "
    "list holds it"
)


@dataclass(frozen=True)
class ReportQuery:
    skus: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    include_all: bool = False
    """Every SKU compared, not only those with a divergence."""
    limit: int | None = None
    after: str | None = None
    """Continue after this SKU (the previous page's ``next_after``)."""


def members_of(policy: Policy, query: ReportQuery) -> list[Member]:
    """The members the report shows: the filtered stores and channels, or all of them.

    Raises ``ValueError`` naming an unknown store or channel.
    """
    channels = {m.name: m for m in policy.channels}
    stores = {m.name: m for m in policy.stores}
    for name in query.channels:
        if name not in channels:
            raise ValueError(
                f"unknown channel {name!r}{did_you_mean(name, channels)} "
                f"(channels: {', '.join(channels) or 'none'})"
            )
    for code in query.stores:
        if code not in stores:
            raise ValueError(
                f"unknown store {code!r}{did_you_mean(code, stores)} "
                f"(stores: {', '.join(stores) or 'none'})"
            )
    lists = [m for g in policy.groups for m in g.members if m.kind == "list"]
    everything = list(dict.fromkeys([*policy.channels, *policy.stores, *lists]))
    if not query.stores and not query.channels:
        return everything
    return [channels[n] for n in query.channels] + [stores[c] for c in query.stores]


def build_report(rt: Runtime, query: ReportQuery) -> dict[str, Any]:
    plan = rt.mapping.plan
    policy = policy_of(rt)
    if policy.problems:
        raise ConfigError("\n".join(str(p) for p in located(plan, policy.problems)))
    shown = members_of(policy, query)
    keys = {m.key for m in shown}
    filtered = bool(query.stores or query.channels)
    evaluator = Evaluator(plan, policy)
    channels = [m.name for m in policy.channels]
    rows: list[dict[str, Any]] = []
    scanned = 0
    next_after = None
    for page in sku_pages(rt.sessions, after=query.after, only=query.skus or None):
        with rt.sessions() as s:
            data = load(s, page, channels, policy.tills.check)
            since = _since(s, page)
        for sku in page:
            judged = evaluator.evaluate(
                sku, data.prices.get(sku, {}), data.updated.get(sku), data.held.get(sku),
                data.rings.get(sku),
            )  # fmt: skip
            scanned += 1
            entry = sku_json(judged, shown, since.get(sku, {}))
            if filtered:
                entry["divergences"] = [d for d in entry["divergences"] if d["member"] in keys]
            if entry["divergences"] or query.include_all:
                rows.append(entry)
            if query.limit is not None and len(rows) >= query.limit:
                next_after = sku
                break
        if next_after is not None:
            break
    currency = plan.prices.currency
    return {
        "basis": {
            "currency": currency,
            "tax_included": True,
            "places": policy.places,
            "note": BASIS_NOTE.format(currency=currency, places=policy.places),
        },
        "policy": policy.describe()
        | ({} if policy.declared else {"note": "no prices.parity block: defaults, no alerts"}),
        "members": [m.key for m in shown],
        "skus": rows,
        "summary": {
            "compared": scanned,
            "shown": len(rows),
            "divergent_skus": sum(1 for r in rows if r["divergences"]),
            "divergences": sum(len(r["divergences"]) for r in rows),
            "recorded_open": open_count(rt),
        },
        "next_after": next_after,
    }


def _since(s: Any, skus: Sequence[str]) -> dict[str, dict[tuple[str, str], str]]:
    found: dict[str, dict[tuple[str, str], str]] = {}
    query = select(
        PriceDivergence.sku, PriceDivergence.rule, PriceDivergence.member,
        PriceDivergence.first_seen,
    ).where(among(s, PriceDivergence.sku, skus), PriceDivergence.status == "open")  # fmt: skip
    for sku, rule, member, first_seen in s.execute(query):
        found.setdefault(sku, {})[(rule, member)] = first_seen.isoformat()
    return found


def sku_json(
    judged: SkuParity, shown: Sequence[Member], since: dict[tuple[str, str], str]
) -> dict[str, Any]:
    prices: dict[str, Any] = {}
    for member in shown:
        quote = judged.quotes.get(member.key)
        entry: dict[str, Any] = quote.as_json() if quote is not None else {"price": None}
        held = judged.held.get(member.key)
        if held is not None:
            entry["held"] = {
                "state": held.state,
                "price": text(held.price),
                "compare_at": text(held.compare_at),
                "at": None if held.at is None else held.at.isoformat(),
            }
        if member.key in judged.rings:
            entry["till"] = judged.rings[member.key]
        prices[member.key] = entry
    spread = judged.spread()
    return {
        "sku": judged.sku,
        "verdict": judged.verdict,
        "spread": None if spread is None else _spread(*spread),
        "prices": prices,
        "divergences": [
            {
                "rule": f.rule,
                "member": f.member,
                "observed": text(f.observed),
                "expected": text(f.expected),
                "message": f.message,
                "prices": f.prices,
                "since": since.get(f.key),
            }
            for f in judged.findings
        ],
        "allowed": list(judged.allowed),
        "errors": list(judged.errors),
    }


def _spread(low: Decimal, high: Decimal) -> dict[str, str | None]:
    percent = None
    if high:
        percent = text(((high - low) * 100 / high).quantize(Decimal("0.1"), ROUND_HALF_UP))
    return {"min": text(low), "max": text(high), "amount": text(high - low), "percent": percent}
