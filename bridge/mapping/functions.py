"""The whitelist of transform functions a mapping's ``apply`` list may name.

Each function is bound once, when the mapping is loaded: its arguments are checked and
coerced, tables and CSV files are read, expressions compiled and time zones looked up
there, so a mistake is reported at load time with its YAML position (``LocatedError``)
and the returned step only does the per-record work. Bad data in one record raises
``DataError`` naming the function and the value, so that record is dead-lettered.

Money safety: numbers are ``Decimal``. A float is refused wherever it shows up, as an
argument (quote it in YAML) or as a value (the connector must send strings or Decimals),
and a boolean is never a number. ``None`` passes through every function except
``default``, ``required`` and ``concat`` (which reads the record, not the value).

Third-party functions come from the ``brique.mapping_functions`` entry-point group: a
plain Python callable whose first parameter is the value, whose other parameters become
the function's typed parameters, and which receives the record if it has a keyword
parameter named ``record``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import inspect
import io
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions
import phonenumbers
from ruamel.yaml.scalarbool import ScalarBoolean

from bridge.errors import ConfigError, DataError
from bridge.mapping.units import UnitError, converter
from bridge.yamlio import LocatedError

GROUP = "brique.mapping_functions"

Step = Callable[[Any, Any], Any]
"""``step(value, record) -> new value``; ``record`` is the whole source record."""


@dataclass(frozen=True)
class BindContext:
    """What a mapping declares besides its rules, needed to bind functions."""

    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Named lookup tables (inline in the mapping or loaded from CSV)."""
    tax_rates: Mapping[str, Decimal] = field(default_factory=dict)
    """Named VAT rates in percent, e.g. ``{"standard": Decimal("20")}``."""
    base_dir: Path = Path(".")
    """Folder of the mapping file: CSV paths are relative to it."""
    region: str | None = None
    """Default phone region (ISO 3166 alpha-2), used when ``phone`` is given none."""
    files: list[Path] = field(default_factory=list)
    """Files read while binding (CSV crosswalks): a change to one reloads the mapping."""


class _NoDefault:
    """Marks a parameter without a default (required, or optional with no fallback)."""

    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()

TYPES = ("string", "integer", "boolean", "decimal", "list", "mapping", "any", "rate")
"""Parameter types; ``rate`` is a tax-rate name or a percent such as ``"5.5"``."""


@dataclass(frozen=True)
class Param:
    """One parameter of a mapping function, as admins write it in YAML."""

    name: str
    type: str
    required: bool = False
    default: Any = NO_DEFAULT
    doc: str = ""
    choices: tuple[str, ...] = ()


class Args(dict[str, Any]):
    """Coerced arguments with defaults filled in; ``given`` names those the YAML wrote."""

    given: frozenset[str] = frozenset()


Binder = Callable[[Args, BindContext], Step]


@dataclass(frozen=True)
class MappingFunction:
    """A named, typed function: ``binder(args, ctx)`` checks arguments and returns the step."""

    name: str
    params: tuple[Param, ...]
    doc: str
    binder: Binder
    takes_record: bool = False
    source: str = "built-in"

    @property
    def shorthand(self) -> Param | None:
        """The parameter a bare scalar (or list, or free-form mapping) argument goes to."""
        if not self.params:
            return None
        if len(self.params) == 1:
            return self.params[0]
        return next((p for p in self.params if p.required), self.params[0])


class ArgError(Exception):
    """A binder's complaint about one parameter; ``bind`` turns it into a LocatedError."""

    def __init__(self, param: str | None, message: str, sub: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.param = param
        self.sub = sub


# --- helpers shared by binders and steps -------------------------------------------------

# Steps use Decimal operators, hence the thread's Decimal context: Python's default (28
# digits, InvalidOperation, DivisionByZero and Overflow trapped) keeps amount * rate exact
# for any realistic amount. Context methods would pin it, but cost a third more per record.

_ONE = Decimal(1)

ROUNDING = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}
"""Rounding modes; ``up`` and ``down`` are away from and towards zero."""


def _did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def _unknown(kind: str, word: str, choices: Sequence[str], none_hint: str = "") -> str:
    """``unknown <kind> 'x' (did you mean 'y'?)``, else the known names."""
    close = _did_you_mean(word, choices)
    if close is not None:
        return f"unknown {kind} {word!r} (did you mean {close!r}?)"
    if not choices:
        return f"unknown {kind} {word!r} ({none_hint or 'none are declared'})"
    return f"unknown {kind} {word!r} (known: {', '.join(sorted(choices))})"


def _got(value: Any) -> str:
    """A YAML value as an admin wrote it, for 'got ...' in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool | ScalarBoolean):
        return f"boolean {str(bool(value)).lower()}"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, float):
        return f"float {float(value)!r}"
    if isinstance(value, int):
        return f"integer {int(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _float_refused(fn: str, value: float) -> DataError:
    return DataError(
        f"{fn}: float refused: {value!r}; send amounts as strings or decimals "
        "so no precision is lost"
    )


def _decimal(value: Any, fn: str) -> Decimal:
    """A record value as a finite Decimal; floats, booleans and text like 'abc' refused."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
    elif isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            hint = " (a decimal comma? use replace first)" if "," in value else ""
            raise DataError(f"{fn}: expected a decimal amount, got {value!r}{hint}") from None
        if number.is_finite():
            return number
    elif isinstance(value, bool):
        raise DataError(f"{fn}: expected a decimal amount, got boolean {value}")
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        raise _float_refused(fn, value)
    raise DataError(f"{fn}: expected a decimal amount, got {value!r}")


def _text(value: Any, fn: str) -> str:
    """A record value as text: numbers without exponent, booleans as true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if value.is_finite():
            return format(value, "f")
    elif isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    elif isinstance(value, float):
        raise _float_refused(fn, value)
    raise DataError(f"{fn}: expected text, got {value!r}")


def _key(value: Any, fn: str) -> str:
    """A value as a table key; same text as ``string`` so keys compare as strings."""
    if value.__class__ is str:
        return value
    return _text(value, fn)


def _plain(value: Any, sub: tuple[Any, ...] = ()) -> Any:
    """A YAML value as plain Python (dict, list, str, int, bool...); floats refused.

    Raises ``ArgError`` with ``param=None`` and ``sub`` pointing at the float.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, ScalarBoolean):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        where = f" at {_where(sub)}" if sub else ""
        raise ArgError(
            None,
            f'must not be a float (got float {value!r}{where}); quote it like "{value!r}" '
            "so no precision is lost",
            sub,
        )
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Mapping):
        return {_plain(k, sub): _plain(v, (*sub, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, (*sub, i)) for i, v in enumerate(value)]
    return value


def _where(sub: tuple[Any, ...]) -> str:
    return "".join(f"[{p!r}]" for p in sub)


# --- argument coercion -------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?\d+")


def _coerce(param: Param, value: Any) -> Any:
    """One YAML argument as its parameter's type; ValueError says what was expected."""
    kind = param.type
    if value is None and (kind == "any" or param.default is None):
        return None
    if kind == "string":
        if isinstance(value, str):
            value = str(value)
            if param.choices and value not in param.choices:
                close = _did_you_mean(value, param.choices)
                hint = f"; did you mean {close!r}?" if close else ""
                raise ValueError(f"must be one of {', '.join(param.choices)} (got {value!r}{hint})")
            return value
        raise ValueError(f"must be a string (got {_got(value)})")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool | ScalarBoolean):
            return int(value)
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        raise ValueError(f"must be an integer (got {_got(value)})")
    if kind == "boolean":
        if isinstance(value, bool | ScalarBoolean):
            return bool(value)
        raise ValueError(f"must be true or false (got {_got(value)})")
    if kind in ("decimal", "rate"):
        if isinstance(value, float):
            what = "a tax rate name or a quoted percent" if kind == "rate" else "a quoted decimal"
            raise ValueError(f'must be {what} like "{value!r}" (got float {value!r})')
        if kind == "rate" and isinstance(value, str):
            return str(value).strip()
        return _decimal_arg(value)
    if kind == "list":
        if isinstance(value, list | tuple):
            return _plain(value)
        raise ValueError(f"must be a list (got {_got(value)})")
    if kind == "mapping":
        if isinstance(value, Mapping):
            return _plain(value)
        raise ValueError(f"must be a mapping (got {_got(value)})")
    return _plain(value)


def _decimal_arg(value: Any) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, int) and not isinstance(value, bool | ScalarBoolean):
        return Decimal(int(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    raise ValueError(f"must be a decimal number (got {_got(value)})")


def _parse_args(fn: MappingFunction, raw: Any) -> tuple[Args, dict[str, tuple[Any, ...]]]:
    """Sort an ``apply`` item's arguments into parameters; returns them and their paths.

    None: no arguments. A mapping whose keys are all parameter names: named arguments.
    Anything else goes to the shorthand parameter (the only one, else the first required
    one), provided it accepts that shape; a mapping or list only goes there if that
    parameter is a mapping, list or ``any``.
    """
    names = [p.name for p in fn.params]
    given: dict[str, Any] = {}
    paths: dict[str, tuple[Any, ...]] = {}
    short = fn.shorthand
    if raw is None:
        pass
    elif isinstance(raw, Mapping) and all(isinstance(k, str) and k in names for k in raw):
        for key, value in raw.items():
            given[str(key)] = value
            paths[str(key)] = (key,)
    elif isinstance(raw, Mapping) and short is not None and short.type in ("mapping", "any"):
        given[short.name], paths[short.name] = raw, ()
    elif isinstance(raw, Mapping):
        key = next(k for k in raw if not (isinstance(k, str) and k in names))
        if not names:
            raise LocatedError(f"{fn.name} takes no arguments", (key,), on_key=True)
        close = _did_you_mean(str(key), names)
        hint = f"did you mean {close!r}?" if close else f"parameters: {', '.join(names)}"
        raise LocatedError(
            f"{fn.name}: unknown parameter {str(key)!r} ({hint})", (key,), on_key=True
        )
    elif short is None:
        raise LocatedError(f"{fn.name} takes no arguments (got {_got(raw)})", ())
    elif isinstance(raw, list | tuple) and short.type not in ("list", "any"):
        example = ", ".join(f"{n}: ..." for n in names)
        raise LocatedError(f"{fn.name}: expected arguments like {{{example}}} (got a list)", ())
    else:
        given[short.name], paths[short.name] = raw, ()

    args = Args()
    for param in fn.params:
        if param.name in given:
            try:
                args[param.name] = _coerce(param, given[param.name])
            except ArgError as exc:
                raise LocatedError(
                    f"{fn.name}: {param.name} {exc}", paths[param.name] + exc.sub
                ) from None
            except ValueError as exc:
                raise LocatedError(f"{fn.name}: {param.name} {exc}", paths[param.name]) from None
        elif param.required:
            raise LocatedError(f"{fn.name}: missing required parameter {param.name!r}", ())
        elif param.default is not NO_DEFAULT:
            args[param.name] = param.default
    args.given = frozenset(given)
    return args, paths


# --- the registry --------------------------------------------------------------------------

_BUILTINS: dict[str, MappingFunction] = {}


def _builtin(name: str, *params: Param, takes_record: bool = False) -> Callable[[Binder], Binder]:
    """Register a built-in; its docstring is the documentation admins read."""

    def register(binder: Binder) -> Binder:
        doc = inspect.cleandoc(binder.__doc__ or "")
        _BUILTINS[name] = MappingFunction(name, params, doc, binder, takes_record)
        return binder

    return register


def _req(name: str, type_: str, doc: str) -> Param:
    return Param(name, type_, True, NO_DEFAULT, doc)


def _opt(name: str, type_: str, default: Any, doc: str, choices: Sequence[str] = ()) -> Param:
    return Param(name, type_, False, default, doc, tuple(choices))


_MODE = _opt("mode", "string", "half_up", "rounding mode", ROUNDING)


# --- presence --------------------------------------------------------------------------------


@_builtin("default", _req("value", "any", "what to use instead of a missing value"))
def _f_default(a: Args, ctx: BindContext) -> Step:
    """Replace a missing value (null or empty text) by a fixed value."""
    fallback = a["value"]

    def default(value: Any, record: Any) -> Any:
        if value is None or (value.__class__ is str and not value):
            return fallback
        return value

    return default


@_builtin("required", _opt("message", "string", "", "what the data owner must fix"))
def _f_required(a: Args, ctx: BindContext) -> Step:
    """Refuse the record when the value is missing (null or empty text)."""
    message = a["message"] or "required: value is missing"

    def required(value: Any, record: Any) -> Any:
        if value is None or (value.__class__ is str and not value):
            raise DataError(message)
        return value

    return required


# --- tables ------------------------------------------------------------------------------------


def _table(fn: str, param: str, raw: Mapping[Any, Any]) -> dict[str, Any]:
    """A table with its keys as text (``1`` and ``'1'`` are the same key)."""
    table: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            text = _key(key, fn)
        except DataError:
            raise ArgError(
                param, f'{fn}: key {key!r} must be text; quote it like "{key!r}"', (key,)
            ) from None
        if text in table:
            raise ArgError(param, f"{fn}: key {text!r} appears twice", (key,))
        table[text] = value
    return table


def _table_step(fn: str, table: dict[str, Any], what: str, a: Args) -> Step:
    """The step of lookup, map and crosswalk: a dict look-up with an optional fallback."""
    has_default = "default" in a.given
    fallback = a.get("default")

    def look_up(value: Any, record: Any) -> Any:
        if value is None:
            return None
        key = value if value.__class__ is str else _key(value, fn)
        try:
            return table[key]
        except KeyError:
            if has_default:
                return fallback
            raise DataError(f"{fn}: key {key!r} is not in {what}") from None

    return look_up


@_builtin(
    "lookup",
    _req("table", "string", "name of a table declared in the mapping"),
    _opt("default", "any", NO_DEFAULT, "result for a key not in the table (else an error)"),
)
def _f_lookup(a: Args, ctx: BindContext) -> Step:
    """Translate the value through a named table of the mapping; keys compare as text."""
    name = a["table"]
    if name not in ctx.tables:
        raise ArgError("table", "lookup: " + _unknown("table", name, list(ctx.tables)))
    return _table_step("lookup", _table("lookup", "table", ctx.tables[name]), f"table {name!r}", a)


@_builtin(
    "map",
    _req("values", "mapping", "inline table {key: result}; keys compare as text"),
    _opt("default", "any", NO_DEFAULT, "result for a key not in the table (else an error)"),
)
def _f_map(a: Args, ctx: BindContext) -> Step:
    """Translate the value through an inline table, e.g. ``map: {"1": cash, "2": card}``."""
    return _table_step("map", _table("map", "values", a["values"]), "the map's values", a)


@_builtin(
    "crosswalk",
    _req("file", "string", "CSV file, relative to the mapping file"),
    _req("key", "string", "column holding the value to translate"),
    _req("value", "string", "column holding the result"),
    _opt("default", "any", NO_DEFAULT, "result for a key not in the file (else an error)"),
    _opt("delimiter", "string", ",", "field separator, one character"),
)
def _f_crosswalk(a: Args, ctx: BindContext) -> Step:
    """Translate the value through two columns of a CSV file, read once at load time.

    Keys and results stay text, so the leading zeros of EANs survive.
    """
    table = read_csv_table(
        ctx.base_dir, a["file"], a["key"], a["value"], a["delimiter"], files=ctx.files
    )
    return _table_step("crosswalk", table, a["file"], a)


def read_csv_table(
    base: Path,
    name: str,
    key: str,
    value: str,
    delimiter: str = ",",
    what: str = "crosswalk",
    files: list[Path] | None = None,
) -> dict[str, str]:
    """Two columns of a CSV file as a dict; every problem names the file and line.

    Problems raise ``ArgError`` naming the parameter at fault (file, key, value, delimiter)
    and prefixed with ``what`` (the function or the mapping section reading the file).
    """
    if len(delimiter) != 1:
        raise ArgError("delimiter", f"{what}: delimiter must be one character (got {delimiter!r})")
    try:
        raw = (base / name).read_bytes()
        if files is not None:
            files.append((base / name).resolve())
    except OSError as exc:
        raise ArgError("file", f"{what}: cannot read {name}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArgError(
            "file", f"{what}: {name}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ArgError("file", f"{what}: {name} is empty (expected a header line)")
        columns = [c.strip() for c in header]
        index = {}
        for param, column in (("key", key), ("value", value)):
            if column not in columns:
                close = _did_you_mean(column, columns)
                hint = f"did you mean {close!r}? " if close else ""
                raise ArgError(
                    param,
                    f"{what}: {name} has no column {column!r} "
                    f"({hint}columns: {', '.join(columns)})",
                )
            if columns.count(column) > 1:
                raise ArgError(param, f"{what}: {name}:1: column {column!r} appears twice")
            index[param] = columns.index(column)
        ki, vi = index["key"], index["value"]
        width = max(ki, vi) + 1
        table: dict[str, str] = {}
        first_line: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < width:
                raise ArgError(
                    "file",
                    f"{what}: {name}:{line}: {len(row)} columns, expected at least {width}",
                )
            k = row[ki].strip()
            if not k:
                raise ArgError("file", f"{what}: {name}:{line}: empty key in column {key!r}")
            if k in first_line:
                raise ArgError(
                    "file",
                    f"{what}: {name}:{line}: duplicate key {k!r} (first on line {first_line[k]})",
                )
            v = row[vi].strip()
            if not v:
                raise ArgError("file", f"{what}: {name}:{line}: empty value in column {value!r}")
            table[k] = v
            first_line[k] = line
    except csv.Error as exc:
        raise ArgError("file", f"{what}: {name}:{reader.line_num}: {exc}") from None
    return table


# --- conversions ---------------------------------------------------------------------------


@_builtin("decimal")
def _f_decimal(a: Args, ctx: BindContext) -> Step:
    """Read a number as an exact Decimal (text or integer; floats refused)."""

    def decimal(value: Any, record: Any) -> Any:
        if value is None:
            return None
        return _decimal(value, "decimal")

    return decimal


@_builtin("integer")
def _f_integer(a: Args, ctx: BindContext) -> Step:
    """Read a whole number as an integer; ``"3.00"`` is 3, ``"3.5"`` is an error."""

    def integer(value: Any, record: Any) -> Any:
        cls = value.__class__
        if cls is Decimal and value.is_finite() and value == value.to_integral_value():
            return int(value)  # the common case first: a whole Decimal quantity
        if value is None:
            return None
        if cls is int:
            return value
        number = _decimal(value, "integer")
        if number != number.to_integral_value():
            raise DataError(f"integer: not a whole number: {value!r}")
        return int(number)

    integer.decimal_fast = ("{v} == {v}.to_integral_value()", "int({v})")  # type: ignore[attr-defined]
    return integer


@_builtin("string")
def _f_string(a: Args, ctx: BindContext) -> Step:
    """Write a value as text: decimals without exponent (1E+1 is "10"), dates in ISO 8601."""

    def string(value: Any, record: Any, decimal: type = Decimal) -> Any:
        cls = value.__class__
        if cls is decimal and value.is_finite():
            return format(value, "f")  # the common case first: an amount
        if cls is str or value is None:
            return value
        return _text(value, "string")

    string.decimal_fast = ("True", "format({v}, 'f')")  # type: ignore[attr-defined]
    return string


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


@_builtin("boolean")
def _f_boolean(a: Args, ctx: BindContext) -> Step:
    """Read true/false, yes/no or 1/0 (any case) as a boolean."""

    def boolean(value: Any, record: Any) -> Any:
        if value is None or value is True or value is False:
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        elif isinstance(value, int | Decimal) and value in (0, 1):
            return bool(value)
        raise DataError(f"boolean: expected true/false, yes/no or 1/0, got {value!r}")

    return boolean


# --- money ------------------------------------------------------------------------------------


def _places(a: Args, fn: str) -> Decimal:
    places = a["places"]
    if not 0 <= places <= 20:
        raise ArgError("places", f"{fn}: places must be between 0 and 20 (got {places})")
    return _ONE.scaleb(-places)


@_builtin(
    "round",
    _opt("places", "integer", 2, "decimal places to keep, 0 to 20"),
    _MODE,
    _opt("quantum", "decimal", None, 'round to a multiple of this instead, e.g. "0.05"'),
)
def _f_round(a: Args, ctx: BindContext) -> Step:
    """Round an amount to decimal places, or to a multiple of a quantum (5-rappen rounding)."""
    rounding = ROUNDING[a["mode"]]
    quantum = a["quantum"]
    if quantum is not None:
        if "places" in a.given:
            raise ArgError(None, "round: give places or quantum, not both")
        if quantum <= 0:
            raise ArgError("quantum", f"round: quantum must be positive (got '{quantum}')")

        def round_to_quantum(value: Any, record: Any) -> Any:
            if value is None:
                return None
            if value.__class__ is not Decimal or not value.is_finite():
                value = _decimal(value, "round")
            try:
                result = (value / quantum).quantize(_ONE, rounding) * quantum
            except ArithmeticError:
                raise DataError(f"round: {value} is too large to round") from None
            return result if result else abs(result)

        return round_to_quantum

    q = _places(a, "round")

    def round_(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is not Decimal or not value.is_finite():
            value = _decimal(value, "round")
        try:
            result = value.quantize(q, rounding)
        except ArithmeticError:
            raise DataError(f"round: {value} is too large to round") from None
        return result if result else abs(result)

    return round_


@_builtin(
    "price_ending",
    _opt("ending", "decimal", Decimal("0.99"), 'fractional part in [0, 1), e.g. "0.99"'),
    _opt("direction", "string", "nearest", "which way to move", ("nearest", "up", "down")),
)
def _f_price_ending(a: Args, ctx: BindContext) -> Step:
    """Move a price to the closest price with that ending (12.34 -> 11.99 or 12.99).

    The result is less than 1 away from the price; ``up`` never lowers it, ``down`` never
    raises it, ``nearest`` goes up on a tie. A price is never made zero or negative: a
    zero or negative price is kept, and so is, with ``down``, a price below the lowest
    positive price with that ending (0.50 stays 0.50 rather than become -0.01).
    """
    ending: Decimal = a["ending"]
    if not 0 <= ending < 1:
        raise ArgError(
            "ending",
            f'price_ending: ending must be a fractional part in [0, 1) like "0.99" '
            f"(got '{ending}')",
        )
    direction = a["direction"]

    def price_ending(
        value: Any, record: Any, decimal: type = Decimal, floor: str = ROUND_FLOOR, one=_ONE
    ) -> Any:
        if value.__class__ is not decimal or not value.is_finite():
            if value is None:
                return None
            value = _decimal(value, "price_ending")
        if value <= 0:
            return value
        try:
            below = (value - ending).to_integral_value(floor) + ending
        except ArithmeticError:
            raise DataError(f"price_ending: {value} is too large") from None
        if below == value:
            return below
        above = below + one
        if direction == "up":
            return above
        if below <= 0:  # below the first ending: going down would make it free or negative
            return value if direction == "down" else above
        if direction == "down" or value - below < above - value:
            return below
        return above

    return price_ending


def _rate(a: Args, ctx: BindContext, fn: str) -> Decimal:
    """A tax rate in percent: a name from the mapping's tax_rates or a number."""
    rate = a["rate"]
    if isinstance(rate, str):
        if rate in ctx.tax_rates:
            try:
                rate = _decimal_arg(ctx.tax_rates[rate])
            except ValueError as exc:
                raise ArgError("rate", f"{fn}: tax rate {rate!r} {exc}") from None
        else:
            try:
                rate = _decimal_arg(rate.removesuffix("%"))
            except ValueError:
                names = list(ctx.tax_rates)
                none = 'no named rates are declared; give a percent like "5.5"'
                raise ArgError(
                    "rate", f"{fn}: " + _unknown("tax rate", rate, names, none)
                ) from None
    if not 0 <= rate <= 100:
        raise ArgError("rate", f"{fn}: rate must be a percent between 0 and 100 (got '{rate}')")
    return rate


_TAX_PARAMS = (
    _req("rate", "rate", 'tax rate name from the mapping, or a percent like "5.5"'),
    _opt("places", "integer", 2, "decimal places of the result, 0 to 20"),
    _MODE,
)


@_builtin("tax_in", *_TAX_PARAMS)
def _f_tax_in(a: Args, ctx: BindContext) -> Step:
    """Tax-excluded amount -> tax-included: amount * (1 + rate/100), rounded.

    With 2 places and a half_* mode, ``tax_out`` gives back the exact cent amount.
    """
    factor, q, rounding = _tax_setup(a, ctx, "tax_in")

    def tax_in(value: Any, record: Any, decimal: type = Decimal) -> Any:
        if value.__class__ is not decimal or not value.is_finite():
            if value is None:
                return None
            value = _decimal(value, "tax_in")
        try:
            result = (value * factor).quantize(q, rounding)
        except ArithmeticError:
            raise DataError(f"tax_in: {value} is too large") from None
        return result if result else abs(result)

    return tax_in


@_builtin("tax_out", *_TAX_PARAMS)
def _f_tax_out(a: Args, ctx: BindContext) -> Step:
    """Tax-included amount -> tax-excluded: amount / (1 + rate/100), rounded.

    For rates up to 100 and cent amounts, ``tax_in`` of the result is within 0.01 of it.
    """
    factor, q, rounding = _tax_setup(a, ctx, "tax_out")

    def tax_out(value: Any, record: Any, decimal: type = Decimal) -> Any:
        if value.__class__ is not decimal or not value.is_finite():
            if value is None:
                return None
            value = _decimal(value, "tax_out")
        try:
            result = (value / factor).quantize(q, rounding)
        except ArithmeticError:
            raise DataError(f"tax_out: {value} is too large") from None
        return result if result else abs(result)

    return tax_out


def _tax_setup(a: Args, ctx: BindContext, fn: str) -> tuple[Decimal, Decimal, str]:
    """(1 + rate/100, quantum, rounding mode) of tax_in and tax_out."""
    return _ONE + _rate(a, ctx, fn) / 100, _places(a, fn), ROUNDING[a["mode"]]


@_builtin("multiply", _req("factor", "decimal", 'exact factor, e.g. "1.2" or 100'))
def _f_multiply(a: Args, ctx: BindContext) -> Step:
    """Multiply an amount by an exact decimal factor (no rounding: add a round step)."""
    factor = a["factor"]

    def multiply_(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is not Decimal or not value.is_finite():
            value = _decimal(value, "multiply")
        try:
            return value * factor
        except ArithmeticError:
            raise DataError(f"multiply: {value} is too large") from None

    return multiply_


@_builtin("add", _req("amount", "decimal", 'exact amount, e.g. "0.50" or -1'))
def _f_add(a: Args, ctx: BindContext) -> Step:
    """Add an exact decimal amount (negative to subtract)."""
    amount = a["amount"]

    def add_(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is not Decimal or not value.is_finite():
            value = _decimal(value, "add")
        try:
            return value + amount
        except ArithmeticError:
            raise DataError(f"add: {value} is too large") from None

    return add_


@_builtin(
    "unit",
    _req("from", "string", "unit of the value: mg g kg lb oz, ml cl l, mm cm m, each unit dozen"),
    _req("to", "string", "unit of the result, of the same dimension"),
)
def _f_unit(a: Args, ctx: BindContext) -> Step:
    """Convert a quantity between units with exact factors (1 lb = 0.45359237 kg).

    Converting there and back gives the value back for up to 15 significant digits.
    """
    try:
        convert = converter(a["from"], a["to"])
    except UnitError as exc:
        raise ArgError(exc.side, f"unit: {exc}") from None

    def unit(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is not Decimal or not value.is_finite():
            value = _decimal(value, "unit")
        try:
            return convert(value)
        except ArithmeticError:
            raise DataError(f"unit: {value} is too large") from None

    return unit


# --- dates ------------------------------------------------------------------------------------


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _zone(a: Args, param: str, fn: str) -> zoneinfo.ZoneInfo | None:
    name = a[param]
    if name is None:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        names = _zone_names()
        same = next((n for n in names if n.lower() == name.lower()), None)
        if same is not None:
            message = f"unknown timezone {name!r} (did you mean {same!r}?)"
        else:
            close = _did_you_mean(name, names)
            hint = f"did you mean {close!r}?" if close else "an IANA name like 'Europe/Paris'"
            message = f"unknown timezone {name!r} ({hint})"
        raise ArgError(param, f"{fn}: {message}") from None


def _datetime(value: Any, fn: str, fmt: str | None = None) -> dt.datetime:
    """A datetime from a datetime, a date (midnight) or text (ISO 8601 or ``fmt``)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    expected = f"a date-time in the format {fmt!r}" if fmt else "an ISO 8601 date-time"
    if isinstance(value, str):
        try:
            if fmt:
                return dt.datetime.strptime(value.strip(), fmt)
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DataError(f"{fn}: expected {expected}, got {value!r}")


@_builtin(
    "date",
    _opt("format", "string", None, "strptime format, e.g. '%d/%m/%Y %H:%M' (default ISO 8601)"),
    _opt("timezone", "string", None, "IANA zone for values without an offset"),
)
def _f_date(a: Args, ctx: BindContext) -> Step:
    """Read a date-time as an aware datetime; a value without offset needs ``timezone``.

    A value with its own offset keeps it (use ``to_timezone`` to convert).
    """
    fmt, zone = a["format"], _zone(a, "timezone", "date")

    def date(value: Any, record: Any) -> Any:
        if value is None:
            return None
        moment = _datetime(value, "date", fmt)
        if moment.tzinfo is None or moment.utcoffset() is None:
            if zone is None:
                raise DataError(
                    f"date: {value!r} has no timezone offset; give date a timezone "
                    "(e.g. timezone: Europe/Paris)"
                )
            return moment.replace(tzinfo=zone)
        return moment

    return date


@_builtin("to_timezone", _req("timezone", "string", "IANA zone, e.g. 'Europe/Paris'"))
def _f_to_timezone(a: Args, ctx: BindContext) -> Step:
    """Express an aware date-time in another time zone (same instant)."""
    zone = _zone(a, "timezone", "to_timezone")

    def to_timezone(value: Any, record: Any) -> Any:
        if value is None:
            return None
        moment = _datetime(value, "to_timezone")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise DataError(
                f"to_timezone: {value!r} has no timezone offset; read it with date first"
            )
        return moment.astimezone(zone)

    return to_timezone


@_builtin(
    "format_date",
    _opt(
        "format",
        "string",
        None,
        "strftime format (default ISO 8601, e.g. 2024-05-01T10:00:00+02:00)",
    ),
)
def _f_format_date(a: Args, ctx: BindContext) -> Step:
    """Write a date-time as text, in ISO 8601 unless a strftime format is given."""
    fmt = a["format"]

    def format_date(value: Any, record: Any) -> Any:
        if value is None:
            return None
        moment = value if isinstance(value, dt.date) else _datetime(value, "format_date")
        return moment.strftime(fmt) if fmt else moment.isoformat()

    return format_date


# --- text -----------------------------------------------------------------------------------


def _getter(node: dict[str, Any], compiled: Any) -> Callable[[Any], Any]:
    """A fast reader for plain field paths (``a.b``); JMESPath's interpreter otherwise."""
    if node["type"] == "field":
        name = node["value"]

        def field_(data: Any) -> Any:
            try:
                return data.get(name)
            except AttributeError:
                return None

        return field_
    if node["type"] == "subexpression" and all(c["type"] == "field" for c in node["children"]):
        names = tuple(c["value"] for c in node["children"])

        def path(data: Any) -> Any:
            for name in names:
                try:
                    data = data.get(name)
                except AttributeError:
                    return None
            return data

        return path
    return compiled.search


@_builtin(
    "concat",
    _req("parts", "list", "JMESPath expressions on the record; 'text' is a literal"),
    _opt("sep", "string", "", "put between the parts"),
    takes_record=True,
)
def _f_concat(a: Args, ctx: BindContext) -> Step:
    """Join parts of the record as text, e.g. ``concat: [first_name, "' '", last_name]``.

    Missing (null) parts are skipped; the result is null if all are. The incoming value
    is not used.
    """
    if not a["parts"]:
        raise ArgError("parts", "concat: parts must not be empty")
    parts: list[Any] = []
    for index, part in enumerate(a["parts"]):
        if not isinstance(part, str):
            raise ArgError(
                "parts",
                f"concat: part {index + 1} must be a JMESPath expression (got {_got(part)})",
                (index,),
            )
        try:
            compiled = jmespath.compile(part)
        except jmespath.exceptions.JMESPathError as exc:
            reason = str(exc).splitlines()[0].removesuffix(", for expression:")
            raise ArgError(
                "parts",
                f"concat: part {index + 1} is not a valid JMESPath expression: {part!r} ({reason})",
                (index,),
            ) from None
        node = compiled.parsed
        if node["type"] == "literal":
            if node["value"] is None:
                continue
            try:
                parts.append(_text(node["value"], "concat"))
            except DataError as exc:
                raise ArgError("parts", str(exc), (index,)) from None
        else:
            parts.append(_getter(node, compiled))
    sep = a["sep"]
    constants = [p for p in parts if isinstance(p, str)]
    if len(constants) == len(parts):
        joined = sep.join(constants) or None
        return lambda value, record: joined

    def concat(value: Any, record: Any) -> Any:
        out = []
        for part in parts:
            if part.__class__ is not str:
                part = part(record)
                if part is None:
                    continue
                if part.__class__ is not str:
                    part = _text(part, "concat")
            out.append(part)
        return sep.join(out) if out else None

    return concat


def _text_step(fn: str, operation: Callable[[str], Any]) -> Step:
    """A step applying a str operation; numbers are first written as by ``string``."""

    def text(value: Any, record: Any) -> Any:
        if value is None:
            return None
        return operation(value if value.__class__ is str else _text(value, fn))

    text.__name__ = fn
    return text


@_builtin("upper")
def _f_upper(a: Args, ctx: BindContext) -> Step:
    """Upper-case text."""
    return _text_step("upper", str.upper)


@_builtin("lower")
def _f_lower(a: Args, ctx: BindContext) -> Step:
    """Lower-case text."""
    return _text_step("lower", str.lower)


@_builtin("strip")
def _f_strip(a: Args, ctx: BindContext) -> Step:
    """Remove spaces (and other white space) at both ends of text."""
    return _text_step("strip", str.strip)


@_builtin(
    "replace",
    _req("old", "string", "text to find (not empty)"),
    _req("new", "string", "text to put instead"),
)
def _f_replace(a: Args, ctx: BindContext) -> Step:
    """Replace every occurrence of a text by another, e.g. a decimal comma by a point."""
    old, new = a["old"], a["new"]
    if not old:
        raise ArgError("old", "replace: old must not be empty")
    return _text_step("replace", lambda text: text.replace(old, new))


@_builtin("prefix", _req("text", "string", "text to put in front"))
def _f_prefix(a: Args, ctx: BindContext) -> Step:
    """Put a text in front of the value, e.g. a store code prefix."""
    before = a["text"]

    def prefix(value: Any, record: Any) -> Any:
        if value.__class__ is str:
            return before + value
        if value is None:
            return None
        return before + _text(value, "prefix")

    return prefix


@_builtin("suffix", _req("text", "string", "text to put after"))
def _f_suffix(a: Args, ctx: BindContext) -> Step:
    """Put a text after the value."""
    after = a["text"]
    return _text_step("suffix", lambda text: text + after)


@_builtin(
    "split",
    _req("sep", "string", "separator (not empty)"),
    _opt("index", "integer", None, "keep only this part (0 first, -1 last); null if absent"),
)
def _f_split(a: Args, ctx: BindContext) -> Step:
    """Cut text at a separator into a list, or keep one part of it."""
    sep, index = a["sep"], a["index"]
    if not sep:
        raise ArgError("sep", "split: sep must not be empty")
    if index is None:
        return _text_step("split", lambda text: text.split(sep))

    def pick(text: str) -> Any:
        parts = text.split(sep)
        return parts[index] if -len(parts) <= index < len(parts) else None

    return _text_step("split", pick)


@_builtin("join", _req("sep", "string", "put between the items"))
def _f_join(a: Args, ctx: BindContext) -> Step:
    """Join a list as text, skipping null items; a single value is written as text."""
    sep = a["sep"]

    def join(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return sep.join(
                item if item.__class__ is str else _text(item, "join")
                for item in value
                if item is not None
            )
        return value if value.__class__ is str else _text(value, "join")

    return join


@_builtin("first")
def _f_first(a: Args, ctx: BindContext) -> Step:
    """The first item of a list (null if empty); a single value is kept as it is.

    Sources converted from XML give a list only when an element repeats.
    """

    def first(value: Any, record: Any) -> Any:
        if isinstance(value, list | tuple):
            return value[0] if value else None
        return value

    return first


@_builtin("email")
def _f_email(a: Args, ctx: BindContext) -> Step:
    """Normalise an e-mail address: trimmed, lower case, one '@' between two non-empty parts."""

    def email(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise DataError(f"email: expected an e-mail address as text, got {value!r}")
        address = value.strip().lower()
        local, _, domain = address.partition("@")
        if not local or not domain or "@" in domain or len(address.split()) != 1:
            raise DataError(f"email: not an e-mail address: {value!r}")
        return address

    return email


def _region(name: str, fn: str, param: str | None) -> str:
    code = name.strip().upper()
    if code in phonenumbers.SUPPORTED_REGIONS:
        return code
    close = _did_you_mean(code, sorted(phonenumbers.SUPPORTED_REGIONS))
    hint = f"did you mean {close!r}?" if close else "an ISO 3166 code like 'FR'"
    where = " (the mapping's default region)" if param is None else ""
    raise ArgError(param, f"{fn}: unknown phone region {name!r}{where} ({hint})")


@_builtin("phone", _opt("region", "string", None, "ISO 3166 country code for national numbers"))
def _f_phone(a: Args, ctx: BindContext) -> Step:
    """Normalise a phone number to E.164 (+33612345678), checking it is a valid number.

    Numbers without a +country prefix are read in ``region``, else the mapping's region.
    """
    if a["region"] is not None:
        region: str | None = _region(a["region"], "phone", "region")
    elif ctx.region is not None:
        region = _region(ctx.region, "phone", None)
    else:
        region = None
    where = f" (region {region})" if region else ""
    parse, valid, fmt = phonenumbers.parse, phonenumbers.is_valid_number, phonenumbers.format_number
    e164 = phonenumbers.PhoneNumberFormat.E164

    def phone(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise DataError(f"phone: expected a phone number as text, got {value!r}")
        try:
            number = parse(value, region)
        except phonenumbers.NumberParseException as exc:
            reason = getattr(exc, "_msg", str(exc))
            raise DataError(
                f"phone: cannot read {value!r} as a phone number{where}: {reason}"
            ) from None
        if not valid(number):
            raise DataError(f"phone: {value!r} is not a valid phone number{where}")
        return fmt(number, e164)

    return phone


# --- entry points ------------------------------------------------------------------------------

_ANNOTATIONS: dict[Any, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    Decimal: "decimal",
    list: "list",
    dict: "mapping",
    Mapping: "mapping",
    Any: "any",
    inspect.Parameter.empty: "any",
}


def _param_type(annotation: Any) -> tuple[str | None, bool]:
    """(parameter type or None if unsupported, whether null is allowed) for an annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        if len(members) == 1:
            return _param_type(members[0])[0], True
        return None, False
    if origin is not None:
        annotation = origin
    return _ANNOTATIONS.get(annotation), False


def from_callable(name: str, function: Callable[..., Any], source: str) -> MappingFunction:
    """Describe a plain Python callable as a mapping function (what plugins provide)."""
    where = f"mapping function {name!r} ({source})"
    if not callable(function):
        raise ConfigError(f"{where} is not callable")
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # unresolvable string annotations: fall back to the raw ones
        hints = {}
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind not in positional:
        raise ConfigError(f"{where} must take the value as its first positional parameter")
    params: list[Param] = []
    takes_record = False
    for parameter in parameters[1:]:
        if parameter.kind not in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            raise ConfigError(
                f"{where}: parameter {parameter.name!r} must be passable by name "
                "(no *args, **kwargs or positional-only parameters)"
            )
        if parameter.name == "record":
            takes_record = True
            continue
        annotation = hints.get(parameter.name, parameter.annotation)
        kind, _nullable = _param_type(annotation)
        if kind is None:
            raise ConfigError(
                f"{where}: parameter {parameter.name!r} has unsupported type {annotation!r} "
                "(use str, int, bool, Decimal, list, dict or Any)"
            )
        required = parameter.default is inspect.Parameter.empty
        default = NO_DEFAULT if required else parameter.default
        params.append(Param(parameter.name, kind, required, default, ""))
    doc = inspect.cleandoc(function.__doc__ or "")

    def binder(a: Args, ctx: BindContext) -> Step:
        kwargs = {key: a[key] for key in a.given}
        if takes_record:

            def call(value: Any, record: Any) -> Any:
                return function(value, record=record, **kwargs)

        else:

            def call(value: Any, record: Any) -> Any:
                return function(value, **kwargs)

        def plugin(value: Any, record: Any) -> Any:
            if value is None:
                return None
            try:
                result = call(value, record)
            except ValueError as exc:
                raise DataError(f"{name}: {exc}") from exc
            if isinstance(result, float):
                raise DataError(f"{name}: returned float {result!r}; return Decimal for numbers")
            return result

        return plugin

    return MappingFunction(name, tuple(params), doc, binder, takes_record, source)


def _from_entry_point(ep: EntryPoint) -> MappingFunction:
    try:
        function = ep.load()
    except Exception as exc:
        raise ConfigError(
            f"mapping function entry point {ep.name!r} ({ep.value}) cannot be loaded: {exc}"
        ) from exc
    return from_callable(ep.name, function, ep.value)


@cache
def library() -> Mapping[str, MappingFunction]:
    """Built-ins plus the ``brique.mapping_functions`` entry points (cached; cache_clear())."""
    found = dict(_BUILTINS)
    sources: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        if ep.name in _BUILTINS:
            raise ConfigError(
                f"mapping function entry point {ep.name!r} ({ep.value}) collides with the "
                f"built-in function {ep.name!r}; rename the entry point"
            )
        if ep.name in sources:
            if sources[ep.name] == ep.value:  # the same package seen twice
                continue
            raise ConfigError(
                f"mapping function {ep.name!r} is provided twice: {sources[ep.name]} and {ep.value}"
            )
        found[ep.name] = _from_entry_point(ep)
        sources[ep.name] = ep.value
    return types.MappingProxyType(found)


# --- the public entry points --------------------------------------------------------------------


def bind(name: str, args: Any, ctx: BindContext) -> Step:
    """Check one ``apply`` item and return its step; errors are located in its arguments.

    ``LocatedError.at`` is relative to the item's arguments: ``()`` is the item itself
    (with ``on_key=True`` for an unknown function name), ``("rate",)`` a named argument.
    """
    functions = library()
    function = functions.get(name) if isinstance(name, str) else None
    if function is None:
        raise LocatedError(_unknown("function", str(name), list(functions)), (), on_key=True)
    args_, paths = _parse_args(function, args)
    try:
        return function.binder(args_, ctx)
    except ArgError as exc:
        at = paths.get(exc.param, ()) if exc.param else ()
        raise LocatedError(str(exc), at + exc.sub) from None


def _json_default(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


def describe() -> list[dict[str, Any]]:
    """Every function with its parameters and documentation, sorted by name (JSON-ready)."""
    out = []
    for function in sorted(library().values(), key=lambda f: f.name):
        params = []
        for p in function.params:
            entry: dict[str, Any] = {"name": p.name, "type": p.type, "required": p.required}
            if p.default is not NO_DEFAULT:
                entry["default"] = _json_default(p.default)
            if p.choices:
                entry["choices"] = list(p.choices)
            entry["doc"] = p.doc
            params.append(entry)
        out.append(
            {
                "name": function.name,
                "params": params,
                "doc": function.doc,
                "takes_record": function.takes_record,
                "source": function.source,
            }
        )
    return out
