"""Thin tasks: take ids, call a ``bridge.sync`` use-case, let Celery retry what may pass."""

from __future__ import annotations

import threading

from celery import Task
from celery.signals import worker_process_init

from bridge.errors import RateLimited, TransientError
from bridge.sync import apply, ingest, outbox, push_prices, push_stock, reconcile, sweep
from bridge.sync.followups import FOLLOWUPS, resolve
from bridge.sync.runtime import Runtime
from workers.app import app
from workers.dispatch import CeleryDispatcher

_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    """One Runtime per worker process, built after fork (engines must not cross a fork)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime(app.conf.brique_settings, CeleryDispatcher(app))
        _runtime.mapping.reload_if_changed()
        return _runtime


@worker_process_init.connect
def _fresh_runtime(**_kwargs: object) -> None:
    global _runtime
    _runtime = None


class BriqueTask(Task):
    """Idempotent tasks: late ack, redelivery on worker loss, backoff on transient errors."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (TransientError,)
    dont_autoretry_for = (RateLimited,)
    retry_backoff = 2
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 8

    def __call__(self, *args: object, **kwargs: object) -> object:
        try:
            return super().__call__(*args, **kwargs)
        except RateLimited as exc:
            # Waiting for a rate limit is not a failure: it does not spend a retry.
            raise self.retry(exc=exc, countdown=exc.retry_after, max_retries=None) from exc


@app.task(name="brique.process_inbox", base=BriqueTask)
def process_inbox(inbox_id: int) -> None:
    rt = runtime()
    for shop in apply.process_inbox(rt, inbox_id):
        rt.dispatcher.push_stock(shop, delay=rt.settings.coalesce_seconds)


@app.task(name="brique.push_stock", base=BriqueTask)
def push_stock_task(connection: str) -> None:
    push_stock.push(runtime(), connection)


@app.task(name="brique.push_prices", base=BriqueTask)
def push_prices_task(connection: str) -> None:
    push_prices.push(runtime(), connection)


@app.task(name="brique.send_outbox", base=BriqueTask)
def send_outbox(outbox_id: int) -> None:
    outbox.send(runtime(), outbox_id)


@app.task(name="brique.poll", base=BriqueTask)
def poll(connection: str) -> None:
    rt = runtime()
    for stream in rt.connector(connection).streams():
        ingest.poll(rt, connection, stream)


@app.task(name="brique.reconcile_stock", base=BriqueTask)
def reconcile_stock(connection: str) -> None:
    reconcile.reconcile_stock(runtime(), connection)


@app.task(name="brique.sweep", base=BriqueTask)
def sweep_task() -> None:
    sweep.sweep(runtime())


def _followup(name: str) -> None:
    """One Celery task per ``bridge.sync.followups`` entry: ids in, the use-case runs."""

    def run(*args: object) -> object:
        return resolve(name)(runtime(), *args)

    run.__name__ = run.__qualname__ = name.rpartition(".")[2]
    app.task(name=name, base=BriqueTask)(run)


for _name in FOLLOWUPS:
    if _name not in app.tasks:  # e.g. brique.send_outbox, a task of its own above
        _followup(_name)
