"""A LOCAL SHOPIFY-COMPATIBLE TEST DOUBLE of the Admin GraphQL API. It is not Shopify.

It lets a newcomer, a demo or a test run the real Shopify connector over real HTTP without a
shop: ``POST /admin/api/{version}/graphql.json`` is served by ``graphql-core`` (real parsing and
validation against an SDL subset of the Admin schema), with the Shopify behaviours the
connector must survive:

* the access-token check (401 with Shopify's JSON body);
* the calculated-cost leaky bucket: every answer carries ``extensions.cost`` and a query the
  bucket cannot pay for gets ``THROTTLED`` (HTTP 200), as Shopify documents;
* ``inventorySetQuantities`` with compare-and-swap (``changeFromQuantity``, or the older
  ``compareQuantity``/``ignoreCompareQuantity``), userErrors with codes and field paths, the
  ``@idempotent(key:)`` directive and all-or-nothing application;
* ``productVariants(query: "sku:'A' OR sku:'B'")`` with cursor pagination.

Simplifications, on purpose: only the fields below exist; every variant is stocked at every
location; the actual cost equals the requested cost; ``on_hand`` moves with ``available``.
Helpers for people and tests: ``GET /`` (a self-refreshing stock table), ``GET /sandbox/levels``,
``POST /sandbox/levels`` (change a level behind the connector's back), ``GET /sandbox/stats``.
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_directive_values,
    get_named_type,
    is_composite_type,
    parse,
    validate,
)

TITLE = "Shopify sandbox: a LOCAL SHOPIFY-COMPATIBLE TEST DOUBLE (not Shopify)"
DEFAULT_TOKEN = "shpat_sandbox_token"  # noqa: S105 - a public, local-only demo token
SINGLE_QUERY_MAX_COST = 1000
"""Shopify refuses any single query whose requested cost exceeds 1,000 points."""
MUTATION_COST = 10
MAX_PAGE = 250
QUANTITY_LIMIT = 1_000_000_000
QUANTITY_NAMES = ("available", "on_hand", "committed", "reserved", "incoming")
SETTABLE_NAMES = frozenset({"available", "on_hand"})
VALID_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
VERSION_PATTERN = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
URI_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")

SDL = """
"Attach an idempotency key to a mutation field (Shopify Admin, 2026-01+)."
directive @idempotent(key: String!) on FIELD

scalar DateTime

type Query {
  shop: Shop!
  locations(first: Int, after: String, query: String): LocationConnection!
  location(id: ID!): Location
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  inventoryItem(id: ID!): InventoryItem
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
}

type Shop { name: String! myshopifyDomain: String! currencyCode: String! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Location { id: ID! name: String! isActive: Boolean! }
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { nodes: [Location!]! edges: [LocationEdge!]! pageInfo: PageInfo! }

type ProductVariant { id: ID! sku: String title: String! inventoryItem: InventoryItem! }
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  nodes: [ProductVariant!]!
  edges: [ProductVariantEdge!]!
  pageInfo: PageInfo!
}

type InventoryItem {
  id: ID!
  sku: String
  tracked: Boolean!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!): InventoryLevel
}

type InventoryLevel {
  id: ID!
  location: Location!
  item: InventoryItem!
  quantities(names: [String!]!): [InventoryQuantity!]!
}

type InventoryQuantity { name: String! quantity: Int! updatedAt: DateTime }

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  ignoreCompareQuantity: Boolean
  quantities: [InventoryQuantityInput!]!
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  compareQuantity: Int
  changeFromQuantity: Int
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_REQUIRED
  CHANGE_FROM_QUANTITY_STALE
  COMPARE_QUANTITY_REQUIRED
  COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  INVALID_INVENTORY_ITEM
  INVALID_LOCATION
  INVALID_NAME
  INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW
  INVALID_REASON
  INVALID_REFERENCE_DOCUMENT
}

type InventoryAdjustmentGroup {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  item: InventoryItem
  location: Location
}
"""

SCHEMA: GraphQLSchema = build_schema(SDL)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version_at_least(version: str, minimum: str) -> bool:
    return version == "unstable" or version >= minimum


# -- the cost model ---------------------------------------------------------------------------


def request_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """Requested cost by Shopify's rules: object 1, scalar 0, mutation 10, connection
    2 + first x (cost of one node). The document must be valid against ``SCHEMA``."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        mutation = definition.operation is OperationType.MUTATION
        root = SCHEMA.mutation_type if mutation else SCHEMA.query_type
        assert root is not None
        return _cost(definition.selection_set, root, fragments, variables, root_mutation=mutation)
    return 0


def _collect(
    selection_set: SelectionSetNode | None,
    parent: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Iterator[tuple[FieldNode, GraphQLObjectType]]:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            yield from _collect(selection.selection_set, parent, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _collect(fragment.selection_set, parent, fragments)


def _cost(
    selection_set: SelectionSetNode | None,
    parent: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    root_mutation: bool = False,
) -> int:
    total = 0
    for node, owner in _collect(selection_set, parent, fragments):
        field = owner.fields.get(node.name.value)
        if field is None:  # __typename and friends are free
            continue
        named = get_named_type(field.type)
        inner = (
            _cost(node.selection_set, named, fragments, variables)
            if isinstance(named, GraphQLObjectType)
            else 0
        )
        if root_mutation:
            total += MUTATION_COST + inner
        elif not is_composite_type(named):
            continue
        elif named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            total += 2 + _page_size(node, variables) * _node_cost(node, named, fragments, variables)
        else:
            total += 1 + inner
    return total


def _node_cost(
    node: FieldNode,
    connection: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    per_node = 0
    for child, owner in _collect(node.selection_set, connection, fragments):
        field = owner.fields.get(child.name.value)
        if field is None:
            continue
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType):
            continue
        if child.name.value == "nodes":
            per_node += 1 + _cost(child.selection_set, named, fragments, variables)
        elif child.name.value == "edges":
            for inner, edge in _collect(child.selection_set, named, fragments):
                edge_field = edge.fields.get(inner.name.value)
                target = get_named_type(edge_field.type) if edge_field else None
                if inner.name.value == "node" and isinstance(target, GraphQLObjectType):
                    per_node += 1 + _cost(inner.selection_set, target, fragments, variables)
    return per_node


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                raw = variables.get(value.name.value)
                return raw if isinstance(raw, int) else 0
    return 0


class LeakyBucket:
    """Shopify's cost bucket: drains by the requested cost, refills at ``restore_rate``/s."""

    def __init__(
        self, maximum: float, restore_rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._available = self.maximum
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(
            self.maximum, self._available + (now - self._last) * self.restore_rate
        )
        self._last = now

    def take(self, cost: float) -> bool:
        self._refill()
        if self._available < cost:
            return False
        self._available -= cost
        return True

    def status(self) -> dict[str, Any]:
        self._refill()
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": math.floor(self._available),
            "restoreRate": self.restore_rate,
        }


# -- the shop's state -------------------------------------------------------------------------


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


class SandboxState:
    """Locations, variants, levels, the cost bucket and what happened: one lock guards all."""

    def __init__(
        self,
        seed: Mapping[str, Any],
        *,
        max_available: float = 2000,
        restore_rate: float = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.bucket = LeakyBucket(max_available, restore_rate, clock)
        shop = seed.get("shop") or {}
        self.shop_name = shop.get("name", "Brique sandbox") if isinstance(shop, Mapping) else shop
        self.locations: dict[str, str] = {}
        for n, location in enumerate(seed.get("locations") or (), start=1):
            if isinstance(location, str):
                location = {"id": location}
            gid = location.get("id") or f"gid://shopify/Location/{n}"
            self.locations[gid] = location.get("name") or f"Location {n}"
        self.variants: list[dict[str, Any]] = []
        raw_variants = seed.get("variants") or ()
        if isinstance(raw_variants, Mapping):
            raw_variants = [{"sku": k, "inventory_item": v} for k, v in raw_variants.items()]
        for n, variant in enumerate(raw_variants, start=1):
            self.variants.append(
                {
                    "id": variant.get("id") or f"gid://shopify/ProductVariant/{n}",
                    "sku": variant.get("sku"),
                    "title": variant.get("title") or str(variant.get("sku") or f"Variant {n}"),
                    "inventory_item": variant.get("inventory_item")
                    or f"gid://shopify/InventoryItem/{n}",
                }
            )
        self.items = {v["inventory_item"]: v for v in self.variants}
        self.levels: dict[tuple[str, str], dict[str, int]] = {
            (item, location): {"available": 0, "on_hand": 0}
            for item in self.items
            for location in self.locations
        }
        for level in seed.get("levels") or ():
            self.set_level(level["sku"], level["location"], int(level["available"]))
        self.idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=500)
        self.stats = {
            "requests": 0,
            "unauthorized": 0,
            "throttled": 0,
            "cost_used": 0,
            "mutations": 0,
            "writes_applied": 0,
            "idempotent_replays": 0,
        }
        self._groups = 0

    # Helpers for people and tests -------------------------------------------------------

    def item_for(self, sku: str) -> str:
        for variant in self.variants:
            if variant["sku"] == sku:
                return variant["inventory_item"]
        raise KeyError(f"no variant with SKU {sku!r}")

    def set_level(self, sku: str, location: str, available: int) -> None:
        """Change a level out of band, as a sale in the shop would."""
        with self.lock:
            level = self.levels[(self.item_for(sku), location)]
            delta = available - level["available"]
            level["available"] = available
            level["on_hand"] += delta

    def level_rows(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "sku": self.items[item]["sku"],
                    "location": location,
                    "location_name": self.locations[location],
                    "available": values["available"],
                    "on_hand": values["on_hand"],
                }
                for (item, location), values in sorted(
                    self.levels.items(), key=lambda kv: (str(self.items[kv[0][0]]["sku"]), kv[0][1])
                )
            ]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.stats,
                "throttle_status": self.bucket.status(),
                "history": list(self.history),
            }

    # GraphQL objects --------------------------------------------------------------------

    def location_obj(self, gid: str) -> dict[str, Any]:
        return {"id": gid, "name": self.locations[gid], "isActive": True}

    def variant_obj(self, variant: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": variant["id"],
            "sku": variant["sku"],
            "title": variant["title"],
            "inventoryItem": lambda _info: self.item_obj(variant["inventory_item"]),
        }

    def item_obj(self, gid: str) -> dict[str, Any]:
        variant = self.items[gid]

        def inventory_level(_info: GraphQLResolveInfo, locationId: str) -> Any:
            return self.level_obj(gid, locationId)

        return {
            "id": gid,
            "sku": variant["sku"],
            "tracked": True,
            "variant": lambda _info: self.variant_obj(variant),
            "inventoryLevel": inventory_level,
        }

    def level_obj(self, item: str, location: str) -> dict[str, Any] | None:
        values = self.levels.get((item, location))
        if values is None:
            return None

        def quantities(_info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
            unknown = [name for name in names if name not in QUANTITY_NAMES]
            if unknown:
                raise GraphQLError(f"invalid quantity names: {', '.join(unknown)}")
            return [{"name": name, "quantity": values.get(name, 0)} for name in names]

        number = item.rsplit("/", 1)[-1]
        return {
            "id": f"gid://shopify/InventoryLevel/{number}?inventory_item_id={number}",
            "location": lambda _info: self.location_obj(location),
            "item": lambda _info: self.item_obj(item),
            "quantities": quantities,
        }

    # The mutation -----------------------------------------------------------------------

    def set_quantities(self, data: Mapping[str, Any], version: str) -> dict[str, Any]:
        """Validate everything first; apply all or nothing, as Shopify does."""
        errors: list[dict[str, Any]] = []

        def refuse(code: str, path: list[str], message: str) -> None:
            errors.append({"code": code, "field": path, "message": message})

        name = data["name"]
        if name not in SETTABLE_NAMES:
            refuse("INVALID_NAME", ["input", "name"], f"The quantity name {name!r} is not valid.")
        if data["reason"] not in VALID_REASONS:
            refuse("INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
        uri = data.get("referenceDocumentUri")
        if uri is not None and not URI_PATTERN.match(uri):
            refuse(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "The reference document URI is not a valid URI.",
            )
        ignore = bool(data.get("ignoreCompareQuantity"))
        changes: list[tuple[str, str, int]] = []
        for n, quantity in enumerate(data["quantities"]):
            path = ["input", "quantities", str(n)]
            item, location = quantity["inventoryItemId"], quantity["locationId"]
            if item not in self.items:
                refuse(
                    "INVALID_INVENTORY_ITEM",
                    [*path, "inventoryItemId"],
                    "The inventory item could not be found.",
                )
                continue
            if location not in self.locations:
                refuse(
                    "INVALID_LOCATION", [*path, "locationId"], "The location could not be found."
                )
                continue
            target = quantity["quantity"]
            if target > QUANTITY_LIMIT:
                refuse(
                    "INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"], "The quantity is too high."
                )
                continue
            if target < -QUANTITY_LIMIT:
                refuse("INVALID_QUANTITY_TOO_LOW", [*path, "quantity"], "The quantity is too low.")
                continue
            current = self.levels[(item, location)].get(name, 0) if name in SETTABLE_NAMES else 0
            if "changeFromQuantity" in quantity:
                expected = quantity["changeFromQuantity"]
                if expected is not None and expected != current:
                    refuse(
                        "CHANGE_FROM_QUANTITY_STALE",
                        [*path, "changeFromQuantity"],
                        f"The changeFromQuantity ({expected}) no longer matches the "
                        f"persisted quantity.",
                    )
                    continue
            elif _version_at_least(version, "2026-04"):
                # Shopify requires the field from 2026-04; the exact code is the sandbox's guess.
                refuse(
                    "CHANGE_FROM_QUANTITY_REQUIRED",
                    [*path, "changeFromQuantity"],
                    "changeFromQuantity must be passed (null to opt out of the check).",
                )
                continue
            elif not ignore:
                expected = quantity.get("compareQuantity")
                if expected is None:
                    refuse(
                        "COMPARE_QUANTITY_REQUIRED",
                        [*path, "compareQuantity"],
                        "compareQuantity is required unless ignoreCompareQuantity is true.",
                    )
                    continue
                if expected != current:
                    refuse(
                        "COMPARE_QUANTITY_STALE",
                        [*path, "compareQuantity"],
                        "The compareQuantity argument no longer matches the persisted quantity.",
                    )
                    continue
            changes.append((item, location, target))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        applied = []
        for item, location, target in changes:
            level = self.levels[(item, location)]
            delta = target - level[name]
            level[name] = target
            other = "on_hand" if name == "available" else "available"
            level[other] += delta
            applied.append(
                {
                    "name": name,
                    "delta": delta,
                    "quantityAfterChange": target,
                    "item": self.item_obj(item),
                    "location": self.location_obj(location),
                }
            )
        self.stats["writes_applied"] += len(applied)
        self._groups += 1
        group = {
            "id": f"gid://shopify/InventoryAdjustmentGroup/{self._groups}",
            "createdAt": _now(),
            "reason": data["reason"],
            "referenceDocumentUri": uri,
            "changes": applied,
        }
        return {"inventoryAdjustmentGroup": group, "userErrors": []}


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
            "currencyCode": "EUR",
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


# -- the HTTP app -----------------------------------------------------------------------------


def _graphql_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    return [error.formatted for error in errors]


def create_app(
    seed: Mapping[str, Any],
    access_token: str,
    max_available: float = 2000,
    restore_rate: float = 100,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """Build the sandbox app; its state is ``app.state.sandbox`` (a ``SandboxState``)."""
    state = SandboxState(seed, max_available=max_available, restore_rate=restore_rate, clock=clock)
    app = FastAPI(title=TITLE, description=__doc__ or "")
    app.state.sandbox = state
    token = access_token.encode()

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

    @app.get("/sandbox/stats")
    def stats() -> dict[str, Any]:
        return state.snapshot()

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return _page(state)

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


def _cost_extension(state: SandboxState, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": state.bucket.status(),
    }


def _page(state: SandboxState) -> str:
    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>".format(
            html.escape(str(row["sku"])),
            html.escape(row["location_name"]),
            row["available"],
            row["on_hand"],
        )
        for row in state.level_rows()
    )
    snap = state.snapshot()
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
<p class="warn">{html.escape(TITLE)}. Stock written by Brique shows up below; the page
refreshes every 2 seconds.</p>
<p>Requests {snap["requests"]} &middot; throttled {snap["throttled"]} &middot; cost used
{snap["cost_used"]} &middot; writes applied {snap["writes_applied"]} &middot; idempotent replays
{snap["idempotent_replays"]} &middot; bucket {bucket["currentlyAvailable"]}
/ {bucket["maximumAvailable"]} (+{bucket["restoreRate"]}/s)</p>
<table><tr><th>SKU</th><th>Location</th><th>Available</th><th>On hand</th></tr>
{rows}
</table>
<h2>Recent inventorySetQuantities</h2><ul>{recent or "<li>none yet</li>"}</ul>
</body></html>"""


# -- running it -------------------------------------------------------------------------------


def demo_seed(skus: int = 12) -> dict[str, Any]:
    """A small shop: two locations and ``skus`` variants, enough to watch stock move."""
    return {
        "shop": {"name": "Brique demo shop (sandbox)"},
        "locations": [
            {"id": "gid://shopify/Location/1001", "name": "Web warehouse"},
            {"id": "gid://shopify/Location/1002", "name": "Flagship store"},
        ],
        "variants": [
            {
                "sku": f"SKU-{n:05d}",
                "inventory_item": f"gid://shopify/InventoryItem/{40000 + n}",
                "title": f"Demo item {n}",
            }
            for n in range(1, skus + 1)
        ],
        "levels": [],
    }


def load_seed(path: str | Path | None) -> dict[str, Any]:
    """A seed from a JSON file, or the demo seed when no path is given."""
    if path is None:
        return demo_seed()
    return json.loads(Path(path).read_text(encoding="utf-8"))


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed_path: str | Path | None = None,
    access_token: str = DEFAULT_TOKEN,
    *,
    max_available: float = 2000,
    restore_rate: float = 100,
) -> None:
    """Run the sandbox in the foreground (``brique sandbox shopify``) until interrupted."""
    app = create_app(load_seed(seed_path), access_token, max_available, restore_rate)
    print(f"{TITLE}\n  shop_url: http://{host}:{port}  (open it in a browser to watch stock)")
    uvicorn.run(app, host=host, port=port, log_level="info")


class SandboxServer:
    """The sandbox on 127.0.0.1 and a free port, in a background thread; for tests and demos.

    >>> with SandboxServer(demo_seed()) as sandbox:   # doctest: +SKIP
    ...     sandbox.url, sandbox.state.level_rows()
    """

    def __init__(
        self,
        seed: Mapping[str, Any] | None = None,
        *,
        access_token: str = DEFAULT_TOKEN,
        max_available: float = 2000,
        restore_rate: float = 100,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access_token = access_token
        self.host = host
        self.app = create_app(
            seed if seed is not None else demo_seed(),
            access_token,
            max_available,
            restore_rate,
            clock=clock,
        )
        self.state: SandboxState = self.app.state.sandbox
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __repr__(self) -> str:
        return f"SandboxServer({self.url!r})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="shopify-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Shopify sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
