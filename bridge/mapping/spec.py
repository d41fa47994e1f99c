"""The mapping file's schema: what admins may write in ``mappings/*.yaml``.

This is the foundation's subset (locations and the SKU crosswalk); the full language grows
here. Unknown keys are refused so a typo never silently does nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridge.model.types import Dec, Identifier
from bridge.yamlio import LocatedError


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationSpec(Spec):
    """One Brique location and its id on each connection that knows it."""

    code: Identifier
    name: str = ""
    region: str | None = None
    ids: dict[str, Identifier] = Field(default_factory=dict)
    """Connection name -> that system's id for this location (store code, location GID)."""
    safety_buffer: Dec = 0  # type: ignore[assignment]
    """Units kept back from what shops may sell."""


class MappingSpec(Spec):
    version: int = 1
    locations: tuple[LocationSpec, ...] = ()
    skus: dict[str, dict[Identifier, Identifier]] = Field(default_factory=dict)
    """Connection name -> {native item id -> SKU}; an id absent here is used as the SKU."""

    @model_validator(mode="after")
    def _unique(self) -> MappingSpec:
        seen: dict[str, int] = {}
        native: dict[tuple[str, str], str] = {}
        for index, loc in enumerate(self.locations):
            if loc.code in seen:
                raise LocatedError(
                    f"location code {loc.code!r} appears twice "
                    f"(first as locations item {seen[loc.code] + 1})",
                    ("locations", index, "code"),
                )
            seen[loc.code] = index
            for conn, ext in loc.ids.items():
                if (conn, ext) in native:
                    raise LocatedError(
                        f"{conn} id {ext!r} is mapped to both {native[(conn, ext)]!r} "
                        f"and {loc.code!r}",
                        ("locations", index, "ids", conn),
                    )
                native[(conn, ext)] = loc.code
        return self
