"""Field rules compiled to closures: select with a pre-compiled path, then run bound steps.

Compiling happens once per plan; every argument, table and path is checked then, and each
problem is reported at its place in the file. What runs per record is a loop over
``(target, getter, steps)`` tuples.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bridge.errors import DataError
from bridge.mapping.codegen import Build, Shape, generate
from bridge.mapping.functions import BindContext, bind, library
from bridge.mapping.paths import Getter, PathError, compile_path
from bridge.mapping.rulespec import FieldRule, LineRules, RecordRules
from bridge.yamlio import LocatedError

Loc = tuple[str | int, ...]
CompileProblem = tuple[Loc, str, bool]
"""(location in the file, message, point at the key rather than the value)"""

Step = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class CompiledField:
    name: str
    target: tuple[str, ...]
    get: Getter
    steps: tuple[Step, ...]
    create_only: bool
    reads_record: bool = False
    """A step reads the whole record (``concat``), not only the field's value."""

    def evaluate(self, record: Any) -> Any:
        value = self.get(record)
        for step in self.steps:
            value = step(value, record)
        return value


def _put(out: dict[str, Any], target: tuple[str, ...], value: Any) -> None:
    for part in target[:-1]:
        nested = out.get(part)
        if not isinstance(nested, dict):
            nested = out[part] = {}
        out = nested
    out[target[-1]] = value


@dataclass(frozen=True)
class CompiledLines:
    target: tuple[str, ...]
    each: Getter
    key: Getter
    fields: tuple[CompiledField, ...]


@dataclass(frozen=True)
class RecordMapper:
    """One kind's rules in one direction, compiled."""

    where: str
    """e.g. ``webshop price outbound``: named in runtime errors."""
    fields: tuple[CompiledField, ...] = ()
    lines: tuple[CompiledLines, ...] = ()
    key_of: Getter | None = None
    field_names: tuple[str, ...] = field(default=())
    fast: Build | None = field(default=None, compare=False, repr=False)
    """The fields as one generated function (``bridge.mapping.codegen``)."""
    typed: Callable[..., dict[str, Any]] | None = field(default=None, compare=False, repr=False)
    """The same, reading the record's parts from arguments instead of a dict (``Shape``)."""

    def build(self, record: Any, *, created: bool = False) -> dict[str, Any]:
        """Outbound: the native fields for ``record``; create-only fields unless ``created``."""
        if self.fast is not None:
            return self.fast(record, created)
        return self.build_slowly(record, created=created)

    def build_slowly(self, record: Any, *, created: bool = False) -> dict[str, Any]:
        """``build`` as a loop over the rules: the reference behaviour, and the messages."""
        out: dict[str, Any] = {}
        current = None
        try:
            for current in self.fields:
                if current.create_only and not created:
                    continue
                value = current.get(record)
                for step in current.steps:
                    value = step(value, record)
                if len(current.target) == 1:
                    out[current.target[0]] = value
                else:
                    _put(out, current.target, value)
            for block in self.lines:
                current = None
                _put(out, block.target, self._lines(block, record, created, None))
        except DataError as exc:
            raise self._error(exc, record, current) from exc
        return out

    def overlay(self, record: dict[str, Any]) -> dict[str, Any]:
        """Inbound: a copy of ``record`` with each mapped field replaced by its rule's value."""
        out = copy.deepcopy(record)
        current = None
        try:
            for current in self.fields:
                _put(out, current.target, current.evaluate(record))
            for block in self.lines:
                current = None
                self._lines(block, record, True, out)
        except DataError as exc:
            raise self._error(exc, record, current) from exc
        return out

    def _lines(
        self, block: CompiledLines, record: Any, created: bool, into: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        source = block.each(record)
        if source is None:
            return []
        if not isinstance(source, list | tuple):
            raise DataError(f"lines of {'.'.join(block.target)!r} are not a list")
        seen: dict[str, int] = {}
        built = []
        targets: dict[str, dict[str, Any]] | None = None
        if into is not None:
            # Inbound: each target line is the one with the same key, never the same position.
            targets = {}
            for line in _get_list(into, block.target):
                if isinstance(line, dict):
                    found = block.key(line)
                    if found is not None and found != "":
                        targets.setdefault(str(found), line)
        for position, line in enumerate(source):
            key = block.key(line)
            if key is None or key == "":
                raise DataError(f"line {position + 1} has no key")
            text = str(key)
            if text in seen:
                raise DataError(
                    f"lines {seen[text] + 1} and {position + 1} share the key {text!r}: "
                    "a re-import could not tell them apart"
                )
            seen[text] = position
            if targets is not None:
                base = targets.get(text)
                if base is None:
                    base = {}
                    _get_list(into, block.target).append(base)  # type: ignore[arg-type]
                self._fill(block, line, base, True, position, text)
                continue
            out: dict[str, Any] = {}
            self._fill(block, line, out, created, position, text)
            built.append(out)
        return built

    @staticmethod
    def _fill(
        block: CompiledLines,
        line: Any,
        out: dict[str, Any],
        created: bool,
        position: int,
        key: str,
    ) -> None:
        rule = None
        try:
            for rule in block.fields:
                if rule.create_only and not created:
                    continue
                _put(out, rule.target, rule.evaluate(line))
        except DataError as exc:
            name = ".".join(block.target) + (f".{rule.name}" if rule is not None else "")
            raise DataError(f"line {position + 1} (key {key!r}) field {name!r}: {exc}") from exc

    def key(self, record: Any) -> str | None:
        if self.key_of is None:
            return None
        value = self.key_of(record)
        return None if value is None else str(value)

    def _error(self, exc: DataError, record: Any, rule: CompiledField | None) -> DataError:
        key = None
        try:
            key = self.key(record)
        except Exception:
            key = None
        what = f" record {key!r}" if key else ""
        name = f" field {rule.name!r}" if rule is not None else ""
        return DataError(f"mapping {self.where}{what}{name}: {exc}")


def _get_list(root: dict[str, Any], target: tuple[str, ...]) -> list[Any]:
    node: Any = root
    for part in target:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, list):
        raise DataError(f"{'.'.join(target)!r} is not a list in the record")
    return node


def fingerprint(payload: Any) -> str:
    """A stable hash of a native payload: equal payloads, equal prints (change detection)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def jsonable(payload: Any) -> Any:
    """A native payload as plain JSON data (Decimals as exact text, dates in ISO 8601), as
    it is stored in the outbox and sent."""
    return json.loads(json.dumps(payload, default=_plain))


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


class RuleCompiler:
    """Compiles rule blocks, collecting every problem instead of stopping at the first."""

    def __init__(self, context: BindContext) -> None:
        self.context = context
        self.problems: list[CompileProblem] = []

    def record(
        self, rules: RecordRules, at: Loc, where: str, shape: Shape | None = None
    ) -> RecordMapper:
        fields = self._fields(rules.fields, (*at, "fields"))
        lines = []
        for target, spec in rules.lines.items():
            compiled = self._lines(spec, (*at, "lines", target))
            if compiled is not None:
                lines.append(CompiledLines(tuple(target.split(".")), *compiled))
        key = self._path(rules.key, (*at, "key")) if rules.key else None
        mapper = RecordMapper(
            where, tuple(fields), tuple(lines), key, tuple(f.name for f in fields)
        )
        if lines:
            return mapper  # child lines keep the loop
        typed = None if shape is None else generate(fields, where, mapper.build_slowly, shape)
        return replace(mapper, fast=generate(fields, where, mapper.build_slowly), typed=typed)

    def _lines(self, spec: LineRules, at: Loc) -> tuple[Getter, Getter, tuple] | None:
        each = self._path(spec.each, (*at, "each"))
        key = self._path(spec.key, (*at, "key"))
        fields = self._fields(spec.fields, (*at, "fields"))
        if each is None or key is None:
            return None
        return each, key, tuple(fields)

    def _fields(self, rules: dict[str, FieldRule], at: Loc) -> list[CompiledField]:
        out = []
        for name, rule in rules.items():
            compiled = self.field(name, rule, (*at, name))
            if compiled is not None:
                out.append(compiled)
        return out

    def field(self, name: str, rule: FieldRule, at: Loc) -> CompiledField | None:
        ok = True
        if any(not part for part in name.split(".")):
            self.problems.append((at, f"invalid target name {name!r}", True))
            ok = False
        getter: Getter | None
        if rule.from_ is not None:
            getter = self._path(rule.from_, (*at, "from"))
            ok = ok and getter is not None
        else:
            constant = rule.value
            if isinstance(constant, float):
                self.problems.append(
                    (
                        (*at, "value"),
                        f'a number with a fraction must be quoted, e.g. "{constant}" '
                        "(floats are refused so money stays exact)",
                        False,
                    )
                )
                ok = False

            def getter(_: Any, constant: Any = constant) -> Any:
                return constant

            getter.constant = True  # type: ignore[attr-defined]  # for generated code

        steps = self._steps(rule.apply, (*at, "apply"))
        functions = library()
        reads = (
            any(
                functions[item if isinstance(item, str) else next(iter(item))].takes_record
                for item in rule.apply
            )
            if steps is not None
            else False
        )
        if steps is None or not ok or getter is None:
            return None
        return CompiledField(
            name, tuple(name.split(".")), getter, steps, rule.on == "create", reads
        )

    def _steps(self, items: Sequence[str | dict[str, Any]], at: Loc) -> tuple[Step, ...] | None:
        steps: list[Step] = []
        ok = True
        for index, item in enumerate(items):
            if isinstance(item, str):
                name, args, item_at = item, None, (*at, index)
            else:
                ((name, args),) = item.items()
                item_at = (*at, index, name)
            try:
                steps.append(bind(name, args, self.context))
            except LocatedError as exc:
                if isinstance(item, str):
                    self.problems.append((item_at, str(exc), False))
                else:
                    self.problems.append(((*item_at, *exc.at), str(exc), exc.on_key))
                ok = False
        return tuple(steps) if ok else None

    def _path(self, expression: str, at: Loc) -> Getter | None:
        try:
            return compile_path(expression)
        except PathError as exc:
            self.problems.append((at, str(exc), False))
            return None
