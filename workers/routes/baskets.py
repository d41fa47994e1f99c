"""Baskets over HTTP: build one in a store, find it by code at a till, hand it to a
platform, show its QR code, its journal, a customer's baskets and abandoned carts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bridge.baskets import codes, flows, qr
from bridge.baskets.service import NotFound
from bridge.errors import ConfigError, DataError
from bridge.model import BasketLine, CustomerRef, Money
from bridge.sync.runtime import Runtime
from workers.routes import GUARDED


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, description="Brique's SKU (canonical).")
    quantity: Decimal = Field(gt=0, description='Decimal text, e.g. "2" or "0.750".')
    unit_price: Decimal | None = Field(default=None, description="Price seen, decimal text.")


class BasketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[LineIn] = Field(min_length=1)
    store: str | None = Field(default=None, description="Brique location code of the store.")
    currency: str | None = Field(default=None, description="Default: the mapping's currency.")
    customer: CustomerRef | None = None
    kind: Literal["active", "wish_list", "quote"] = "active"
    request_id: str | None = Field(
        default=None,
        description="Your id for this request: sending it again returns the same basket.",
    )


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: str = Field(description="Where to open it: a POS (draft sale) or a shop (cart).")
    store: str | None = Field(default=None, description="Brique location code (for a till).")


def _errors(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except codes.CodeError as exc:
        raise HTTPException(422, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (DataError, ConfigError) as exc:
        raise HTTPException(422, str(exc)) from None


def router(rt: Runtime, guard: Callable[..., None]) -> APIRouter:
    api = APIRouter(tags=["baskets"])
    token = [Depends(guard)]
    guarded = GUARDED
    code_doc = (
        " `code` is the handoff code as typed or scanned: dashes, spaces and case do not "
        "matter, O is read as 0 and I or L as 1; a mistyped character is refused (422) by its "
        "check character before any look-up."
    )

    @api.post(
        "/baskets",
        status_code=201,
        summary="Build a basket (showroom scans at a store, a quote, a wish list)",
        description=(
            "Creates a basket with a handoff code a person can read aloud and returns it with "
            "its journal. Hand it to a shop with `POST /baskets/{code}/handoff` to get a "
            "checkout link and its QR code. `request_id` makes a retried request return the "
            "same basket. Requires the bearer token (it may hold a customer)."
        ),
        responses={**guarded, 422: {"description": "Unknown store, no line, bad kind."}},
        dependencies=token,
    )
    def create(body: BasketIn) -> JSONResponse:
        lines = [
            BasketLine(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=None
                if line.unit_price is None
                else Money(amount=line.unit_price, currency=body.currency or _currency(rt)),
            )
            for line in body.lines
        ]
        view = _errors(
            lambda: flows.build(
                rt,
                lines=lines,
                store=body.store,
                currency=body.currency,
                customer=body.customer,
                kind=body.kind,
                request_id=body.request_id,
            )
        )
        return JSONResponse(view, status_code=201)

    @api.get(
        "/baskets/{code}",
        summary="A basket by its handoff code (at the till: re-priced and stock-checked)",
        description=(
            "The basket, its handoffs (platform ids and links) and its lifecycle journal. With "
            "`store`, every line is re-priced with that store's price list (from the price "
            "referential, through the mapping's fallbacks) and checked against that store's "
            "stock (on hand minus reservations); `at_store.lines[].notes` lists each "
            "difference (price, shortage, no store price)." + code_doc
        ),
        responses={**guarded, 404: {"description": "No basket with that code."}},
        dependencies=token,
    )
    def get(
        code: str,
        store: Annotated[str | None, Query(description="Brique location code.")] = None,
    ) -> JSONResponse:
        return JSONResponse(_errors(lambda: flows.show(rt, code, store)))

    @api.post(
        "/baskets/{code}/handoff",
        status_code=202,
        summary="Hand a basket over: a draft sale at a till, or a web cart with its link",
        description=(
            "Queues opening the basket on `connection` through the outbox (retried, "
            "idempotent: asking again changes nothing while it is pending or open). A POS "
            "gets a draft/suspended sale carrying the code; a shop gets a cart whose "
            "checkout link appears in `handoffs[].url` and in the QR code once the shop "
            "answered." + code_doc
        ),
        responses={**guarded, 404: {"description": "No basket with that code."}},
        dependencies=token,
    )
    def hand_over(code: str, body: HandoffIn) -> JSONResponse:
        view = _errors(lambda: flows.handoff(rt, code, body.connection, body.store))
        return JSONResponse(view, status_code=202)

    @api.get(
        "/baskets/{code}/qr.{kind}",
        summary="The basket's QR code (PNG or SVG)",
        description=(
            "Holds the web checkout link once the basket is open on a shop, else the "
            "platform's own link, else `baskets.public_url`/baskets/CODE, else the code "
            "itself (a till scans it). No token: it shows no personal data." + code_doc
        ),
        responses={
            200: {"content": {"image/png": {}, "image/svg+xml": {}}},
            404: {"description": "No basket with that code."},
        },
        response_class=Response,
    )
    def qr_code(code: str, kind: Literal["png", "svg"]) -> Response:
        content = _errors(lambda: flows.qr_content(rt, code))
        data, media = qr.render(content, kind)
        return Response(data, media_type=media, headers={"Cache-Control": "no-store"})

    @api.get(
        "/baskets/by-source/{connection}/{source_id}",
        summary="The basket Brique made of a platform's cart (to show its code)",
        description=(
            "Look-up by the platform's own cart or checkout id (e.g. Shopify's cart token), "
            "so a shop page can show the customer the code to give at a till."
        ),
        responses={**guarded, 404: {"description": "Not known (yet)."}},
        dependencies=token,
    )
    def from_source(connection: str, source_id: str) -> JSONResponse:
        return JSONResponse(_errors(lambda: flows.by_source(rt, connection, source_id)))

    @api.get(
        "/customers/{customer_id}/baskets",
        summary="A customer's baskets with their lifecycle journals",
        description=(
            "Every basket filed under the golden record (and records merged into it), "
            "newest first, each with its journal (created, updated, wish_list, quote, "
            "abandoned, transferred, converted, expired, purchased_in_store...)."
        ),
        responses=guarded,
        dependencies=token,
    )
    def customer_baskets(customer_id: int) -> JSONResponse:
        return JSONResponse(flows.customer_baskets(rt, customer_id))

    @api.get(
        "/customers/{customer_id}/abandoned-carts",
        summary="A customer's abandoned web carts, and whether a reminder may be sent",
        description=(
            "Abandoned carts of the golden record. A cart whose items the same customer "
            "bought in a store within `baskets.guard_window_seconds` is not actionable: no "
            "reminder. `actionable=true` lists only those a marketing tool may remind."
        ),
        responses=guarded,
        dependencies=token,
    )
    def abandoned(
        customer_id: int,
        actionable: Annotated[bool, Query(description="Only carts to remind.")] = False,
    ) -> JSONResponse:
        return JSONResponse(flows.abandoned_carts(rt, customer_id, only_actionable=actionable))

    return api


def _currency(rt: Runtime) -> str:
    currency = rt.mapping.plan.prices.currency
    if currency is None:
        raise HTTPException(422, "give a currency: prices.currency is not set in the mapping")
    return currency
