"""Business events over HTTP: what was emitted, and what each subscriber received."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from bridge.errors import ConfigError
from bridge.events import delivery, views
from bridge.sync.runtime import Runtime
from workers.routes import GUARDED


def router(rt: Runtime, guard: Callable[..., None]) -> APIRouter:
    api = APIRouter(tags=["events"])
    token = [Depends(guard)]
    guarded = GUARDED

    @api.get(
        "/events",
        summary="Business events emitted, with their deliveries",
        description=(
            "Events oldest first (`basket.created`, `basket.abandoned`, "
            "`basket.purchased_in_store`, `price.divergence`...), each with one delivery per "
            "subscriber (status, attempts, next try). Page with `after` = the last id seen. "
            "Subscribers receive each event as a POST signed with `Brique-Signature: "
            't=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under their secret, and '
            "de-duplicate on `Brique-Event-Id`. Requires the bearer token (payloads may "
            "hold customers)."
        ),
        responses=guarded,
        dependencies=token,
    )
    def events(
        topic: Annotated[str | None, Query(description="A topic, or a prefix ending in *.")] = None,
        subject: Annotated[str | None, Query(description="e.g. basket/K7M4-QXZ3")] = None,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        with rt.sessions() as s:
            return JSONResponse(
                views.listing(s, topic=topic, subject=subject, after=after, limit=limit)
            )

    @api.get(
        "/events/{event_id}",
        summary="One event, every delivery and every attempt",
        description=(
            "The event's payload and, per subscriber, the delivery (status, attempts, next "
            "try) with every attempt (start, end, HTTP status, outcome, error). Requires the "
            "bearer token."
        ),
        responses={**guarded, 404: {"description": "No such event."}},
        dependencies=token,
    )
    def event(event_id: int) -> JSONResponse:
        with rt.sessions() as s:
            found = views.one(s, event_id)
        if found is None:
            raise HTTPException(404, f"no event {event_id}")
        return JSONResponse(found)

    @api.post(
        "/events/deliveries/{delivery_id}/redeliver",
        status_code=202,
        summary="Send a delivery again (a new round of attempts)",
        description=(
            "Puts a dead (or delivered) delivery back to pending with a fresh attempt budget "
            "and queues it for the workers; the subscriber receives the same event id again. "
            "Requires the bearer token."
        ),
        responses={**guarded, 404: {"description": "No such delivery."}},
        dependencies=token,
    )
    def redeliver(delivery_id: int) -> JSONResponse:
        try:
            what = delivery.redeliver(rt, delivery_id)
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from None
        return JSONResponse({"queued": what}, status_code=202)

    return api
