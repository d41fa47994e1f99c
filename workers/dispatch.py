"""The Celery-backed dispatcher: use-cases ask for follow-up work, this sends ids."""

from __future__ import annotations

from collections.abc import Sequence

from celery import Celery

from workers.queues import queue_for


class CeleryDispatcher:
    def __init__(self, app: Celery) -> None:
        self.app = app
        self.settings = app.conf.brique_settings

    def _queue(self, connection: str) -> str:
        return queue_for(self.settings, connection)

    def process_inbox(self, connection: str, inbox_ids: Sequence[int]) -> None:
        queue = self._queue(connection)
        with self.app.producer_or_acquire() as producer:
            for inbox_id in inbox_ids:
                self.app.send_task(
                    "brique.process_inbox", args=[inbox_id], queue=queue, producer=producer
                )

    def push_stock(self, connection: str, delay: float = 0.0) -> None:
        self.app.send_task(
            "brique.push_stock", args=[connection], queue=self._queue(connection), countdown=delay
        )

    def push_prices(self, connection: str, delay: float = 0.0) -> None:
        self.app.send_task(
            "brique.push_prices", args=[connection], queue=self._queue(connection), countdown=delay
        )

    def send_outbox(self, connection: str, outbox_id: int, delay: float = 0.0) -> None:
        self.app.send_task(
            "brique.send_outbox", args=[outbox_id], queue=self._queue(connection), countdown=delay
        )

    def call(
        self, task: str, *args: object, connection: str | None = None, delay: float = 0.0
    ) -> None:
        queue = queue_for(self.settings, connection)
        self.app.send_task(task, args=list(args), queue=queue, countdown=delay or None)
