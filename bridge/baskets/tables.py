"""Baskets and their append-only lifecycle journal (filled by the baskets change)."""
