"""The pytest plugin: tags contract tests with their suite and applies declared skips.

Skips are decided at collection time, so ``pytest -rs`` lists every suite a connector does
not run and why; a test whose capability the connector does not declare is skipped saying so.
"""

from __future__ import annotations

import pytest

from bridge.testing.base import SUITES, ContractBase


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "contract(suite): a test of the brique connector contract kit, by suite"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        cls = getattr(item, "cls", None)
        func = getattr(item, "function", None)
        name = getattr(func, "contract_suite", None)
        if cls is None or name is None or not issubclass(cls, ContractBase):
            continue
        item.add_marker(pytest.mark.contract(name))
        reason = cls.skip_suites.get(name)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"contract suite {name!r}: {reason}"))
            continue
        needs = getattr(func, "contract_needs", None)
        if needs and not set(needs) & cls.capabilities():
            wanted = " or ".join(str(c) for c in needs)
            item.add_marker(
                pytest.mark.skip(reason=f"contract suite {name!r}: connector lacks {wanted}")
            )


def pytest_report_header(config: pytest.Config) -> str:
    return f"brique contract kit: suites {', '.join(SUITES)}"
