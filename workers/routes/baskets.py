"""HTTP routes for baskets (being written)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from bridge.sync.runtime import Runtime


def router(rt: Runtime, guard: Callable[..., None]) -> APIRouter:
    return APIRouter()
