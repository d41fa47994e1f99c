"""The embedded broker: kombu's filesystem transport, made safe for several processes.

kombu's own ``_put`` creates the message file and then writes it, and ``_get`` moves files
without a lock, so a consumer can read an empty file (the worker then dies on a JSON
error) and a move across filesystems can deliver one message twice. Here a message is
written under a temporary name and renamed into the queue folder (readers see whole files
or nothing), and a consumer claims a file by renaming it into its own folder on the same
filesystem (exactly one consumer wins). Messages still vanish with a killed worker, as on
any embedded transport: the database's inbox and outbox, re-scanned by the sweeper, are
what make that safe.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

ALIAS = "brique-fs"


class Channel(filesystem.Channel):
    def _spool(self, name: str) -> Path:
        folder = Path(self.data_folder_in).parent / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        tmp = self._spool("spool") / name
        try:
            with open(tmp, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, Path(self.data_folder_out) / name)
        except OSError as exc:
            raise ChannelError(f"cannot add message {name!r} to the queue folder") from exc

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        claimed_dir = self._spool("claimed")
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_dir / f"{os.getpid()}-{name}"
            try:
                os.rename(Path(self.data_folder_in) / name, claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            try:
                payload = claimed.read_bytes()
                claimed.unlink()
            except OSError as exc:
                raise ChannelError(f"cannot read message {name!r}") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.Transport.global_state


TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")
