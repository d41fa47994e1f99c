"""The sandbox over HTTP: the GraphQL endpoints, /sandbox/* helpers and a stock page.

The Admin endpoint follows Shopify's order: token check, parse, validate, charge the cost
bucket (``THROTTLED`` with HTTP 200 when it cannot pay), execute. The Storefront endpoint
(``/api/{version}/graphql.json``, carts only) checks its own token, then parses, validates
and executes.
"""

from __future__ import annotations

import hmac
import html
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from graphql import GraphQLError, execute_sync, parse, validate

from connectors.shopify.sandbox.cost import SINGLE_QUERY_MAX_COST, request_cost
from connectors.shopify.sandbox.resolvers import _Root
from connectors.shopify.sandbox.schema import SCHEMA
from connectors.shopify.sandbox.state import SandboxState
from connectors.shopify.sandbox.storefront import STOREFRONT_SCHEMA, CartBook, StorefrontRoot

TITLE = "Shopify sandbox: a LOCAL SHOPIFY-COMPATIBLE TEST DOUBLE (not Shopify)"
UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
VERSION_PATTERN = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")


def _graphql_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    return [error.formatted for error in errors]


DEFAULT_STOREFRONT_TOKEN = "sandbox-storefront-token"  # noqa: S105 - a public, local-only token


def create_app(
    seed: Mapping[str, Any],
    access_token: str,
    max_available: float = 2000,
    restore_rate: float = 100,
    *,
    clock: Callable[[], float] = time.monotonic,
    storefront_token: str = DEFAULT_STOREFRONT_TOKEN,
) -> FastAPI:
    """Build the sandbox app; its state is ``app.state.sandbox`` (a ``SandboxState``) and its
    Storefront carts ``app.state.carts`` (a ``CartBook``)."""
    state = SandboxState(seed, max_available=max_available, restore_rate=restore_rate, clock=clock)
    book = CartBook(state)
    from connectors.shopify import sandbox  # its docstring describes the double

    app = FastAPI(title=TITLE, description=sandbox.__doc__ or "")
    app.state.sandbox = state
    app.state.carts = book
    token = access_token.encode()
    storefront = storefront_token.encode()

    @app.post("/admin/api/{version}/graphql.json")
    async def graphql_endpoint(version: str, request: Request) -> JSONResponse:
        with state.lock:
            state.stats["requests"] += 1
        given = request.headers.get("X-Shopify-Access-Token", "").encode()
        if not hmac.compare_digest(given, token):
            with state.lock:
                state.stats["unauthorized"] += 1
            return JSONResponse(UNAUTHORIZED, status_code=401)
        if not VERSION_PATTERN.match(version):
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        try:
            body = json.loads(await request.body())
            query = body["query"]
            variables = body.get("variables") or {}
            operation = body.get("operationName")
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"errors": {"query": "Required parameter missing or invalid"}}, status_code=400
            )
        return JSONResponse(_run(state, version, query, variables, operation))

    @app.post("/api/{version}/graphql.json")
    async def storefront_endpoint(version: str, request: Request) -> JSONResponse:
        with state.lock:
            book.stats["requests"] += 1
            book.base_url = str(request.base_url).rstrip("/")
        given = request.headers.get("X-Shopify-Storefront-Access-Token", "").encode()
        if not hmac.compare_digest(given, storefront):
            with state.lock:
                book.stats["unauthorized"] += 1
            return JSONResponse(
                {"errors": [{"message": "", "extensions": {"code": "UNAUTHORIZED"}}]},
                status_code=401,
            )
        if not VERSION_PATTERN.match(version):
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        try:
            body = json.loads(await request.body())
            query = body["query"]
            variables = body.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"errors": [{"message": "Parameter Missing or Invalid"}]}, status_code=400
            )
        operation = body.get("operationName")
        return JSONResponse(_run_storefront(book, version, query, variables, operation))

    @app.get("/sandbox/carts")
    def carts() -> list[dict[str, Any]]:
        return book.rows()

    @app.get("/cart/c/{token}", response_class=HTMLResponse)
    def checkout(token: str) -> HTMLResponse:
        cart = next((row for row in book.rows() if row["token"] == token), None)
        if cart is None:
            return HTMLResponse("<p>No such cart in the sandbox.</p>", status_code=404)
        return HTMLResponse(_checkout_page(cart))

    @app.get("/sandbox/levels")
    def levels() -> list[dict[str, Any]]:
        return state.level_rows()

    @app.post("/sandbox/levels")
    async def change_level(request: Request) -> JSONResponse:
        data = json.loads(await request.body())
        try:
            state.set_level(str(data["sku"]), str(data["location"]), int(data["available"]))
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse({"ok": True})

    @app.get("/sandbox/prices")
    def prices() -> list[dict[str, Any]]:
        return state.price_rows()

    @app.get("/sandbox/stats")
    def stats() -> dict[str, Any]:
        return state.snapshot()

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return _page(state, book)

    return app


def _run(
    state: SandboxState, version: str, query: str, variables: dict[str, Any], operation: Any
) -> dict[str, Any]:
    """Parse, validate, charge the bucket, execute: the order Shopify follows."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return {"errors": _graphql_errors([error])}
    problems = validate(SCHEMA, document)
    if problems:
        return {"errors": _graphql_errors(problems)}
    operation_name = operation if isinstance(operation, str) else None
    requested = request_cost(document, operation_name, variables)
    with state.lock:
        if requested > SINGLE_QUERY_MAX_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query "
                        f"max cost limit ({SINGLE_QUERY_MAX_COST}).",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested},
                    }
                ]
            }
        if not state.bucket.take(requested):
            state.stats["throttled"] += 1
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {"cost": _cost_extension(state, requested, None)},
            }
        state.stats["cost_used"] += requested
        result = execute_sync(
            SCHEMA,
            document,
            root_value=_Root(state, version),
            variable_values=variables,
            operation_name=operation_name,
        )
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = _graphql_errors(list(result.errors))
        answer["data"] = result.data
        answer["extensions"] = {"cost": _cost_extension(state, requested, requested)}
        return answer


def _run_storefront(
    book: CartBook, version: str, query: str, variables: dict[str, Any], operation: Any
) -> dict[str, Any]:
    """Parse, validate, execute against the Storefront subset (carts are not costed)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return {"errors": _graphql_errors([error])}
    problems = validate(STOREFRONT_SCHEMA, document)
    if problems:
        return {"errors": _graphql_errors(problems)}
    result = execute_sync(
        STOREFRONT_SCHEMA,
        document,
        root_value=StorefrontRoot(book, version),
        variable_values=variables,
        operation_name=operation if isinstance(operation, str) else None,
    )
    answer: dict[str, Any] = {}
    if result.errors:
        answer["errors"] = _graphql_errors(list(result.errors))
    answer["data"] = result.data
    return answer


def _checkout_page(cart: Mapping[str, Any]) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(str(line['sku']))}</td><td class=n>{line['quantity']}</td></tr>"
        for line in cart["lines"]
    )
    code = html.escape(str(cart["code"] or "-"))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(TITLE)}: cart</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:.3em .8em}}
.n{{text-align:right}}.warn{{background:#fff3cd;padding:.5em}}</style></head><body>
<p class="warn">{html.escape(TITLE)}. This is where Shopify's checkout would open.</p>
<h1>Cart {code}</h1><p>Status: {html.escape(str(cart["status"]))}</p>
<table><tr><th>SKU</th><th>Quantity</th></tr>{rows}</table>
</body></html>"""


def _cost_extension(state: SandboxState, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": state.bucket.status(),
    }


def _page(state: SandboxState, book: CartBook) -> str:
    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>".format(
            html.escape(str(row["sku"])),
            html.escape(row["location_name"]),
            row["available"],
            row["on_hand"],
        )
        for row in state.level_rows()
    )
    price_rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>".format(
            html.escape(str(row["sku"])),
            html.escape(str(row["product_title"])),
            html.escape(f"{row['price']} {row['currency']}"),
            html.escape(row["compare_at_price"] or ""),
        )
        for row in state.price_rows()
    )
    cart_rows = "\n".join(
        '<tr><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">checkout</a></td></tr>'.format(
            html.escape(str(row["code"] or "-")),
            html.escape(str(row["status"])),
            html.escape(", ".join(f"{line['quantity']} x {line['sku']}" for line in row["lines"])),
            html.escape(row["checkout_url"]),
        )
        for row in book.rows()
    )
    snap = state.snapshot()
    recent_prices = "\n".join(
        "<li>{} {} variants of <code>{}</code>{}</li>".format(
            html.escape(entry["at"]),
            entry["variants"],
            html.escape(str(entry["product"])),
            " errors: " + html.escape(", ".join(entry["errors"])) if entry["errors"] else "",
        )
        for entry in reversed(snap["price_history"][-10:])
    )
    recent = "\n".join(
        "<li>{} {} items, key <code>{}</code>, ref <code>{}</code>{}{}</li>".format(
            html.escape(entry["at"]),
            entry["quantities"],
            html.escape(str(entry["idempotency_key"])),
            html.escape(str(entry["reference_document_uri"])),
            " (replayed, not re-applied)" if entry["replayed"] else "",
            " errors: " + html.escape(", ".join(entry["errors"])) if entry["errors"] else "",
        )
        for entry in reversed(snap["history"][-10:])
    )
    bucket = snap["throttle_status"]
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>{html.escape(TITLE)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .8em}}.n{{text-align:right}}
.warn{{background:#fff3cd;padding:.5em}}</style></head><body>
<h1>{html.escape(str(state.shop_name))}</h1>
<p class="warn">{html.escape(TITLE)}. Stock and prices written by Brique show up below; the
page refreshes every 2 seconds.</p>
<p>Requests {snap["requests"]} &middot; throttled {snap["throttled"]} &middot; cost used
{snap["cost_used"]} &middot; writes applied {snap["writes_applied"]} &middot; idempotent replays
{snap["idempotent_replays"]} &middot; bucket {bucket["currentlyAvailable"]}
/ {bucket["maximumAvailable"]} (+{bucket["restoreRate"]}/s)</p>
<table><tr><th>SKU</th><th>Location</th><th>Available</th><th>On hand</th></tr>
{rows}
</table>
<h2>Recent inventorySetQuantities</h2><ul>{recent or "<li>none yet</li>"}</ul>
<h2>Prices</h2>
<p>Price updates applied {snap["prices_applied"]} (in {snap["price_mutations"]} calls)</p>
<table><tr><th>SKU</th><th>Product</th><th>Price</th><th>Compare at</th></tr>
{price_rows}
</table>
<h2>Recent productVariantsBulkUpdate</h2><ul>{recent_prices or "<li>none yet</li>"}</ul>
<h2>Storefront carts</h2>
<table><tr><th>Basket code</th><th>Status</th><th>Lines</th><th>Link</th></tr>
{cart_rows or "<tr><td colspan=4>none yet</td></tr>"}
</table>
</body></html>"""
