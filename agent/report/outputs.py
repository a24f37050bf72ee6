"""Output paths: checked before any case is processed, written through a temporary file or folder
that is moved into place, and a batch folder held by a lock for the whole run, so a bad path fails
fast with nothing written and two runs never mix their files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agent.core.errors import CertreviewError, InvalidInputError
from agent.core.i18n import _


class OutputPathError(InvalidInputError):
    """An output path that cannot be written (a file where a folder is needed, or the reverse)."""


class OutputBusyError(CertreviewError):
    """Another certreview run holds the output folder."""

    exit_code = 75  # EX_TEMPFAIL: try again later, as for a knowledge base being refreshed


def _writable_ancestor(target: Path, option: str) -> None:
    """The nearest existing ancestor of ``target`` must be a writable folder (missing ones are created)."""
    p = target.parent
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise OutputPathError(
            _("{option} {target}: {part} is a file, not a folder", option=option, target=target, part=p),
            _("Choose a path whose folders are folders; missing folders are created."),
            field=option,
        )
    if not os.access(p, os.W_OK | os.X_OK):
        raise OutputPathError(
            _("{option} {target}: the folder {part} is not writable", option=option, target=target, part=p),
            _("Choose a folder you can write to."),
            field=option,
        )


def check_file_target(path: Path, option: str) -> None:
    """Before any work: ``path`` can be written as a file (OutputPathError otherwise)."""
    if path.is_dir():
        raise OutputPathError(
            _("{option} {path}: is a folder, not a file", option=option, path=path),
            _("Name the file to write, inside that folder."),
            field=option,
        )
    _writable_ancestor(path, option)


def check_file_targets(paths: dict[str, Path | None]) -> None:
    """``check_file_target`` for each ``{option: path}`` given (None: option not used)."""
    for option, path in paths.items():
        if path is not None:
            check_file_target(path, option)


def check_dir_target(path: Path, option: str, *, outside: Path | None = None) -> None:
    """Before any work: ``path`` is (or can become) a folder, and is not inside ``outside``."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(
            _("{option} {path}: is a file, not a folder", option=option, path=path),
            _("Pass a folder for the results (it is created if missing)."),
            field=option,
        )
    _writable_ancestor(path, option)
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise OutputPathError(
            _("{option} {path}: the folder is not writable", option=option, path=path),
            _("Choose a folder you can write to."),
            field=option,
        )
    if outside is not None and path.resolve().is_relative_to(outside.resolve()):
        raise OutputPathError(
            _("{option} {path}: is inside the batch folder {batch}", option=option, path=path, batch=outside),
            _("Write the results outside the batch; a folder in the batch is read as a case."),
            field=option,
        )


def write_file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` through a temporary file beside ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def hold_dir(path: Path, option: str = "--out") -> Iterator[None]:
    """Hold the output folder for the run; a second run into it is refused (OutputBusyError)."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    # beside the folder, not in it: the folder itself may not exist yet, and is replaced whole
    lock = FileLock(str(path.parent / f".{path.name}.certreview.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputBusyError(
            _("{option} {path}: another certreview run is writing there", option=option, path=path),
            _("Wait for that run to finish, or pass another folder."),
        ) from None
    try:
        yield
    finally:
        lock.release()


def publish_dir(path: Path, files: dict[str, tuple[str, str]]) -> dict[str, Path]:
    """Write ``{name: (text, encoding)}`` into a temporary folder and move it into place: a new
    folder is renamed whole; into an existing one each file is replaced atomically."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            for name, (text, enc) in files.items():
                (tmp / name).write_text(text, encoding=enc, newline="")
            tmp.chmod(0o755)
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return {name: path / name for name in files}
    tmp = Path(tempfile.mkdtemp(prefix=".certreview-", suffix=".tmp", dir=path))
    try:
        for name, (text, enc) in files.items():
            (tmp / name).write_text(text, encoding=enc, newline="")
        for name in files:
            os.replace(tmp / name, path / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: path / name for name in files}


def publish_outputs(out: Path, files: dict[str, tuple[str, str]], failure: str) -> dict[str, Path]:
    """``publish_dir`` for a command's ``--out``: when the disk refuses the files after the up-front
    check passed (full, read-only), ``OutputPathError`` with ``failure`` — an ``N_``-marked
    template with ``{path}`` and ``{error}`` — and the hint that the results were printed."""
    try:
        return publish_dir(out, files)
    except OSError as exc:
        raise OutputPathError(
            _(failure, path=out, error=exc.strerror or exc),
            _("The results were printed above; free space or pass another folder, then run again."),
            field="--out",
        ) from None
