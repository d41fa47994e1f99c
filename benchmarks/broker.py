"""Task throughput of a real worker on each transport: is the embedded default fast enough?

The issue asks the embedded filesystem transport for at least 100 tasks/s. We send a burst
of ``brique.process_inbox`` for inbox ids that do not exist: the real task, through the real
worker (prefork, acks_late, prefetch 1), that returns after one primary-key SELECT. So the
figure is the transport's and Celery's overhead, not Brique's sync work. Results are never
stored (DESIGN.md section 3), so completions are counted from the worker's own "succeeded"
log lines. Redis and RabbitMQ (with PostgreSQL, the production pairing) are the baselines
measured in the same run; the headline figure is embedded / Redis.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.install import Installation, Process
from benchmarks.report import logs_dir, table
from benchmarks.services import EMBEDDED, PG_RABBITMQ, PG_REDIS, Backend, across, database

SUCCEEDED = b"] succeeded in "
MISSING_ID = 2_000_000_000  # no inbox row has this id: the task ends after one SELECT


class SuccessCounter:
    """Counts "succeeded" lines appended to a worker log, reading only the new bytes."""

    def __init__(self, proc: Process) -> None:
        self._fh = proc.log.open("rb")
        self._fh.seek(0, 2)
        self._tail = b""
        self.count = 0

    def poll(self) -> int:
        data = self._tail + self._fh.read()
        cut = data.rfind(b"\n") + 1
        self.count += data[:cut].count(SUCCEEDED)
        self._tail = data[cut:]
        return self.count

    def close(self) -> None:
        self._fh.close()


def _embedded_polling() -> float:
    from workers.app import EMBEDDED_POLLING

    return EMBEDDED_POLLING


def _send(inst: Installation, n: int) -> None:
    from workers.queues import queue_for

    queue = queue_for(inst.settings)
    with inst.celery.producer_or_acquire() as producer:
        for _ in range(n):
            inst.celery.send_task(
                "brique.process_inbox", args=[MISSING_ID], queue=queue, producer=producer
            )


def _wait(counter: SuccessCounter, n: int, inst: Installation, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while counter.poll() < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {counter.count}/{n} tasks succeeded after {timeout}s")
        inst.check_alive()
        time.sleep(0.005)
    return time.monotonic()


def measure(backend: Backend, tasks: int, concurrency: int = 2) -> dict[str, Any]:
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="brique-bench-")))
        url = stack.enter_context(database(backend, root))
        inst = Installation(root, backend, url)
        stack.callback(inst.close)
        inst.logs_to = logs_dir("broker", backend.name)
        worker = inst.worker(concurrency)
        counter = SuccessCounter(worker)
        stack.callback(counter.close)
        # Warm up: forked pool children build their Runtime on their first task.
        _send(inst, concurrency * 4)
        _wait(counter, concurrency * 4, inst, 60)
        counter.count = 0
        start = time.monotonic()
        _send(inst, tasks)
        sent = time.monotonic()
        end = _wait(counter, tasks, inst, 120)
    return {
        "backend": backend.name,
        "tasks": tasks,
        "concurrency": concurrency,
        "send_seconds": sent - start,
        "seconds": end - start,
        "tasks_per_s": tasks / (end - start),
    }


def run(quick: bool) -> dict[str, Any]:
    tasks = 300 if quick else 2000
    rows, skipped, failed = across(
        "broker", (EMBEDDED, PG_REDIS, PG_RABBITMQ), f"{tasks} tasks", lambda b: measure(b, tasks)
    )
    polling = _embedded_polling()  # after an Installation has pointed $BRIQUE_CONFIG at its file
    by_name = {r["backend"]: r for r in rows}
    embedded = by_name.get(EMBEDDED.name)
    redis = by_name.get(PG_REDIS.name)
    for row in rows:
        row["vs_redis"] = row["tasks_per_s"] / redis["tasks_per_s"] if redis else None
    result = {
        "tasks": tasks,
        "rows": rows,
        "skipped": skipped,
        "failed": failed,
        "embedded_over_redis": embedded["tasks_per_s"] / redis["tasks_per_s"]
        if embedded and redis
        else None,
        "embedded_meets_100_per_s": embedded["tasks_per_s"] >= 100 if embedded else None,
        "embedded_polling_s": polling,
    }
    result["table"] = table(
        f"Task throughput: {tasks:,} x brique.process_inbox (no-op), real worker, prefork 2; "
        f"embedded polls every {polling * 1000:.0f} ms (issue target: >= 100 tasks/s)",
        ["backend", "tasks/s", "x Redis", "send s", "total s"],
        [
            [r["backend"], r["tasks_per_s"], r["vs_redis"], r["send_seconds"], r["seconds"]]
            for r in rows
        ]
        + [[name, "skipped", None, None, None] for name in skipped]
        + [[name, "FAILED", None, None, None] for name in failed],
    )
    for name, why in failed.items():
        result["table"] += f"\n  {name} FAILED: {why}"
    return result
