"""``GET /prices/parity``: the price parity report (prices are not personal data: no token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from bridge.errors import ConfigError
from bridge.sync.runtime import Runtime


def router(rt: Runtime, guard: Callable[..., None]) -> APIRouter:
    api = APIRouter(tags=["prices"])

    @api.get(
        "/prices/parity",
        summary="Price parity: each SKU's price per channel and store, and divergences",
        description=(
            "Compares, now, every SKU's effective price on each shop channel (what the mapping "
            "computes from the price referential, and what the shop was last sent) and in "
            "each store (its price list through the fallbacks, and the latest unit price its "
            "tills rang up), against the policy in the mapping's `prices.parity` block: "
            "groups that must agree, tolerance, intended differences, exclusions. Every price "
            "is compared tax included, in `prices.currency`, rounded to the policy's places "
            "(`basis` says so); `native` is the price as the channel shows it or the list "
            "holds it. Only SKUs with a divergence are listed unless `all=true`; each "
            "divergence names its rule (`group:<name>`, `shop_holds`, `till`), the prices "
            "involved with their source, and `since` when it has been open. Pages with "
            "`limit` and `after` (the previous page's `next_after`). The same JSON as "
            "`brique prices parity --json`; writes nothing."
        ),
        responses={
            409: {
                "description": "The parity policy names stores or regions the mapping "
                "lacks (the messages give file:line:col)."
            },
            422: {"description": "An unknown store or channel in the filters."},
        },
    )
    def prices_parity(
        sku: Annotated[list[str] | None, Query(description="Only these SKUs.")] = None,
        store: Annotated[
            list[str] | None, Query(description="Only these stores (Brique location codes).")
        ] = None,
        channel: Annotated[
            list[str] | None, Query(description="Only these shop channels (connections).")
        ] = None,
        all: Annotated[
            bool, Query(description="Every SKU compared, not only divergent ones.")
        ] = False,
        limit: Annotated[int, Query(ge=1, le=10_000, description="SKUs per page.")] = 500,
        after: Annotated[str | None, Query(description="Continue after this SKU.")] = None,
    ) -> JSONResponse:
        from bridge.parity.report import ReportQuery, build_report

        query = ReportQuery(
            skus=tuple(sku or ()), stores=tuple(store or ()), channels=tuple(channel or ()),
            include_all=all, limit=limit, after=after,
        )  # fmt: skip
        try:
            return JSONResponse(build_report(rt, query))
        except ConfigError as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    return api
