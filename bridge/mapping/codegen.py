"""Field rules as one straight-line Python function per mapper, generated at compile time.

A loop over rule objects costs more per record than the transforms themselves; a generated
function reads each field with inline look-ups and calls the bound steps directly. The
source holds only generated names, ``repr`` of key strings and integer indexes: nothing an
admin writes is ever executed. Behaviour is the loop's (``RecordMapper``), which still
produces the error messages: on a ``DataError`` the caller runs the loop again for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Build = Callable[[Any, bool], dict[str, Any]]


@dataclass(frozen=True)
class Shape:
    """A canonical record known field by field, so generated code reads its parts from
    arguments rather than from a dict built only to be read back.

    ``params`` are the generated function's arguments; ``paths`` maps a plain path to the
    expression giving its value; ``record`` is the expression of the whole record, built
    only when a rule needs it (another path, a step reading the record, an error message).
    """

    params: tuple[str, ...]
    paths: Mapping[tuple[str | int, ...], str]
    record: str
    names: Mapping[str, Any] = field(default_factory=dict)
    """Objects the expressions use."""


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


def _step_call(step: Any, name: str, expr: str, record: str, var: str) -> str:
    """A call of one bound step; a step that declares a Decimal fast path (``string``,
    ``integer``) has it inlined, and the call kept for every other value."""
    fast = getattr(step, "decimal_fast", None)
    if fast is None:
        return f"{name}({expr}, {record})"
    condition, result = (part.format(v=var) for part in fast)
    return (
        f"({result} if ({var} := {expr}).__class__ is _Decimal and {var}.is_finite() "
        f"and {condition} else {name}({var}, {record}))"
    )


def generate(fields: Sequence[Any], where: str, slow: Build, shape: Shape | None = None) -> Any:
    """``build(record, created=False) -> dict`` for compiled fields (``CompiledField``);
    with a ``shape``, ``build(*shape.params, created=False)``.

    Fields written on every call form one dict literal; create-only fields and dotted
    targets follow as statements. On a ``DataError`` the record goes through ``slow``
    (the rule loop), whose message names the field at fault.
    """
    from bridge.errors import DataError
    from bridge.mapping.rules import _put

    namespace: dict[str, Any] = {
        "_put": _put,
        "DataError": DataError,
        "slow": slow,
        "_Decimal": Decimal,
    }
    record = "record"
    needs_record = shape is None
    if shape is not None:
        namespace.update(shape.names)
        for rule in fields:
            parts = getattr(rule.get, "parts", None)
            known = parts is not None and tuple(parts) in shape.paths
            constant = getattr(rule.get, "constant", False)
            if rule.reads_record or not (known or constant):
                needs_record = True
        record = "record" if needs_record else "None"
    literal: list[str] = []
    after: list[str] = []
    for i, rule in enumerate(fields):
        parts = getattr(rule.get, "parts", None)
        if shape is not None and parts is not None and tuple(parts) in shape.paths:
            expr = shape.paths[tuple(parts)]
        elif parts is not None:
            expr = _path_expression(parts)
        elif getattr(rule.get, "constant", False):
            namespace[f"c{i}"] = rule.get(None)
            expr = f"c{i}"
        else:
            namespace[f"g{i}"] = rule.get
            expr = f"g{i}(record)"
        for j, step in enumerate(rule.steps):
            namespace[f"s{i}_{j}"] = step
            expr = _step_call(step, f"s{i}_{j}", expr, record, f"w{i}_{j}")
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
    params = "record" if shape is None else ", ".join(shape.params)
    whole = "record" if shape is None else shape.record
    source = [
        f"def build({params}, created=False, isinstance=isinstance, dict=dict, list=list, "
        "tuple=tuple):",
        "  try:",
        *([f"    record = {whole}"] if shape is not None and needs_record else []),
        "    out = {" + ", ".join(literal) + "}",
        *after,
        "    return out",
        "  except DataError:",
        f"    return slow({whole}, created=created)",
    ]
    code = compile("\n".join(source), f"<mapping {where}>", "exec")
    exec(code, namespace)  # noqa: S102 - generated from names and bound callables only
    return namespace["build"]
