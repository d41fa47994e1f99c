"""HTTP: a customer's loyalty balance (personal data, behind the export token)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from bridge.sync.runtime import Runtime
from workers.routes import GUARDED


def router(rt: Runtime, guard: Callable[..., None]) -> APIRouter:
    api = APIRouter(tags=["loyalty"])

    @api.get(
        "/customers/{customer_id}/loyalty",
        summary="A customer's loyalty points balance",
        description=(
            "One balance per golden customer, across tills and web shops: the balance, its "
            "totals per kind (`earn`, `redeem`, `return`, `adjust`, as decimal text), the "
            "number of ledger entries, and what each connection under `loyalty.publish` was "
            "last sent per customer account. A merged id answers with the record it was "
            "merged into (compare `golden_id` with `customer_id`), whose balance includes "
            "the merged one's points. The same JSON as `brique loyalty show ID --json`. "
            "Personal data: requires `Authorization: Bearer <web.export_token>`; off when no "
            "token is set."
        ),
        responses={**GUARDED, 404: {"description": "No golden record with that id."}},
        dependencies=[Depends(guard)],
    )
    def customer_loyalty(customer_id: int) -> JSONResponse:
        from bridge.loyalty.ledger import UnknownCustomer
        from bridge.loyalty.views import show_json

        with rt.sessions() as s:
            try:
                return JSONResponse(show_json(s, customer_id))
            except UnknownCustomer as exc:
                raise HTTPException(404, str(exc)) from None

    return api
