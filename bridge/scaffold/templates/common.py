"""Files every scaffolded plugin has, whatever its kind."""

from __future__ import annotations

PYPROJECT = r"""[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{{dist}}"
version = "0.1.0"
description = "The {{name}} connector for Brique ({{kind}})."
readme = "README.md"
requires-python = ">=3.11"
# TODO(integrator): license, authors, urls.
dependencies = ["brique>={{brique_version}}"]

[project.optional-dependencies]
test = ["pytest>=8", "responses>=0.25"]

# How Brique finds the connector, exactly like the built-in ones.
[project.entry-points."brique.connectors"]
{{name}} = "{{package}}:{{Class}}Connector"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers"

[tool.ruff]
line-length = 100
target-version = "py311"
src = ["src", "tests"]

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "S", "RUF"]
ignore = ["S101"]

[tool.ruff.lint.isort]
known-first-party = ["{{package}}"]

[tool.ruff.lint.per-file-ignores]
"tests/*" = ["S", "RUF012"]  # the kit's class attributes (config = {...})
"""

INIT = r'''"""The {{name}} connector for Brique (entry point group ``brique.connectors``)."""

from {{package}}.config import {{Class}}Config
from {{package}}.connector import {{Class}}Connector

__all__ = ["{{Class}}Config", "{{Class}}Connector"]
'''

VALUES = r'''"""Reading an API's JSON values exactly: ids as strings, numbers as Decimals, times.

Every error names the record and the field, so a dead letter says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.errors import DataError


def objects(payload: Mapping[str, Any], field: str, where: str) -> list[dict[str, Any]]:
    """``payload[field]`` as a list of objects (absent: empty)."""
    value = payload.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataError(f"{where}: {field!r} is not a list of objects")
    return value


def text(value: Any, what: str) -> str:
    """An identifier as a string (a numeric id keeps its digits); refuses a missing one."""
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise DataError(f"{what} is missing")
    return str(value).strip()


def optional_text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def decimal(value: Any, what: str) -> Decimal:
    """A JSON number or string as an exact Decimal; never through a float."""
    if value is None or isinstance(value, bool):
        raise DataError(f"{what}: expected a number, got {value!r}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise DataError(f"{what}: {value!r} is not a number") from None
    if not number.is_finite():
        raise DataError(f"{what}: {value!r} is not a number")
    return number


def parse_time(value: Any, what: str) -> datetime | None:
    """An ISO 8601 timestamp, or None when absent."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{what}: {value!r} is not an ISO 8601 time") from None


def parse_day(value: Any, what: str) -> date | None:
    """The business day (YYYY-MM-DD), or None when absent."""
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{what}: business day {value!r} is not YYYY-MM-DD") from None
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/{{package}}/__init__.py": INIT,
    "src/{{package}}/values.py": VALUES,
}
