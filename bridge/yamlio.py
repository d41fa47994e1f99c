"""YAML loading that keeps source positions, so every error names ``file:line:col``.

ruamel.yaml's round-trip loader remembers where each key and item came from; pydantic's
error locations are rewritten to those positions (the approach of Dagster's
``parse_yaml_file_to_pydantic``), with the offending value and a did-you-mean hint.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.reader import ReaderError

from bridge.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class YamlConfigError(ConfigError):
    """One or more problems in a YAML file, each with its position."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class LocatedError(ValueError):
    """A validator's error about one part of its value; ``at`` is the path below the field.

    Raised from a pydantic validator, it moves the reported position from the validated
    field (or from the top of the file, for a model validator) to the offending key or item.
    """

    def __init__(self, message: str, at: Sequence[str | int], *, on_key: bool = False) -> None:
        super().__init__(message)
        self.at = tuple(at)
        self.on_key = on_key
        """Point at the last part's key (e.g. an unknown name) rather than at its value."""


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in ``text``."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def load_yaml(path: Path) -> Any:
    """Parse a YAML file keeping positions; syntax errors carry file:line:col."""
    yaml = YAML(typ="rt", pure=True)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlConfigError([Problem(str(path), 1, 1, f"cannot read: {exc.strerror}")]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line, col = _line_col(before, len(before))
        problem = Problem(str(path), line, col, f"not UTF-8 text: byte 0x{raw[exc.start]:02x}")
        raise YamlConfigError([problem]) from exc
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax: {exc.problem or exc.context}"
        start = exc.context_mark
        if exc.problem and exc.context and start is not None and start is not mark:
            # e.g. an unclosed quote or bracket: say where it was opened, not only the end
            message += f" ({exc.context} at {start.line + 1}:{start.column + 1})"
        raise YamlConfigError([Problem(str(path), line, col, message)]) from exc
    except ReaderError as exc:
        line, col = _line_col(text, exc.position)
        message = f"YAML syntax: character #x{exc.character:04x} is not allowed ({exc.reason})"
        raise YamlConfigError([Problem(str(path), line, col, message)]) from exc


_MISSING = object()


def _find_key(node: CommentedMap, part: str | int) -> Any:
    """The key of ``node`` that pydantic names ``part`` (an int YAML key may come as text)."""
    if part in node:
        return part
    for key in node:
        if str(key) == str(part):
            return key
    return _MISSING


def _position(data: Any, loc: Sequence[str | int], on_key: bool = False) -> tuple[int, int]:
    """Deepest known (line, col), 1-based, for a pydantic error location.

    A scalar is pointed at itself, a mapping or a list at its key; ``on_key`` points at the
    last part's key rather than its value (an error about a dict key). A missing key points
    at the mapping that lacks it.
    """
    line, col = 1, 1
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, CommentedMap):
            key = _find_key(node, part)
            if key is _MISSING:
                break
            kl, kc = node.lc.key(key)
            line, col = kl + 1, kc + 1
            if not isinstance(node[key], CommentedMap | CommentedSeq) and not (last and on_key):
                try:
                    vl, vc = node.lc.value(key)
                    line, col = vl + 1, vc + 1
                except (KeyError, TypeError):
                    pass
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            ln, cl = node.lc.item(part)
            line, col = ln + 1, cl + 1
            node = node[part]
        else:
            break
    return line, col


def did_you_mean(name: str, candidates: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _hint(model_fields: Sequence[str], key: str) -> str:
    return did_you_mean(key, model_fields)


def problems_at(
    data: Any, path: Path, errors: Iterable[tuple[Sequence[str | int], str, bool]]
) -> list[Problem]:
    """Problems found after validation (e.g. while compiling), located like pydantic's.

    Each error is ``(location, message, on_key)``; the location is a path of keys and list
    indexes from the top of the file.
    """
    problems = []
    for loc, message, on_key in errors:
        line, col = _position(data, loc, on_key)
        where = ".".join(str(p) for p in loc) or "(top level)"
        problems.append(Problem(str(path), line, col, f"{where}: {message}"))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds directly (``Model`` or ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, UnionType):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _item_type(annotation: Any) -> Any:
    """The value type of a dict/list/tuple annotation (``X | None`` unwrapped), else None."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        return args[0]
    if origin in (Union, UnionType):
        for arg in args:
            if arg is not type(None):
                found = _item_type(arg)
                if found is not None:
                    return found
    return None


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names allowed at a location, for did-you-mean hints on unknown keys."""
    annotation: Any = model
    for part in loc[:-1]:
        item = _item_type(annotation)
        if item is not None:
            annotation = item  # ``part`` is a dict key or a list index
            continue
        current = _inner_model(annotation)
        field = _field_named(current, str(part)) if current is not None else None
        if field is None:
            return []
        annotation = field.annotation
    current = _inner_model(annotation)
    return [f.alias or n for n, f in current.model_fields.items()] if current is not None else []


def _field_named(model: type[BaseModel], name: str) -> Any:
    """A model field by its name or by its YAML alias (``from`` for ``from_``)."""
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def problems_from_validation(
    exc: ValidationError, data: Any, path: Path, model: type[BaseModel]
) -> list[Problem]:
    """One problem per pydantic error, in file order."""
    problems = []
    for err in exc.errors():
        raw_loc = list(err["loc"])
        on_key = bool(raw_loc) and raw_loc[-1] == "[key]"
        # drop pydantic's markers ("[key]", "function-after[...]"...), keep real parts
        loc: list[str | int] = [p for p in raw_loc if not (isinstance(p, str) and "[" in p)]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, LocatedError):
            loc += list(cause.at)
            on_key = cause.on_key
        if err["type"] == "extra_forbidden":
            on_key = True  # an unknown key: point at the key, not at its value
        line, col = _position(data, loc, on_key)
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            msg = f"unknown key {key!r}{_hint(_fields_at(model, loc), key)}"
        elif err["type"] == "missing" and loc:
            parent = ".".join(str(p) for p in loc[:-1]) or "(top level)"
            msg = f"{parent}: missing required key {str(loc[-1])!r}"
        elif isinstance(cause, LocatedError):
            msg = f"{where}: {cause}"
        else:
            value = err.get("input")
            shown = "" if on_key or isinstance(value, dict | list) else f" (got {value!r})"
            text = err["msg"].removeprefix("Value error, ")
            if err["type"] == "literal_error" and isinstance(value, str):
                choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
                shown += did_you_mean(value, choices)
            msg = f"{where}{' (key)' if on_key else ''}: {text}{shown}"
        problems.append(Problem(str(path), line, col, msg))
    return sorted(problems, key=lambda p: (p.line, p.column))


def validate(data: Any, path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Validate YAML parsed by ``load_yaml`` into a model; problems carry their positions."""
    if data is None:
        data = CommentedMap()
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise YamlConfigError(problems_from_validation(exc, data, path, model)) from exc


def load_model(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Load a YAML file into a pydantic model; every problem is reported with its position."""
    return validate(load_yaml(path), path, model, context)
