"""Field rules as one straight-line Python function per mapper, generated at compile time.

A loop over rule objects costs more per record than the transforms themselves; a generated
function reads each field with inline look-ups and calls the bound steps directly. The
source holds only generated names, ``repr`` of key strings and integer indexes: nothing an
admin writes is ever executed. Behaviour is the loop's (``RecordMapper``), which still
produces the error messages: on a ``DataError`` the caller runs the loop again for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Build = Callable[[Any, bool], dict[str, Any]]


def _path_expression(parts: Sequence[str | int]) -> str:
    """One expression reading a plain path from ``record``, with JMESPath's rules (a type
    mismatch or a missing key gives None); intermediate values go through ``v``."""
    expr = "record"
    for part in parts:
        if isinstance(part, str):
            expr = f"(v.get({part!r}) if isinstance(v := {expr}, dict) else None)"
        else:
            index = int(part)
            expr = (
                f"(v[{index}] if isinstance(v := {expr}, (list, tuple)) "
                f"and -len(v) <= {index} < len(v) else None)"
            )
    return expr


def generate(fields: Sequence[Any], where: str, slow: Build) -> Build:
    """``build(record, created=False) -> dict`` for compiled fields (``CompiledField``).

    Fields written on every call form one dict literal; create-only fields and dotted
    targets follow as statements. On a ``DataError`` the record goes through ``slow``
    (the rule loop), whose message names the field at fault.
    """
    from bridge.errors import DataError
    from bridge.mapping.rules import _put

    namespace: dict[str, Any] = {"_put": _put, "DataError": DataError, "slow": slow}
    literal: list[str] = []
    after: list[str] = []
    for i, rule in enumerate(fields):
        parts = getattr(rule.get, "parts", None)
        if parts is not None:
            expr = _path_expression(parts)
        elif getattr(rule.get, "constant", False):
            namespace[f"c{i}"] = rule.get(None)
            expr = f"c{i}"
        else:
            namespace[f"g{i}"] = rule.get
            expr = f"g{i}(record)"
        for j, step in enumerate(rule.steps):
            namespace[f"s{i}_{j}"] = step
            expr = f"s{i}_{j}({expr}, record)"
        if len(rule.target) == 1 and not rule.create_only:
            literal.append(f"{rule.target[0]!r}: {expr}")
            continue
        indent = "        " if rule.create_only else "    "
        if rule.create_only:
            after.append("    if created:")
        if len(rule.target) == 1:
            after.append(f"{indent}out[{rule.target[0]!r}] = {expr}")
        else:
            namespace[f"t{i}"] = rule.target
            after.append(f"{indent}_put(out, t{i}, {expr})")
    source = [
        "def build(record, created=False, isinstance=isinstance, dict=dict, list=list, "
        "tuple=tuple):",
        "  try:",
        "    out = {" + ", ".join(literal) + "}",
        *after,
        "    return out",
        "  except DataError:",
        "    return slow(record, created=created)",
    ]
    code = compile("\n".join(source), f"<mapping {where}>", "exec")
    exec(code, namespace)  # noqa: S102 - generated from names and bound callables only
    return namespace["build"]
