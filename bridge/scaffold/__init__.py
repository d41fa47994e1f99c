"""``brique new-connector``: a standalone connector plugin package, ready to grow.

The package it makes (``brique-NAME``) registers its connector under the
``brique.connectors`` entry point like any third-party plugin, and passes the contract kit
as generated: its tests serve the kit through an in-memory fake of a small REST API, and
every place to adapt to the real API is marked ``TODO(integrator)``.
"""

from bridge.scaffold.generator import (
    KINDS,
    MAX_NAME_LENGTH,
    Names,
    ScaffoldError,
    check_kind,
    check_name,
    installed_connectors,
    render,
    scaffold,
)

__all__ = [
    "KINDS",
    "MAX_NAME_LENGTH",
    "Names",
    "ScaffoldError",
    "check_kind",
    "check_name",
    "installed_connectors",
    "render",
    "scaffold",
]
