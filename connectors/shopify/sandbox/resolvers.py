"""Root resolvers of the sandbox schema, with Shopify's search syntax and cursor pagination."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, get_directive_values

from connectors.shopify.sandbox.schema import SCHEMA
from connectors.shopify.sandbox.state import SandboxState, _now, _version_at_least

MAX_PAGE = 250


def _search_terms(query: str | None) -> set[str] | None:
    """``sku:'A' OR sku:"B" OR sku:C`` -> {"a", "b", "c"} (lower-cased); None means all."""
    if query is None or not query.strip():
        return None
    term = re.compile(r"""\s*sku:(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+))\s*""")
    separator = re.compile(r"OR(?=\s)")
    found: set[str] = set()
    position = 0
    while True:
        match = term.match(query, position)
        if match is None:
            raise GraphQLError(
                "the sandbox understands only sku:<value> terms joined by OR, "
                f"not {query[position : position + 40]!r}"
            )
        raw = next(group for group in match.groups() if group is not None)
        found.add(re.sub(r"\\(.)", r"\1", raw).lower())
        position = match.end()
        if position >= len(query):
            return found
        joined = separator.match(query, position)
        if joined is None:
            raise GraphQLError(f"expected OR at {query[position : position + 40]!r}")
        position = joined.end()


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1]) + 1
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"invalid cursor {cursor!r}") from exc


def _connection(items: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if first < 0 or first > MAX_PAGE:
        raise GraphQLError(f"the first argument must be between 0 and {MAX_PAGE}")
    start = _index(after)
    page = items[start : start + first]
    edges = [{"cursor": _cursor(start + n), "node": node} for n, node in enumerate(page)]
    return {
        "nodes": page,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


class _Root:
    """Root resolvers: graphql-core's default resolver calls these methods with the args."""

    def __init__(self, state: SandboxState, version: str) -> None:
        self.state = state
        self.version = version

    def shop(self, _info: GraphQLResolveInfo) -> dict[str, Any]:
        slug = re.sub(r"[^a-z0-9]+", "-", str(self.state.shop_name).lower()).strip("-")
        return {
            "name": self.state.shop_name,
            "myshopifyDomain": f"{slug or 'sandbox'}.myshopify.com",
            "currencyCode": self.state.currency,
        }

    def locations(
        self,
        _info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        nodes = [self.state.location_obj(gid) for gid in self.state.locations]
        return _connection(nodes, first, after)

    def location(self, _info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        return self.state.location_obj(id) if id in self.state.locations else None

    def productVariants(
        self,
        _info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        wanted = _search_terms(query)
        matching = [
            self.state.variant_obj(v)
            for v in self.state.variants
            if wanted is None or str(v["sku"] or "").lower() in wanted
        ]
        return _connection(matching, first, after)

    def inventoryItem(self, _info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        if not id.startswith("gid://shopify/InventoryItem/"):
            raise GraphQLError(f"Invalid global id '{id}'")
        return self.state.item_obj(id) if id in self.state.items else None

    def inventorySetQuantities(
        self, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        directive = SCHEMA.get_directive("idempotent")
        assert directive is not None
        values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
        key = values["key"] if values else None
        if key is None and _version_at_least(self.version, "2026-04"):
            raise GraphQLError(
                "The @idempotent directive is required for this mutation from 2026-04.",
                extensions={"code": "BAD_REQUEST"},
            )
        fingerprint = json.dumps(input, sort_keys=True)
        state = self.state
        with state.lock:
            state.stats["mutations"] += 1
            entry: dict[str, Any] = {
                "at": _now(),
                "idempotency_key": key,
                "reason": input.get("reason"),
                "reference_document_uri": input.get("referenceDocumentUri"),
                "quantities": len(input.get("quantities") or ()),
                "replayed": False,
            }
            if key is not None and key in state.idempotency:
                seen, payload = state.idempotency[key]
                if seen == fingerprint:
                    state.stats["idempotent_replays"] += 1
                    entry["replayed"] = True
                else:
                    payload = {
                        "inventoryAdjustmentGroup": None,
                        "userErrors": [
                            {
                                "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                                "field": None,
                                "message": "The idempotency key was already used with "
                                "different parameters.",
                            }
                        ],
                    }
            else:
                payload = state.set_quantities(input, self.version)
                if key is not None:
                    state.idempotency[key] = (fingerprint, payload)
            entry["errors"] = [error["code"] for error in payload["userErrors"]]
            state.history.append(entry)
            return payload

    def productVariantsBulkUpdate(
        self,
        _info: GraphQLResolveInfo,
        productId: str,
        variants: list[dict[str, Any]],
        allowPartialUpdates: bool | None = False,
    ) -> dict[str, Any]:
        """Shopify lists no ``@idempotent`` support for this mutation; a key given is ignored."""
        state = self.state
        with state.lock:
            state.stats["price_mutations"] += 1
            entry: dict[str, Any] = {
                "at": _now(),
                "product": productId,
                "variants": len(variants),
                "partial": bool(allowPartialUpdates),
            }
            try:
                payload = state.update_variants(
                    productId, variants, partial=bool(allowPartialUpdates)
                )
            except GraphQLError:
                entry["errors"] = ["INVALID_VARIABLE"]
                state.price_history.append(entry)
                raise
            entry["errors"] = [error["code"] for error in payload["userErrors"]]
            entry["applied"] = len(payload["productVariants"] or ())
            state.price_history.append(entry)
            return payload
