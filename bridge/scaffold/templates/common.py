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

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/{{package}}/__init__.py": INIT,
}
