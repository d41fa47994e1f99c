"""JMESPath selection compiled once: plain key and index chains become direct look-ups.

Most mapping rules select a field (``price.amount``, ``lines[0].sku``). Walking the JMESPath
interpreter for those costs more than the transform itself, so such paths are compiled to a
small loop over keys; anything richer (filters, projections, functions) keeps JMESPath's
own compiled expression. Both follow JMESPath's rules: a missing key or a type mismatch
yields None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from bridge.errors import DataError

Getter = Callable[[Any], Any]


class PathError(ValueError):
    """A JMESPath expression that does not parse, with JMESPath's own explanation."""


def _chain(node: dict[str, Any]) -> list[str | int] | None:
    """The keys and indexes of a plain path, or None if the path is not that simple."""
    kind = node["type"]
    if kind == "field":
        return [node["value"]]
    if kind == "subexpression":
        parts: list[str | int] = []
        for child in node["children"]:
            sub = _chain(child)
            if sub is None:
                return None
            parts += sub
        return parts
    if kind == "index_expression":
        left, index = node["children"]
        base = _chain(left)
        if base is None or index["type"] != "index":
            return None
        return [*base, int(index["value"])]
    return None


def _walk(parts: tuple[str | int, ...]) -> Getter:
    if len(parts) == 1 and isinstance(parts[0], str):
        key = parts[0]

        def one(data: Any) -> Any:
            return data.get(key) if isinstance(data, dict) else None

        one.parts = parts  # type: ignore[attr-defined]  # for generated code
        return one

    def walk(data: Any) -> Any:
        for part in parts:
            if isinstance(part, str):
                if not isinstance(data, dict):
                    return None
                data = data.get(part)
            else:
                if not isinstance(data, list | tuple):
                    return None
                try:
                    data = data[part]
                except IndexError:
                    return None
        return data

    walk.parts = parts  # type: ignore[attr-defined]  # for generated code
    return walk


def compile_path(expression: str) -> Getter:
    """A getter for ``expression``; raises ``PathError`` naming what JMESPath refused."""
    try:
        compiled = jmespath.compile(expression)
    except JMESPathError as exc:
        lines = str(exc).strip().splitlines()
        first = (lines[0] if lines else str(exc)).rstrip()
        first = first.removesuffix(", for expression:").rstrip(":").rstrip()
        raise PathError(f"invalid JMESPath {expression!r}: {first}") from None
    node = compiled.parsed
    if node["type"] == "current":
        return lambda data: data
    if node["type"] == "literal":
        constant = node["value"]
        if isinstance(constant, float):
            raise PathError(
                f'float literal in {expression!r}: quote numbers as strings, e.g. `"0.99"`'
            )
        return lambda data: constant
    parts = _chain(node)
    if parts is not None:
        return _walk(tuple(parts))
    search = compiled.search

    def searched(data: Any) -> Any:
        try:
            return search(data)
        except JMESPathError as exc:  # e.g. sum() over text: this record's data is at fault
            raise DataError(f"JMESPath {expression!r}: {exc}") from None

    return searched
