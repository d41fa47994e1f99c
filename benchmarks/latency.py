"""Latency from a POSLog file landing in the drop folder to the web shop's stock moving.

This is the number a retailer feels: a sale at the till, how long until the web shop
stops selling the last unit. The whole installation runs for real: beat polls the drop
folder every 0.5 s, a prefork worker ingests, applies and pushes (coalescing writes), and
the Shopify sandbox serves real HTTP in this process. Its ``set_quantities`` is wrapped to
timestamp every applied write with the levels it left, so visibility is exact, with no
polling thread competing for the GIL.

Ticket ``k`` of a SKU is visible when the shop's level for that SKU first reaches
``start - k`` (every ticket sells one unit; levels only go down). The baseline, measured in
the same run, is a ticket dropped alone on an idle system; the burst's percentiles are
reported as ratios to it, and writes << tickets shows the coalescing at work.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.install import Installation, write_yaml
from benchmarks.report import logs_dir, table
from benchmarks.services import EMBEDDED, PG_REDIS, Backend, across, database
from connectors.poslog.samples import Line, ticket

SKUS = ["TSHIRT-RED-M", "TSHIRT-RED-L", "JEANS-BLUE-32", "COFFEE-BEANS-1KG"]
PARIS = "gid://shopify/Location/1001"
TOKEN = "bench-admin-token"
COUNTED = 100_000
POLL_SECONDS = 0.5


def shop_seed() -> dict[str, Any]:
    return {
        "shop": {"name": "bench shop"},
        "locations": [{"id": PARIS, "name": "Paris"}],
        "variants": [
            {"sku": sku, "inventory_item": f"gid://shopify/InventoryItem/{100 + n}"}
            for n, sku in enumerate(SKUS)
        ],
        "levels": [],
    }


class WriteLog:
    """Every write the sandbox applies, as (monotonic time, {sku: available at Paris})."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.events: list[tuple[float, dict[str, int]]] = []
        original = state.set_quantities

        def recording(data: Any, version: str) -> dict[str, Any]:
            result = original(data, version)  # called under state.lock
            if not result["userErrors"]:
                self.events.append((time.monotonic(), self._levels()))
            return result

        state.set_quantities = recording

    def _levels(self) -> dict[str, int]:
        items = self.state.items
        return {
            items[item]["sku"]: values["available"]
            for (item, location), values in self.state.levels.items()
            if location == PARIS
        }

    def levels(self) -> dict[str, int]:
        with self.state.lock:
            return self._levels()


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, alive: Callable[[], None]
) -> None:
    """Wait for ``predicate``; ``alive`` raises as soon as a Brique process has died."""
    deadline = time.monotonic() + timeout
    checked = time.monotonic()
    while not predicate():
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        if now - checked > 0.5:
            alive()
            checked = now
        time.sleep(0.002)


def visible_at(
    events: list[tuple[float, dict[str, int]]], sku: str, level: int, after: float
) -> float | None:
    """First write time (>= after) at which ``sku`` was at or below ``level``."""
    for at, levels in events:
        if at >= after and levels.get(sku, COUNTED) <= level:
            return at
    return None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Drops:
    """Writes tickets into the drop folder atomically (temp name, then rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sequence = 0

    def drop(self, sku: str) -> float:
        self.sequence += 1
        name = f"ticket-{self.sequence:06d}.xml"
        tmp = self.folder / f".{name}.part"
        tmp.write_bytes(ticket("1001", self.sequence, [Line(sku, "1")]))
        tmp.rename(self.folder / name)
        return time.monotonic()


def diagnose(rt: Any, writes: WriteLog, wanted: dict[str, int], worker_log: str) -> str:
    """Where the missing tickets are: database state against what the shop shows, and the
    tasks the worker received but never finished (a hung pool process shows up there)."""
    from sqlalchemy import func, select

    from bridge.store.tables import (
        ConnectionState,
        InboxRow,
        OutboxRow,
        StockMovementRow,
        StockPublication,
    )

    def grouped(column: Any, value: Any) -> dict[Any, Any]:
        return dict(s.execute(select(column, value).group_by(column)).tuples().all())

    with rt.sessions() as s:
        inbox = grouped(InboxRow.status, func.count())
        outbox = grouped(OutboxRow.status, func.count())
        ledger = grouped(StockMovementRow.sku, func.sum(StockMovementRow.delta_e4))
        pubs = [
            (p.sku, p.dirty, p.claimed_by, p.published_e4 and p.published_e4 // 10_000)
            for p in s.scalars(select(StockPublication))
        ]
        requested = {c.name: c.push_requested_at for c in s.scalars(select(ConnectionState))}
    return (
        f"inbox {inbox}, outbox {outbox}; shop {writes.levels()} wanted {wanted}; "
        f"ledger { {k: v // 10_000 for k, v in ledger.items()} }; "
        f"publications (sku, dirty, claimed_by, published) {pubs}; "
        f"push requested at {requested}; unfinished tasks {unfinished(worker_log)}"
    )


def unfinished(worker_log: str) -> list[str]:
    """Tasks with a "received" line and no outcome line (succeeded, raised, retry, revoked)."""
    received = re.findall(r"(brique\.\w+)\[([^]]+)\] received", worker_log)
    ended = set(re.findall(r"\[([^]]+)\] (?:succeeded|raised|retry)", worker_log))
    ended |= set(re.findall(r"Discarding revoked task: brique\.\w+\[([^]]+)\]", worker_log))
    return [f"{name}[{task_id}]" for name, task_id in received if task_id not in ended]


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def measure(backend: Backend, tickets: int, spread: float, idle: int) -> dict[str, Any]:
    from bridge.sync.runtime import Runtime
    from bridge.sync.stock_import import import_counts
    from connectors.shopify.sandbox import SandboxServer
    from workers.dispatch import CeleryDispatcher

    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="brique-bench-")))
        url = stack.enter_context(database(backend, root))
        sandbox = stack.enter_context(SandboxServer(shop_seed(), access_token=TOKEN))
        writes = WriteLog(sandbox.state)
        incoming = root / "incoming"
        incoming.mkdir()
        mapping = write_yaml(
            root / "mapping.yaml",
            {
                "version": 1,
                "locations": [{"code": "PARIS-01", "ids": {"tills": "1001", "webshop": PARIS}}],
            },
        )
        connections = {
            "tills": {
                "connector": "poslog",
                "config": {"drop_folder": str(incoming), "default_currency": "EUR"},
                "schedules": {"poll": POLL_SECONDS},
            },
            "webshop": {
                "connector": "shopify",
                "config": {
                    "shop_url": sandbox.url,
                    "access_token": TOKEN,
                    "webhook_secret": "bench-hook-secret",
                },
            },
        }
        inst = Installation(root, backend, url, connections, mapping=str(mapping))
        inst.logs_to = logs_dir("latency", backend.name)
        stack.callback(inst.close)
        rt = Runtime(inst.settings, CeleryDispatcher(inst.celery))
        stack.callback(rt.close)
        inst.worker(2)
        inst.start("beat").wait_for("beat: Starting")

        counts = root / "count.csv"
        counts.write_text(
            "sku,location,quantity\n" + "".join(f"{s},PARIS-01,{COUNTED}\n" for s in SKUS)
        )
        import_counts(rt, counts)
        wait_until(
            lambda: all(v == COUNTED for v in writes.levels().values()),
            60,
            "the counted stock",
            inst.check_alive,
        )

        drops = Drops(incoming)
        rng = random.Random(7)
        idle_ms = []
        for n in range(idle):
            time.sleep(rng.uniform(0.3, 0.8))  # land at a different phase of the poll each time
            sku = SKUS[n % len(SKUS)]
            target = writes.levels()[sku] - 1
            dropped = drops.drop(sku)
            wait_until(
                lambda s=sku, t=target: writes.levels()[s] <= t,
                30,
                "an idle ticket",
                inst.check_alive,
            )
            at = visible_at(writes.events, sku, target, dropped)
            assert at is not None
            idle_ms.append((at - dropped) * 1000)

        time.sleep(1.0)
        start_levels = writes.levels()
        first_write = len(writes.events)
        mutations = sandbox.state.stats["mutations"]
        throttled = sandbox.state.stats["throttled"]
        sold: dict[str, int] = defaultdict(int)
        expected: list[tuple[str, int, float]] = []
        begin = time.monotonic()
        for n in range(tickets):
            pause = begin + n * spread / tickets - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sku = SKUS[n % len(SKUS)]
            sold[sku] += 1
            expected.append((sku, start_levels[sku] - sold[sku], drops.drop(sku)))
        dropped_in = time.monotonic() - begin
        wanted = {s: start_levels[s] - sold[s] for s in sold}
        try:
            wait_until(
                lambda: all(writes.levels()[s] <= wanted[s] for s in sold),
                120,  # stranded work comes back with the sweeper within stale_seconds + sweep
                "every burst ticket on the shop",
                inst.check_alive,
            )
        except RuntimeError as exc:
            try:
                why = diagnose(rt, writes, wanted, inst.processes[0].output())
            except Exception as failed:  # the timeout is the finding; keep it
                why = f"no diagnosis ({type(failed).__name__}: {failed})"
            raise RuntimeError(f"{exc}; {why}") from None
        burst_events = writes.events[first_write:]
        latencies = []
        for sku, level, dropped in expected:
            at = visible_at(burst_events, sku, level, dropped)
            assert at is not None
            latencies.append((at - dropped) * 1000)
        worker_log = inst.processes[0].output()
        result = {
            "backend": backend.name,
            "tickets": tickets,
            "dropped_in_s": dropped_in,
            "idle_ms": idle_ms,
            "idle_median_ms": statistics.median(idle_ms),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies),
            "writes": len(burst_events),
            "mutations": sandbox.state.stats["mutations"] - mutations,
            "throttled": sandbox.state.stats["throttled"] - throttled,
            "last_visible_after_drop_end_s": burst_events[-1][0] - (begin + dropped_in),
            # One poller claims each file, so these should stay at 0 and == tickets_dropped.
            "failed_polls": _count(r"brique\.poll\[[^]]+\] raised", worker_log),
            "push_tasks": _count(r"brique\.push_stock\[[^]]+\] received", worker_log),
            "rate_limited_retries": _count(r"brique\.push_stock\[[^]]+\] retry", worker_log),
            # Only the sweeper sends send_outbox: a stock write left pending for stale_seconds.
            "outbox_resent_by_sweeper": _count(
                r"brique\.send_outbox\[[^]]+\] received", worker_log
            ),
            "files_in_done": sum(1 for _ in (incoming / "done").glob("*.xml")),
            "tickets_dropped": drops.sequence,
        }
        result["p99_over_idle"] = result["p99_ms"] / result["idle_median_ms"]
        result["p50_over_idle"] = result["p50_ms"] / result["idle_median_ms"]
        return result


def run(quick: bool) -> dict[str, Any]:
    tickets, spread, idle = (100, 1.0, 3) if quick else (1000, 5.0, 5)
    rows, skipped, failed = across(
        "latency",
        (EMBEDDED, PG_REDIS),
        f"{tickets} tickets over {spread:.0f} s",
        lambda b: measure(b, tickets, spread, idle),
    )
    result: dict[str, Any] = {
        "tickets": tickets,
        "spread_s": spread,
        "poll_s": POLL_SECONDS,
        "rows": rows,
        "skipped": skipped,
        "failed": failed,
    }
    keys = ("idle_median_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    keys += ("p50_over_idle", "p99_over_idle", "writes")
    result["table"] = table(
        f"Drop-to-shop latency: {tickets:,} tickets as separate files over {spread:.0f} s "
        f"(beat poll {POLL_SECONDS} s, default coalescing); idle = median of one ticket alone",
        ["backend", "idle ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "p50/idle", "p99/idle",
         "writes", "tickets/write"],
        [[r["backend"], *(r[k] for k in keys), r["tickets"] / max(1, r["writes"])] for r in rows]
        + [[name, "skipped", *([None] * 8)] for name in skipped]
        + [[name, "FAILED", *([None] * 8)] for name in failed],
    )  # fmt: skip
    for r in rows:
        result["table"] += (
            f"\n  {r['backend']}: {r['failed_polls']} poll task(s) failed, "
            f"{r['files_in_done']} file(s) in done/ for {r['tickets_dropped']} dropped, "
            f"{r['push_tasks']} push_stock tasks, {r['throttled']} throttled, "
            f"{r['rate_limited_retries']} rate-limited push retries, "
            f"{r['outbox_resent_by_sweeper']} write(s) resent by the sweeper; last ticket "
            f"visible {r['last_visible_after_drop_end_s']:.1f} s after the last drop"
        )
    for name, why in failed.items():
        result["table"] += f"\n  {name} FAILED: {why}"
    return result
