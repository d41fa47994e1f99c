"""``brique`` sub-commands by topic, one module each, registered on the main app.

Each module listed in ``MODULES`` defines ``register(app, groups)``: ``app`` is the root
Typer app, ``groups`` the existing command groups by name (``prices``, ``customers``...),
so a topic can add a group of its own or a command to an existing one. Modules import
``workers.cli`` for the shared options and helpers (``ConfigOpt``, ``runtime``, ``error``).
"""

from __future__ import annotations

from importlib import import_module

import typer

MODULES: list[str] = [
    "workers.commands.baskets",
    "workers.commands.events",
    "workers.commands.loyalty",
    "workers.commands.returns",
    "workers.commands.parity",
]


def register_all(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    for name in MODULES:
        import_module(name).register(app, groups)
