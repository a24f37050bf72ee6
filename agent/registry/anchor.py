"""Where the audit chain's end (its *head*: entry count and last hash) is pinned outside the log.

The head is kept twice: beside the log (``audit.jsonl.head``) and in a separate anchor file in the
data home. Both sit behind :class:`HeadStore`, so the registry database, once it exists, can hold
the anchor instead of a file. Each stored head carries an HMAC under the audit key, so a head
cannot be rewritten to match a shortened or replaced log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.core.i18n import _


class HeadUnreadable(ValueError):
    """A stored head exists but is not what certreview writes (damaged or edited)."""


@dataclass(frozen=True)
class Head:
    """The end of the chain: how many entries were written and the hash of the last one."""

    seq: int
    hash: str
    archive: str | None = None  # set when the chain was restarted by `audit archive`

    def mac(self, key: bytes) -> str:
        """HMAC of the head under the audit key."""
        msg = f"head|{self.seq}|{self.hash}|{self.archive or ''}".encode()
        return hmac.new(key, msg, hashlib.sha256).hexdigest()


class HeadStore(Protocol):
    """Somewhere a head can be stored and read back (a file today, a database row later)."""

    name: str

    def load(self, key: bytes | None) -> Head | None:
        """The stored head; None when nothing is stored; HeadUnreadable when it is damaged."""
        ...

    def save(self, head: Head, key: bytes) -> None:
        """Store the head atomically (a reader sees the old or the new one, never a mix)."""
        ...

    def exists(self) -> bool:
        """Whether a head is stored at all."""
        ...


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then ``os.replace`` it in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileHeadStore:
    """A head kept as a small JSON file, replaced atomically."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def exists(self) -> bool:
        """Whether the file exists."""
        return self.path.exists()

    def load(self, key: bytes | None) -> Head | None:
        """Read and check the head; HeadUnreadable names what is wrong with it."""
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
            head = Head(seq=int(data["seq"]), hash=str(data["hash"]), archive=data.get("archive"))
            mac = str(data["mac"])
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise HeadUnreadable(_("{name} is not a valid head (damaged or edited)", name=self.name)) from None
        if key is not None and not hmac.compare_digest(mac, head.mac(key)):
            raise HeadUnreadable(_("{name} does not match the audit key (edited)", name=self.name))
        return head

    def save(self, head: Head, key: bytes) -> None:
        """Write the head with its HMAC, atomically."""
        body = {"seq": head.seq, "hash": head.hash, "archive": head.archive, "mac": head.mac(key)}
        atomic_write(self.path, json.dumps(body).encode("utf-8"))
