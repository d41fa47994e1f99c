"""The Celery app, configured from Brique's settings.

Embedded default: kombu's filesystem transport in the data folder, made safe for several
processes (``workers.embedded``), real worker processes, polling tuned to 10 ms (kombu sleeps
one interval whenever the prefetch is full, so the interval caps throughput). Production:
Redis or RabbitMQ by URL. Results are never stored: sync state lives in Brique's own tables
(DESIGN.md section 3).
"""

from __future__ import annotations

from celery import Celery

from bridge.settings import Settings, load_settings
from workers import embedded
from workers.queues import queue_for
from workers.schedules import beat_schedule

EMBEDDED_POLLING = 0.01


def broker_options(settings: Settings) -> dict[str, object]:
    if settings.embedded_broker:
        folder = settings.broker_folder()
        for sub in ("queue", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": EMBEDDED_POLLING,
        }
    url = settings.resolved_broker_url()
    if url.startswith(("redis", "rediss")):
        # Above the longest countdown we use; a task of a killed worker comes back after it,
        # and the sweeper re-dispatches from the database long before that anyway.
        return {"visibility_timeout": 3600}
    return {}


def create_app(settings: Settings) -> Celery:
    broker = f"{embedded.ALIAS}://" if settings.embedded_broker else settings.resolved_broker_url()
    app = Celery("brique", broker=broker, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue_for(settings),
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=not settings.embedded_broker,
        worker_send_task_events=False,
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
        enable_utc=True,
    )
    app.conf.brique_settings = settings
    return app


settings = load_settings()
app = create_app(settings)
