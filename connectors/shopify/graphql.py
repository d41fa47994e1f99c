"""Shopify Admin GraphQL transport: one POST per query, cost-aware so a push is never throttled.

Shopify limits GraphQL by *calculated query cost* in a leaky bucket per app and shop. Every
response reports the bucket (``extensions.cost.throttleStatus``); this client keeps a local
``RateLimiter`` aligned with it and takes each query's estimated cost from it before sending,
so a long push waits on our side instead of being refused. A ``THROTTLED`` answer is still
handled (another app or process may share the bucket): wait as the bucket says, retry a few
times, then raise ``RateLimited`` so the worker backs off.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import requests
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
)
from pydantic import SecretStr

from bridge.errors import AuthError, DataError, RateLimited, TransientError
from bridge.http import RateLimiter, build_session, request

log = logging.getLogger(__name__)

MUTATION_COST = 10
"""Shopify charges a mutation field 10 points, a returned object 1, a scalar nothing."""

PER_ITEM_MUTATION_COSTS: dict[str, tuple[str, Decimal]] = {
    "productVariantsBulkUpdate": ("variants", Decimal("0.2")),
}
"""Mutations Shopify prices by input size ("dynamic complexity", developer changelog of
2025-10-01): the 10 points plus this much per item of the named list argument. Media and
metafields cost more there; Brique sends neither. Fractions are rounded up, to err safe."""

DEFAULT_BUCKET_SECONDS = 10.0
"""Until Shopify reports its bucket, assume it holds this many seconds of restore (1,000 points
at the standard 100/s; Shopify's own is larger, so the guess errs on the safe side)."""


@dataclass(frozen=True)
class ThrottleStatus:
    """The bucket as the last response described it."""

    maximum_available: float
    currently_available: float
    restore_rate: float
    requested_cost: float | None = None
    actual_cost: float | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ThrottleStatus | None:
        extensions = body.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
        status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
        if not isinstance(status, Mapping):
            return None
        try:
            return cls(
                maximum_available=float(status["maximumAvailable"]),
                currently_available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                requested_cost=_optional_float(cost.get("requestedQueryCost")),
                actual_cost=_optional_float(cost.get("actualQueryCost")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def seconds_until(self, cost: float) -> float:
        """How long until the bucket holds ``cost`` points again."""
        missing = max(0.0, cost - self.currently_available)
        return missing / self.restore_rate if self.restore_rate > 0 else 1.0


def _optional_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=64)
def _parsed(query: str) -> DocumentNode:
    return parse(query)


def estimate_cost(query: str, variables: Mapping[str, Any] | None = None) -> int:
    """Requested cost of a query by Shopify's published rules, read from the query alone.

    An object field costs 1, a scalar 0, a mutation field 10; a connection (a field taking
    ``first``/``last``) costs 2 plus the page size times the cost of one node. The estimate is
    what the limiter charges before sending; the server's own figure corrects the bucket after.
    """
    try:
        document = _parsed(query)
    except GraphQLError as exc:
        raise DataError(f"invalid GraphQL: {exc.message}") from exc
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root_mutation = definition.operation is OperationType.MUTATION
            total += _selection_cost(
                definition.selection_set, fragments, variables or {}, root_mutation
            )
    return total


def _fields(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    found: list[FieldNode] = []
    if selection_set is None:
        return found
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found.extend(_fields(selection.selection_set, fragments))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found.extend(_fields(fragment.selection_set, fragments))
    return found


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value)
            return int(raw) if isinstance(raw, int) else 0
    return None


def _input_cost(node: FieldNode, variables: Mapping[str, Any]) -> int:
    """The per-item part of a mutation Shopify costs by the size of one list argument."""
    rule = PER_ITEM_MUTATION_COSTS.get(node.name.value)
    if rule is None:
        return 0
    name, per_item = rule
    for argument in node.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, ListValueNode):
            return math.ceil(per_item * len(value.values))
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value)
            return math.ceil(per_item * len(raw)) if isinstance(raw, list) else 0
    return 0


def _selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    root_mutation: bool = False,
) -> int:
    total = 0
    for node in _fields(selection_set, fragments):
        if node.name.value.startswith("__"):
            continue
        children = _selection_cost(node.selection_set, fragments, variables)
        if root_mutation:
            total += MUTATION_COST + _input_cost(node, variables) + children
            continue
        if node.selection_set is None:
            continue
        size = _page_size(node, variables)
        if size is None:
            total += 1 + children
            continue
        per_node = 0
        for child in _fields(node.selection_set, fragments):
            name = child.name.value
            if name == "nodes":
                per_node += 1 + _selection_cost(child.selection_set, fragments, variables)
            elif name == "edges":
                for inner in _fields(child.selection_set, fragments):
                    if inner.name.value == "node":
                        per_node += 1 + _selection_cost(inner.selection_set, fragments, variables)
        total += 2 + size * per_node
    return total


ADMIN_TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 - a header name
STOREFRONT_TOKEN_HEADER = "X-Shopify-Storefront-Access-Token"  # noqa: S105 - a header name


class AdminGraphQL:
    """Calls one shop's GraphQL endpoint; every answer becomes data or a taxonomy error.

    The Admin API by default; the Storefront API speaks the same envelope (``data``,
    ``errors[].extensions.code``, ``THROTTLED``) with its own token header, so the same
    client serves it with ``token_header=STOREFRONT_TOKEN_HEADER``."""

    def __init__(
        self,
        endpoint: str,
        access_token: SecretStr,
        *,
        token_header: str = ADMIN_TOKEN_HEADER,
        restore_rate: float = 100.0,
        max_throttle_retries: int = 3,
        max_inline_wait: float = 30.0,
        user_agent: str = "brique-shopify",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self._token = access_token
        self._token_header = token_header
        self._clock = clock
        self._sleep = sleep
        self.max_throttle_retries = max_throttle_retries
        self.max_inline_wait = max_inline_wait
        self.session: requests.Session = build_session(user_agent)
        self.limiter = RateLimiter(
            restore_rate, burst=restore_rate * DEFAULT_BUCKET_SECONDS, clock=clock
        )
        self.last_status: ThrottleStatus | None = None
        self.throttled = 0
        """How many THROTTLED answers this client received (a sign the budget is shared)."""

    def __repr__(self) -> str:
        return f"AdminGraphQL({self.endpoint!r})"

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        what: str = "shopify graphql",
        cost: float | None = None,
    ) -> dict[str, Any]:
        """Run one query or mutation and return its ``data``.

        Raises ``RateLimited`` (HTTP 429 or still throttled after the inline retries),
        ``AuthError`` (401/403, ``ACCESS_DENIED``), ``DataError`` (other GraphQL errors) and
        ``TransientError`` (network, 5xx, unreadable answers).
        """
        estimate = float(cost if cost is not None else estimate_cost(query, variables))
        payload = {"query": query, "variables": dict(variables or {})}
        attempt = 0
        while True:
            self._acquire(estimate)
            response = request(
                self.session,
                "POST",
                self.endpoint,
                what=what,
                json=payload,
                headers={self._token_header: self._token.get_secret_value()},
            )
            body = self._body(response, what)
            status = self._align(body)
            errors = body.get("errors")
            if not errors:
                data = body.get("data")
                if not isinstance(data, dict):
                    raise TransientError(f"{what}: answer carries no data")
                return data
            if isinstance(errors, str):
                raise DataError(f"{what}: {errors}")
            codes = {_error_code(error) for error in errors}
            if "THROTTLED" in codes:
                self.throttled += 1
                if status is not None and status.requested_cost is not None:
                    estimate = max(estimate, status.requested_cost)
                wait = status.seconds_until(estimate) if status else 1.0
                attempt += 1
                if attempt > self.max_throttle_retries or wait > self.max_inline_wait:
                    raise RateLimited(f"{what}: throttled by Shopify", retry_after=wait)
                log.info("%s: throttled, waiting %.2fs (attempt %d)", what, wait, attempt)
                continue  # the aligned limiter does the waiting in _acquire
            messages = "; ".join(_error_message(error) for error in errors)
            if "ACCESS_DENIED" in codes:
                raise AuthError(f"{what}: access denied: {messages}")
            raise DataError(f"{what}: {messages}")

    def _acquire(self, cost: float) -> None:
        # A query dearer than the whole bucket could never be paid for; charge the bucket.
        waited = self.limiter.acquire(cost, sleep=self._sleep)
        if waited:
            log.debug("waited %.2fs for %s cost points", waited, cost)

    def _body(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"{what}: answer is not JSON") from exc
        if not isinstance(body, dict):
            raise TransientError(f"{what}: answer is not a JSON object")
        return body

    def _align(self, body: Mapping[str, Any]) -> ThrottleStatus | None:
        """Make the local bucket say what Shopify's says, so estimates never overdraw it."""
        status = ThrottleStatus.from_body(body)
        if status is None:
            return None
        self.last_status = status
        if (
            status.restore_rate > 0
            and status.maximum_available > 0
            and (
                status.restore_rate != self.limiter.rate
                or status.maximum_available != self.limiter.capacity
            )
        ):
            self.limiter.resize(status.maximum_available, status.restore_rate)
        self.limiter.drain(status.currently_available)
        return status

    def close(self) -> None:
        self.session.close()


def _error_code(error: Any) -> str | None:
    if not isinstance(error, Mapping):
        return None
    extensions = error.get("extensions")
    return extensions.get("code") if isinstance(extensions, Mapping) else None


def _error_message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message", error))
    return str(error)
