"""``GET /returns`` and ``GET /returns/{id}``: web orders returned at a store till.

They name customer orders and what was refunded: both sit behind the personal-data token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from bridge.sync.runtime import Runtime
from workers.routes import GUARDED

AUTH = (
    " Holds customer orders: requires `Authorization: Bearer <web.export_token>`; off when no"
    " token is set."
)


def router(rt: Runtime, guard: Callable[..., None]) -> APIRouter:
    api = APIRouter(tags=["returns"], dependencies=[Depends(guard)])

    @api.get(
        "/returns",
        summary="Web orders returned at a store till",
        description=(
            "Store returns that name a web order, newest first: the store ticket, the order "
            "it was matched to (`order` is null while `status` is `unmatched`, with "
            "`reason_code`: `unknown_order` until the order is journaled, `over_return`, "
            "`sku_not_on_order`, `ambiguous`, `order_not_completed`), whether the shop that "
            "sold it was told (`shop.status`: pending, done, failed, dead, unsupported), and "
            "`difference`: what the customer paid online against what the store refunded, "
            "`flagged` with the amount to refund when the store's price was lower. Amounts "
            "are exact decimal text in `currency`. The same JSON as `brique returns list "
            "--json`." + AUTH
        ),
        responses=GUARDED,
    )
    def list_returns(
        unmatched: Annotated[
            bool, Query(description="Only the returns still waiting for a match.")
        ] = False,
        limit: Annotated[int, Query(ge=1, le=5000, description="At most this many.")] = 500,
    ) -> JSONResponse:
        from bridge.returns import views

        with rt.sessions() as s:
            return JSONResponse(views.list_returns(s, unmatched=unmatched, limit=limit))

    @api.get(
        "/returns/{return_id}",
        summary="One store return of a web order",
        description=(
            "A store return with its lines: the SKU and quantity returned, what the till "
            "refunded, what the customer paid online for those units (on the store's tax "
            "basis), the store's shelf price, and the order lines the units came from. The "
            "same JSON as `brique returns show ID --json`." + AUTH
        ),
        responses={**GUARDED, 404: {"description": "No store return with that id."}},
    )
    def show_return(return_id: int) -> JSONResponse:
        from bridge.returns import views

        with rt.sessions() as s:
            try:
                return JSONResponse(views.show(s, return_id))
            except views.NotFound as exc:
                raise HTTPException(404, str(exc)) from None

    return api
