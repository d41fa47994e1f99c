"""Baskets across channels: handoff codes, the lifecycle journal, conversion, the guard."""
