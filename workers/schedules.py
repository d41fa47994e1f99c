"""Beat schedules, built from the configuration rather than written in code."""

from __future__ import annotations

from typing import Any

from bridge.settings import Settings
from workers.queues import queue_for


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {
        "sweep": {
            "task": "brique.sweep",
            "schedule": settings.sweep_seconds,
            "options": {"queue": queue_for(settings), "expires": settings.sweep_seconds},
        }
    }
    for name, conn in settings.connections.items():
        if not conn.enabled:
            continue
        for task, period in conn.schedules.items():
            schedule[f"{task}:{name}"] = {
                "task": f"brique.{task}",
                "schedule": period,
                "args": [name],
                # A poll that could not start within its period is replaced by the next one.
                "options": {"queue": queue_for(settings, name), "expires": max(period, 1.0)},
            }
    return schedule
