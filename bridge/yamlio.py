"""YAML loading that keeps source positions, so every error names ``file:line:col``.

ruamel.yaml's round-trip loader remembers where each key and item came from; pydantic's
error locations are rewritten to those positions (the approach of Dagster's
``parse_yaml_file_to_pydantic``), with the offending value and a did-you-mean hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

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


def load_yaml(path: Path) -> Any:
    """Parse a YAML file keeping positions; syntax errors carry file:line:col."""
    yaml = YAML(typ="rt", pure=True)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlConfigError([Problem(str(path), 1, 1, f"cannot read: {exc.strerror}")]) from exc
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlConfigError(
            [Problem(str(path), line, col, f"YAML syntax: {exc.problem or exc.context}")]
        ) from exc


def _position(data: Any, loc: Sequence[str | int]) -> tuple[int, int]:
    """Deepest known (line, col), 1-based, for a pydantic error location."""
    line, col = 1, 1
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            try:
                ln, cl = node.lc.value(part)
            except (KeyError, TypeError):
                ln, cl = node.lc.key(part)
            if not isinstance(node[part], CommentedMap | CommentedSeq):
                line, col = ln + 1, cl + 1
            else:
                kl, kc = node.lc.key(part)
                line, col = kl + 1, kc + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            ln, cl = node.lc.item(part)
            line, col = ln + 1, cl + 1
            node = node[part]
        elif isinstance(node, CommentedMap) and isinstance(part, str):
            # unknown key reported by pydantic (extra="forbid") is a key of ``node``
            for key in node:
                if str(key) == part:
                    kl, kc = node.lc.key(key)
                    return kl + 1, kc + 1
            break
        else:
            break
    return line, col


def _hint(model_fields: Sequence[str], key: str) -> str:
    close = difflib.get_close_matches(key, list(model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names allowed at a location, for did-you-mean hints on unknown keys."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = _inner_model(field.annotation)
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def problems_from_validation(
    exc: ValidationError, data: Any, path: Path, model: type[BaseModel]
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        line, col = _position(data, loc)
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            msg = f"unknown key {key!r}{_hint(_fields_at(model, loc), key)}"
        else:
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            msg = f"{where}: {err['msg']}{shown}"
        problems.append(Problem(str(path), line, col, msg))
    return problems


def load_model(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Load a YAML file into a pydantic model; every problem is reported with its position."""
    data = load_yaml(path)
    if data is None:
        data = CommentedMap()
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise YamlConfigError(problems_from_validation(exc, data, path, model)) from exc
