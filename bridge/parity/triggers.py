"""When to compare: after a price change (the changed SKUs) and on the policy's schedule.

Kept free of the comparison's own imports: the price use-cases call ``after_price_change``
on every referential change, and the sweeper calls ``scan_if_due`` on every sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from bridge.mapping.parityspec import duration
from bridge.mapping.plan import MappingPlan
from bridge.sync.runtime import Runtime

CHECK = "brique.check_parity"
FULL_SCAN_OVER = 500
"""More changed SKUs than this in one change (a whole price list): one full comparison."""


def after_price_change(plan: MappingPlan, skus: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The follow-up comparing SKUs whose referential prices changed (none when the mapping
    declares no parity policy); dispatch it after the commit."""
    parity = plan.spec.prices.parity
    changed = sorted(set(skus))
    if parity is None or not parity.enabled or not changed:
        return []
    if len(changed) > FULL_SCAN_OVER:
        return [(CHECK, ())]
    return [(CHECK, tuple(changed))]


def scan_if_due(rt: Runtime) -> bool:
    """Ask for a full comparison when the policy's interval has passed since the last
    request; one read of one row otherwise (called on every sweep)."""
    parity = rt.mapping.plan.spec.prices.parity
    if parity is None or not parity.enabled:
        return False
    from bridge.parity.evaluate import utc
    from bridge.parity.tills import lock_state

    now = datetime.now(UTC)
    with rt.transaction() as s:
        state = lock_state(s)
        last = state.scan_requested_at
        if last is not None and utc(last) + duration(parity.every) > now:
            return False
        state.scan_requested_at = now
    rt.dispatcher.call(CHECK)
    return True
