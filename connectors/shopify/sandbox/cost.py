"""Shopify's calculated query cost and the leaky bucket that throttles on it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)

from connectors.shopify.sandbox.schema import SCHEMA

SINGLE_QUERY_MAX_COST = 1000
"""Shopify refuses any single query whose requested cost exceeds 1,000 points."""
MUTATION_COST = 10
SIZED_MUTATIONS: dict[str, tuple[str, Decimal]] = {
    "productVariantsBulkUpdate": ("variants", Decimal("0.2")),
}
"""Mutations costed by input size (Shopify developer changelog, 2025-10-01, "Dynamic complexity
for productVariantsBulkCreate and productVariantsBulkUpdate"): 10 points plus 0.2 per variant
(media and metafields add more; the sandbox has neither). Shopify does not say how it rounds
the fraction; the sandbox rounds up."""


def request_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """Requested cost by Shopify's rules: object 1, scalar 0, mutation 10 (plus the sized part
    of ``SIZED_MUTATIONS``), connection 2 + first x (cost of one node). The document must be
    valid against ``SCHEMA``."""
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
            total += MUTATION_COST + _sized_cost(node, variables) + inner
        elif not is_composite_type(named):
            continue
        elif named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            total += 2 + _page_size(node, variables) * _node_cost(node, named, fragments, variables)
        else:
            total += 1 + inner
    return total


def _sized_cost(node: FieldNode, variables: Mapping[str, Any]) -> int:
    rule = SIZED_MUTATIONS.get(node.name.value)
    if rule is None:
        return 0
    name, per_item = rule
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, ListValueNode):
                return math.ceil(per_item * len(value.values))
            if isinstance(value, VariableNode):
                raw = variables.get(value.name.value)
                # GraphQL coerces a single value given for a list into a list of one.
                size = len(raw) if isinstance(raw, list) else int(raw is not None)
                return math.ceil(per_item * size)
            return math.ceil(per_item)
    return 0


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
