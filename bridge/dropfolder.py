"""A drop folder whose files are the state, shared by the file-drop connectors (POSLog, CSV).

A poller claims a ready file (old enough, a known suffix, not hidden) by renaming it into
``processing/`` under a unique name: the rename is atomic, so one poller wins, also across
processes. Once the file's events are committed to the inbox it moves to ``done/``; a file
that could not be read at all moves to ``rejected/`` next to a ``.error.txt`` saying why. A
claim abandoned by a killed poller is claimed again after ``claim_timeout`` (reading a file
twice is harmless, the inbox keys tickets by their identity; never reading it is not).
Nothing is deleted or overwritten: a name already taken gets ``~N``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import structlog

from bridge.connector import InboundEvent, Page, Rejection
from bridge.errors import ConfigError, DataError, TransientError

log = structlog.get_logger(__name__)

DONE = "done"
REJECTED = "rejected"
PROCESSING = "processing"
_CLAIMED = re.compile(r"^\d+-\d+__")
"""The prefix a claim adds (``<ns time>-<pid>__``); the rest is the dropped file's name."""

Parser = Callable[[str, BinaryIO], Iterable[InboundEvent | Rejection]]
"""A connector's ``parse_document``: (source name, stream) -> events and rejections."""


class DropSettings(Protocol):
    """The settings a file-drop connector's config has (names shared by every such config)."""

    @property
    def drop_folder(self) -> Path | None: ...
    @property
    def stable_seconds(self) -> float: ...
    @property
    def claim_timeout(self) -> float: ...
    @property
    def max_bytes(self) -> int: ...


class DropFolder:
    """One drop folder: claim ready files, then move each to ``done/`` or ``rejected/``."""

    def __init__(
        self,
        folder: Path,
        *,
        suffixes: Sequence[str],
        stable_seconds: float = 0,
        claim_timeout: float = 300,
        max_bytes: int | None = None,
        name: str = "dropfolder",
    ) -> None:
        self.folder = Path(folder)
        self.suffixes = tuple(s.lower() for s in suffixes)
        """File name endings claimed (case-insensitive)."""
        self.stable_seconds = stable_seconds
        """Files modified less than this long ago are still being written: not claimed yet."""
        self.claim_timeout = claim_timeout
        """A claim older than this was abandoned by its poller: it is claimed again."""
        self.max_bytes = max_bytes
        """Larger files are rejected unread (None: no bound)."""
        self.name = name
        """The connector's name, in messages and log events."""

    @classmethod
    def from_settings(
        cls, settings: DropSettings, *, suffixes: Sequence[str], name: str
    ) -> DropFolder:
        """The drop folder a connector's config describes; ConfigError if it names none."""
        if settings.drop_folder is None:
            raise ConfigError(f"{name}: no drop_folder configured")
        return cls(
            settings.drop_folder,
            suffixes=suffixes,
            stable_seconds=settings.stable_seconds,
            claim_timeout=settings.claim_timeout,
            max_bytes=settings.max_bytes,
            name=name,
        )

    def check(self) -> None:
        """ConfigError unless the folder exists and files can be moved inside it."""
        folder = self.folder
        if not folder.is_dir():
            raise ConfigError(f"{self.name}: drop_folder {str(folder)!r} is not an existing folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"{self.name}: drop_folder {str(folder)!r} is not writable "
                "(files are moved to processing/, done/ and rejected/ inside it)"
            )

    # -- claims

    def claims(self) -> Iterator[Path]:
        """Files claimed for this poller (in ``processing/``): abandoned claims first, then
        ready files, oldest first. A file another poller took meanwhile is left out."""
        candidates = [(p, dropped_name(p)) for p in self._abandoned()]
        candidates += [(p, p.name) for p in self._ready()]
        for path, name in candidates:
            claimed = self._claim(path, name)
            if claimed is not None:
                yield claimed

    def open(self, claimed: Path) -> BinaryIO:
        """The claimed file, opened for reading; DataError if larger than ``max_bytes``."""
        handle = claimed.open("rb")
        try:
            size = os.fstat(handle.fileno()).st_size
            if self.max_bytes is not None and size > self.max_bytes:
                raise DataError(
                    f"{dropped_name(claimed)}: {size} bytes is larger than "
                    f"max_bytes={self.max_bytes}"
                )
        except BaseException:
            handle.close()
            raise
        return handle

    def done(self, claimed: Path) -> Path | None:
        """Move a claimed file to ``done/``; its new path, None if it was removed meanwhile."""
        return self._move_out(claimed, DONE, None)

    def rejected(self, claimed: Path, error: str) -> Path | None:
        """Move a claimed file to ``rejected/`` with ``error`` in ``<its name>.error.txt``."""
        return self._move_out(claimed, REJECTED, error)

    # -- pages

    def pages(self, parse: Parser) -> Iterator[Page]:
        """One page per claimed file; the file moves once its page is committed.

        A file ``parse`` refuses as a whole (``DataError``), or one larger than ``max_bytes``,
        gives a page with that one rejection and moves to ``rejected/``.
        """
        for claimed in self.claims():
            page = self._page(claimed, parse)
            if page is not None:
                yield page

    def _page(self, claimed: Path, parse: Parser) -> Page | None:
        name = dropped_name(claimed)
        try:
            with self.open(claimed) as handle:
                items = list(parse(name, handle))
        except FileNotFoundError:
            return None  # taken by another poller or removed by an admin meanwhile
        except DataError as exc:
            message = str(exc)
            log.warning(f"{self.name}.file_rejected", file=name, error=message)
            return Page(
                events=[],
                rejections=[Rejection(source=name, error=message)],
                on_committed=self._on_committed(claimed, REJECTED, message),
            )
        except OSError as exc:
            raise TransientError(f"{self.name}: cannot read {name}: {exc}") from exc
        return Page(
            events=[i for i in items if isinstance(i, InboundEvent)],
            rejections=[i for i in items if isinstance(i, Rejection)],
            on_committed=self._on_committed(claimed, DONE, None),
        )

    def _on_committed(self, claimed: Path, where: str, error: str | None) -> Callable[[], None]:
        def on_committed() -> None:
            self._move_out(claimed, where, error)

        return on_committed

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
                continue  # finished (or claimed again) by another poller meanwhile
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
            if entry.name.startswith(".") or not entry.name.lower().endswith(self.suffixes):
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
        dropped meanwhile, from overwriting the first; an abandoned claim is claimed again the
        same way, under a new name, so one poller wins. The file is touched before the rename
        (a rename keeps the time), so no other poller ever sees the new claim as abandoned.
        """
        processing = self.folder / PROCESSING
        processing.mkdir(exist_ok=True)
        target = processing / f"{time.time_ns()}-{os.getpid()}__{name}"
        try:
            os.utime(path)
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def _move_out(self, claimed: Path, where: str, error: str | None) -> Path | None:
        if not claimed.exists():
            return None  # removed by an admin (or claimed again) meanwhile
        target = _move(claimed, self.folder / where)
        if error is not None:
            with open(f"{target}.error.txt", "x", encoding="utf-8") as handle:
                handle.write(error + "\n")
        log.info(f"{self.name}.file_moved", file=dropped_name(claimed), to=str(target))
        return target


def dropped_name(claimed: Path) -> str:
    """The name a claimed file was dropped with: the claim's prefix removed, nothing else
    (a dropped name may itself hold ``__``, e.g. ``till__export.xml``)."""
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
    """Move ``path`` into ``folder`` under its dropped name, never overwriting a file."""
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
