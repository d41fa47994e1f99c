"""Find connectors through the ``brique.connectors`` entry-point group, as plugins are found."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from bridge.connector import Connector, ConnectorInfo
from bridge.errors import ConfigError

GROUP = "brique.connectors"


@dataclass(frozen=True)
class Registered:
    """A discovered connector: its class, its info, and the distribution that ships it."""

    entry_point: str
    cls: type[Connector]
    package: str

    @property
    def info(self) -> ConnectorInfo:
        return self.cls.info

    def as_dict(self) -> dict[str, object]:
        info = self.info
        return {
            "name": info.name,
            "kind": info.kind,
            "version": info.version,
            "capabilities": sorted(c.value for c in info.capabilities),
            "package": self.package,
            "description": info.description,
        }


def _load(ep: EntryPoint) -> Registered:
    cls = ep.load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"entry point {ep.name!r} ({ep.value}) is not a Connector subclass")
    package = ep.dist.name if ep.dist is not None else ep.value.split(":")[0].split(".")[0]
    return Registered(entry_point=ep.name, cls=cls, package=package)


@cache
def discover() -> dict[str, Registered]:
    """All installed connectors, by entry-point name."""
    found: dict[str, Registered] = {}
    for ep in entry_points(group=GROUP):
        found[ep.name] = _load(ep)
    return found


def get(name: str) -> Registered:
    found = discover()
    try:
        return found[name]
    except KeyError:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(
            f"no connector named {name!r} is installed (installed: {known})"
        ) from None


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The README's table of connectors, from ``brique connectors list --json`` rows, so
    the documentation is generated from what is installed and cannot drift."""
    lines = ["| name | kind | capabilities | what it does |", "|---|---|---|---|"]
    for row in rows:
        caps = ", ".join(row["capabilities"])
        text = str(row.get("description") or "").replace("|", "\\|")
        lines.append(f"| `{row['name']}` | {row['kind']} | {caps} | {text} |")
    return "\n".join(lines) + "\n"
