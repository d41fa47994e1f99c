"""A throw-away Brique installation: one YAML file, real ``brique`` processes, full cleanup.

Like ``tests/flow.py`` but without pytest: the benchmarks start the same ``python -m
workers.cli worker|beat`` commands an operator runs, so what is measured is the shipped
configuration (prefork pool, acks_late, prefetch 1, the tuned embedded polling), not an
in-process shortcut. Each process gets its own session so that stopping it also stops its
pool children, and only processes started here are ever signalled.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.services import Backend
from tests.flow import delete_queues
from tests.support import BriqueProcess, unique, write_yaml

REPO = Path(__file__).resolve().parent.parent


class Process(BriqueProcess):
    """A ``brique`` sub-command (the test suite's harness) that can wait for a log line."""

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Wait until ``text`` shows up in the log (e.g. the worker's "ready.")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log.name} exited:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.log.name}: no {text!r} after {timeout}s")


class Installation:
    """Settings file, database schema, a Celery app for sending, and the processes."""

    def __init__(
        self,
        root: Path,
        backend: Backend,
        database_url: str,
        connections: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.root = root
        self.backend = backend
        config: dict[str, Any] = {
            "data_dir": str(root / "data"),
            "database_url": database_url,
            "queue_prefix": unique("bench"),
            "connections": connections or {},
            **extra,
        }
        if backend.broker_url:
            config["broker_url"] = backend.broker_url
        self.config_path = write_yaml(root / "brique.yaml", config)
        # workers.app builds a module-level app from $BRIQUE_CONFIG on import: point it here
        # rather than at config/demo.yaml, which would create folders under var/demo.
        os.environ.setdefault("BRIQUE_CONFIG", str(self.config_path))
        from bridge.settings import load_settings
        from bridge.store import db
        from workers.app import create_app

        self.settings = load_settings(self.config_path)
        db.upgrade(self.settings.resolved_database_url())
        self.celery = create_app(self.settings)
        self.processes: list[Process] = []
        self.logs_to: Path | None = None
        """Where ``close`` copies the logs (under var/bench/logs), if anywhere."""

    def start(self, command: str, *extra: str) -> Process:
        """Start ``brique COMMAND`` exactly as an operator would."""
        log = self.root / f"{command}-{len(self.processes)}.log"
        proc = Process([command, "--config", str(self.config_path), *extra], log)
        self.processes.append(proc)
        return proc

    def worker(self, concurrency: int = 2) -> Process:
        proc = self.start("worker", "--concurrency", str(concurrency))
        proc.wait_for(" ready.")
        return proc

    def check_alive(self) -> None:
        """Raise, quoting the log, as soon as one of our processes has died."""
        for proc in self.processes:
            if proc.proc.poll() is not None:
                lines = proc.output().splitlines()
                fatal = [x for x in lines if '"critical"' in x or "Unrecoverable" in x]
                last = (fatal or lines or ["(no output)"])[-1]
                try:
                    last = json.loads(last)["event"]
                except (ValueError, KeyError, TypeError):
                    pass
                raise RuntimeError(f"{proc.log.stem} exited: {last[:300]}")

    def keep_logs(self, folder: Path) -> None:
        """Copy the process logs out of the temporary directory, for a look after the run."""
        folder.mkdir(parents=True, exist_ok=True)
        for proc in self.processes:
            if proc.log.exists():
                shutil.copyfile(proc.log, folder / proc.log.name)

    def close(self) -> None:
        for proc in self.processes:
            proc.stop()
        if self.logs_to is not None:
            self.keep_logs(self.logs_to)
        try:
            delete_queues(self.celery, self.settings)
        finally:
            self.celery.close()
