"""Compare prices and record divergences: the follow-up ``brique.check_parity``.

Called with SKUs after a price change, or with none for the scheduled full comparison.
SKUs are judged a page at a time, each page in its own short transaction (a long scan never
holds the database), and the alerts of a page are dispatched after its commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bridge.events import DELIVER
from bridge.parity import state, tills
from bridge.parity.evaluate import Evaluator
from bridge.parity.policy import Policy, compile_policy, located
from bridge.parity.snapshot import load, sku_pages
from bridge.parity.tables import PriceDivergence
from bridge.sync.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass
class ScanResult:
    skus: int = 0
    opened: int = 0
    resolved: int = 0
    events: int = 0
    rings: int = 0
    """Journal rows read for till prices."""
    skipped: str | None = None


def policy_of(rt: Runtime) -> Policy:
    return compile_policy(rt.mapping.plan, rt.shop_connections())


def check_parity(rt: Runtime, *skus: str) -> ScanResult:
    """Compare ``skus`` (every SKU of the referential when none) and record divergences;
    idempotent: a second run with nothing changed only moves ``last_seen``."""
    plan = rt.mapping.plan
    policy = policy_of(rt)
    if not policy.active:
        return ScanResult(skipped="no prices.parity policy in the mapping, or it is disabled")
    if policy.problems:
        problems = [str(p) for p in located(plan, policy.problems)]
        log.error("price_parity_misconfigured", problems=problems)
        return ScanResult(skipped="; ".join(problems))
    currency = plan.prices.currency
    if currency is None:
        return ScanResult(skipped="prices.currency is not set in the mapping")
    result = ScanResult()
    if policy.tills.check:
        result.rings = tills.catch_up(rt, policy.tills.within)
    evaluator = Evaluator(plan, policy)
    channels = [m.name for m in policy.channels]
    for page in sku_pages(rt.sessions, only=skus or None):
        now = datetime.now(UTC)
        with rt.transaction() as s:
            data = load(s, page, channels, policy.tills.check)
            judged = [
                evaluator.evaluate(
                    sku, data.prices.get(sku, {}), data.updated.get(sku), data.held.get(sku),
                    data.rings.get(sku), now,
                )
                for sku in page
            ]  # fmt: skip
            events, opened, resolved = state.record(s, judged, currency, now)
        _deliver(rt, events, result)
        result.skus += len(page)
        result.opened += opened
        result.resolved += resolved
    if not skus:
        _finish_full_scan(rt, result)
    log.info(
        "price_parity_checked", skus=result.skus, opened=result.opened,
        resolved=result.resolved, full=not skus,
    )  # fmt: skip
    return result


def _finish_full_scan(rt: Runtime, result: ScanResult) -> None:
    while True:  # divergences of SKUs gone from the referential end too
        now = datetime.now(UTC)
        with rt.transaction() as s:
            events, count = state.resolve_orphans(s, now)
        _deliver(rt, events, result)
        result.resolved += count
        if count == 0:
            break
    with rt.transaction() as s:
        row = tills.lock_state(s)
        row.scan_finished_at, row.skus_scanned = datetime.now(UTC), result.skus


def _deliver(rt: Runtime, events: list[int], result: ScanResult) -> None:
    for event_id in events:
        rt.dispatcher.call(DELIVER, event_id)
    result.events += len(events)


def open_count(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(PriceDivergence)
                .where(PriceDivergence.status == "open")
            )
            or 0
        )


def health_alerts(rt: Runtime) -> list[str]:
    """``/health``'s alert for open divergences: one indexed count, never a comparison
    (none once the mapping switches the watchdog off: nobody would ever resolve them)."""
    parity = rt.mapping.plan.spec.prices.parity
    if parity is None or not parity.enabled:
        return []
    try:
        count = open_count(rt)
    except SQLAlchemyError as exc:
        return [f"price parity: divergences cannot be counted ({type(exc).__name__})"]
    if not count:
        return []
    return [f"price divergence: {count} open (brique prices parity, GET /prices/parity)"]
