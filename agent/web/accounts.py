"""Reviewer accounts of the workbench: names and scrypt password hashes (hashlib, no extra
dependency) in ``reviewers.json`` in the data home, mode 0600. A password is never stored or
logged, only its salted hash; verification runs in constant time."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Any

from agent.core.errors import CertreviewError, InvalidInputError
from agent.core.i18n import _

ACCOUNTS_FILE = "reviewers.json"
MIN_PASSWORD = 10
# scrypt cost: ~50 ms per check on one core, 16 MiB of memory (OWASP's minimum is N=2**17 with
# r=8 for interactive logins on fast servers; 2**15 keeps a hospital VM's login under 0.1 s)
N, R, P = 2**15, 8, 1
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class AccountError(InvalidInputError):
    """A reviewer account that cannot be added, removed or read as given."""


class AccountsRequiredError(CertreviewError):
    """The workbench would be reachable from other machines but no reviewer can log in."""

    exit_code = 2


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` of ``password`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, maxmem=64 << 20, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash_password string); False for a malformed one."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            maxmem=64 << 20, dklen=len(want),
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to check an unknown name against (made once): its refusal takes as long as a known one's."""
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY[0]


class Accounts:
    """The reviewer accounts stored in ``home/reviewers.json``."""

    def __init__(self, home: Path) -> None:
        self.path = home / ACCOUNTS_FILE
        self._stamp = self._mtime()
        self.users: dict[str, dict[str, Any]] = self._read()

    def _mtime(self) -> tuple[int, int, int] | None:
        """What changes when the file does (mtime alone can repeat within a clock tick)."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def reload_if_changed(self) -> None:
        """Read the file again when it changed (a reviewer removed while the server runs is
        signed out on their next request). A damaged or removed file lets nobody in (fail closed)."""
        stamp = self._mtime()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self.users = self._read()
            except AccountError:
                log = logging.getLogger("certreview.web")
                log.error("%s is damaged: nobody can log in until it is fixed", self.path)
                self.users = {}

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            users = data["users"]
            if not isinstance(users, dict) or not all(isinstance(u.get("hash"), str) for u in users.values()):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise AccountError(
                _("{path} is not a reviewer accounts file", path=self.path),
                _("Move it aside and add the reviewers again with `certreview users add NAME`."),
            ) from None
        return users

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        body = json.dumps({"version": 1, "users": self.users}, ensure_ascii=False, indent=2)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
        tmp.replace(self.path)
        self._stamp = self._mtime()

    def names(self) -> list[str]:
        """The reviewers' names, sorted."""
        return sorted(self.users)

    def add(self, name: str, password: str) -> None:
        """Add reviewer ``name``; AccountError for a bad name, a taken name or a short password."""
        if not NAME_RE.fullmatch(name):
            raise AccountError(
                _("reviewer name {name} is not allowed", name=repr(name)),
                _("Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. R-01)."),
                field="NAME",
            )
        if name in self.users:
            raise AccountError(
                _("reviewer {name} already has an account", name=name),
                _("Remove it first with `certreview users remove NAME`."),
            )
        if len(password) < MIN_PASSWORD:
            raise AccountError(
                _("the password for {name} is shorter than {min} characters", name=name, min=MIN_PASSWORD),
                _("Choose a longer one."),
            )
        self.users[name] = {"hash": hash_password(password), "created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        self._write()

    def remove(self, name: str) -> None:
        """Remove reviewer ``name``; AccountError when there is no such account."""
        if name not in self.users:
            raise AccountError(
                _("no reviewer account {name}", name=name), _("`certreview users list` shows the accounts.")
            )
        del self.users[name]
        self._write()

    def check(self, name: str, password: str) -> bool:
        """Whether ``name`` / ``password`` log in (an unknown name costs a hash too: no timing hint)."""
        user = self.users.get(name)
        if user is None:
            verify_password(password, _dummy_hash())
            return False
        return verify_password(password, user["hash"])
