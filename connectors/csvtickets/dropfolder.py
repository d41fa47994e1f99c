"""A drop folder whose files are the state, as the POSLog connector keeps it.

A poller claims a ready file by renaming it into ``processing/`` (one poller wins); once its
events are committed to the inbox the file moves to ``done/``, or to ``rejected/`` next to a
``.error.txt`` when it could not be read. A claim abandoned by a killed poller is read again
after ``claim_timeout``. Nothing is deleted or overwritten: a clashing name gets ``~N``.

This duplicates ``connectors/poslog/connector.py``'s folder handling (which this package may
not import private helpers from); both could share one ``bridge`` module.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import structlog

from bridge.errors import ConfigError, TransientError

log = structlog.get_logger(__name__)

DONE = "done"
REJECTED = "rejected"
PROCESSING = "processing"
_CLAIMED = re.compile(r"^\d+-\d+__")
"""The prefix a claim adds (``<ns time>-<pid>__``); the rest is the dropped file's name."""


class DropFolder:
    def __init__(
        self,
        folder: Path,
        *,
        suffixes: Sequence[str],
        stable_seconds: float,
        claim_timeout: float,
        name: str,
    ) -> None:
        self.folder = folder
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.stable_seconds = stable_seconds
        self.claim_timeout = claim_timeout
        self.name = name
        """The connector's name, in messages and log events."""

    def check(self) -> None:
        folder = self.folder
        if not folder.is_dir():
            raise ConfigError(f"{self.name}: drop_folder {str(folder)!r} is not an existing folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"{self.name}: drop_folder {str(folder)!r} is not writable "
                "(files are moved to processing/, done/ and rejected/ inside it)"
            )

    def claims(self) -> Iterator[Path]:
        """Claimed files to read: abandoned claims first, then ready files, oldest first."""
        candidates = [(p, dropped_name(p)) for p in self._abandoned()]
        candidates += [(p, p.name) for p in self._ready()]
        for path, name in candidates:
            claimed = self._claim(path, name)
            if claimed is not None:  # else another poller took it first
                yield claimed

    def done(self, claimed: Path) -> Callable[[], None]:
        return self._mover(claimed, DONE, None)

    def rejected(self, claimed: Path, error: str) -> Callable[[], None]:
        return self._mover(claimed, REJECTED, error)

    # -- internals

    def _abandoned(self) -> list[Path]:
        processing = self.folder / PROCESSING
        if not processing.is_dir():
            return []
        cutoff = time.time() - self.claim_timeout
        found = []
        for path in sorted(processing.iterdir()):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    found.append(path)
            except FileNotFoundError:
                continue  # finished (or re-claimed) by another poller meanwhile
        return found

    def _ready(self) -> list[Path]:
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{self.name}: drop_folder {str(self.folder)!r} does not exist"
            ) from exc
        except OSError as exc:
            raise TransientError(f"{self.name}: cannot list {str(self.folder)!r}: {exc}") from exc
        now = time.time()
        ready: list[tuple[float, str, Path]] = []
        for entry in entries:
            lowered = entry.name.lower()
            if entry.name.startswith(".") or not lowered.endswith(self.suffixes):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            if now - mtime < self.stable_seconds:
                continue  # still being written (or copied) by the till
            ready.append((mtime, entry.name, Path(entry.path)))
        ready.sort()
        return [path for _, _, path in ready]

    def _claim(self, path: Path, name: str) -> Path | None:
        """Take a file by an atomic rename to a unique name; None if another poller was faster.

        The unique name (``<ns time>-<pid>__<name>``) keeps a second file of the same name,
        dropped meanwhile, from overwriting the first; an abandoned claim is re-claimed the
        same way, under a new name, so one poller wins.
        """
        processing = self.folder / PROCESSING
        processing.mkdir(exist_ok=True)
        target = processing / f"{time.time_ns()}-{os.getpid()}__{name}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        os.utime(target)
        return target

    def _mover(self, claimed: Path, where: str, error: str | None) -> Callable[[], None]:
        def on_committed() -> None:
            if not claimed.exists():
                return  # removed by an admin meanwhile
            target = _move(claimed, self.folder / where)
            if error is not None:
                with open(f"{target}.error.txt", "x", encoding="utf-8") as handle:
                    handle.write(error + "\n")
            log.info(f"{self.name}.file_moved", file=dropped_name(claimed), to=str(target))

        return on_committed


def dropped_name(claimed: Path) -> str:
    """The name a claimed file was dropped with: the claim's prefix removed, nothing else
    (a dropped name may itself hold ``__``)."""
    return _CLAIMED.sub("", claimed.name, count=1)


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``stem~N.ext`` when taken (also by its ``.error.txt``)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate = folder / name
    counter = 1
    while candidate.exists() or (folder / f"{candidate.name}.error.txt").exists():
        candidate = folder / (f"{stem}~{counter}.{ext}" if dot else f"{stem}~{counter}")
        counter += 1
    return candidate


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    while True:
        target = _free_name(folder, dropped_name(path))
        try:
            os.link(path, target)  # fails if the target exists: never overwrite
        except FileExistsError:
            continue
        except OSError:
            if target.exists():
                continue
            os.rename(path, target)  # filesystems without hard links (some SMB shares)
            return target
        os.unlink(path)
        return target
