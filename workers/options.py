"""Options shared by every ``brique`` command module (annotations typer reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Settings file (default: $BRIQUE_CONFIG or config/demo.yaml)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
