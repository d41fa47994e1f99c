"""Queue names: one per connection, under this installation's prefix."""

from __future__ import annotations

from bridge.settings import Settings


def queue_for(settings: Settings, connection: str | None = None) -> str:
    """One queue per connection, so a slow shop never starves POS ingestion."""
    prefix = settings.queue_prefix
    return f"{prefix}.{connection}" if connection else prefix


def all_queues(settings: Settings) -> list[str]:
    return [queue_for(settings), *(queue_for(settings, name) for name in settings.connections)]
