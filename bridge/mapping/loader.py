"""Load mapping files into compiled plans, keeping the last good plan when a file breaks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import structlog

from bridge.errors import ConfigError
from bridge.mapping.plan import MappingCompileError, MappingPlan
from bridge.mapping.spec import MappingSpec
from bridge.yamlio import YamlConfigError, load_yaml, problems_at, validate

log = structlog.get_logger(__name__)


def load_plan(path: Path) -> MappingPlan:
    """Validate and compile one file; raises ``YamlConfigError`` with file:line:col problems.

    Schema problems (unknown keys, wrong types) and compile problems (unknown functions,
    bad paths, CSV files) are both reported at their place in the file.
    """
    data = load_yaml(path)
    spec = validate(data, path, MappingSpec)
    try:
        return MappingPlan.compile(spec, path.read_bytes(), str(path), path.parent)
    except MappingCompileError as exc:
        raise YamlConfigError(problems_at(data, path, exc.problems)) from exc


class MappingHolder:
    """The plan a process uses now; a reload swaps it atomically or keeps the last good one.

    The mapping file and every CSV table it reads are watched: editing a crosswalk reloads
    the plan like editing the YAML does.
    """

    def __init__(self, path: Path | None, *, strict: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[float | None, ...] | None = None
        self.error: str | None = None
        self.loaded_at: datetime | None = None
        self._plan = MappingPlan.compile(MappingSpec())
        if path is not None:
            try:
                self._plan = load_plan(path)
                self.loaded_at = datetime.now(UTC)
            except ConfigError as exc:
                if strict:
                    raise
                self.error = str(exc)  # e.g. `brique status` still reports counts
            self._stamp = self._read_stamp()

    @property
    def plan(self) -> MappingPlan:
        return self._plan

    def _read_stamp(self) -> tuple[float | None, ...]:
        stamps: list[float | None] = []
        for path in (self.path, *self._plan.inputs):
            try:
                stamps.append(path.stat().st_mtime_ns if path is not None else None)
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def reload_if_changed(self) -> bool:
        """Reload when a file changed; on error keep the last good plan and remember why."""
        if self.path is None:
            return False
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return False
        if stamp[0] is None:
            self.error = f"{self.path}: the mapping file is missing"
            self._stamp = stamp
            log.error("mapping_rejected", path=str(self.path), error=self.error)
            return False
        try:
            plan = load_plan(self.path)
        except ConfigError as exc:
            self.error = str(exc)
            self._stamp = stamp
            log.error("mapping_rejected", path=str(self.path), error=self.error)
            return False
        with self._lock:
            self._plan, self.error = plan, None
            self.loaded_at = datetime.now(UTC)
            self._stamp = self._read_stamp()
        log.info("mapping_reloaded", path=str(self.path), version=plan.version)
        return True

    def state(self) -> dict[str, object]:
        """What ``/health`` and ``brique status`` show."""
        return {
            "path": None if self.path is None else str(self.path),
            "version": self._plan.version,
            "loaded_at": None if self.loaded_at is None else self.loaded_at.isoformat(),
            "status": "error" if self.error else "ok",
            "error": self.error,
        }
