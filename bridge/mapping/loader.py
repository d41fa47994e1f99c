"""Load mapping files into compiled plans, keeping the last good plan when a file breaks."""

from __future__ import annotations

import threading
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
    """The plan a process uses now; a reload swaps it atomically or keeps the last good one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self.error: str | None = None
        self._plan = MappingPlan.compile(MappingSpec()) if path is None else load_plan(path)
        if path is not None:
            self._mtime = path.stat().st_mtime

    @property
    def plan(self) -> MappingPlan:
        return self._plan

    def reload_if_changed(self) -> bool:
        """Reload when the file changed; on error keep the last good plan and remember why."""
        if self.path is None:
            return False
        try:
            mtime = self.path.stat().st_mtime
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror}"
            return False
        if mtime == self._mtime:
            return False
        try:
            plan = load_plan(self.path)
        except ConfigError as exc:
            self.error = str(exc)
            self._mtime = mtime
            log.error("mapping_rejected", path=str(self.path), error=self.error)
            return False
        with self._lock:
            self._plan, self._mtime, self.error = plan, mtime, None
        log.info("mapping_reloaded", path=str(self.path), version=plan.version)
        return True
