"""Output locations: checked before any work, locked while in use, replaced atomically.

In:  a folder or file path a command will write.
Out: ``check_output_dir`` / ``check_output_file`` (raise :class:`~archsim.errors.OutputError`
     naming the path: an existing file where a folder should go, a folder holding other
     files, a read-only or missing parent, an over-long name) -- called before any work starts;
     ``folder_lock`` (a context manager holding an exclusive ``flock`` on ``.<name>.lock`` next
     to the folder, so a second run into a folder in use fails at once with
     :class:`~archsim.errors.RunFolderError`; the kernel drops the lock when a process dies
     however it dies); ``atomic_folder`` (a context manager yielding a temporary sibling
     folder to fill; on success it gets the completion marker :data:`COMPLETE_MARKER` and is
     renamed into place, replacing the previous run's folder as a whole, so nothing stale
     survives; on failure it is removed); ``safe_name`` (a name built from a config or a
     workload, usable as one path component); ``atomic_write_text``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from archsim.errors import OutputError, RunFolderError, short

__all__ = [
    "COMPLETE_MARKER",
    "MAX_NAME_BYTES",
    "atomic_folder",
    "atomic_write_text",
    "check_output_dir",
    "check_output_file",
    "folder_lock",
    "is_complete",
    "safe_name",
]

COMPLETE_MARKER = "RUN_COMPLETE"  # written last into a run folder; compare requires it
MAX_NAME_BYTES = 200  # one path component: 255 bytes on Linux/macOS minus temp-name suffixes

_held: dict[str, int] = {}  # resolved folder -> lock depth held by this process
_held_guard = threading.Lock()


def safe_name(text: str, limit: int = 100) -> str:
    """``text`` as one harmless path component: characters other than letters, digits and
    ``_ . + -`` become ``_``, no leading dot, at most ``limit`` characters, never empty."""
    out = re.sub(r"[^A-Za-z0-9_.+-]", "_", str(text)).lstrip(".")[:limit]
    return out or "run"


def _check_name(path: Path, what: str) -> None:
    name = path.name
    if not name or name in (".", ".."):
        raise OutputError(f"{path}: not a usable {what} name")
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        raise OutputError(f"{short(str(path))}: {what} name is {len(os.fsencode(name))} bytes "
                          f"long; at most {MAX_NAME_BYTES}")


def _writable_parent(path: Path, what: str) -> Path:
    """Create ``path``'s parent folders and prove a file can be written there."""
    parent = path.parent
    for p in (parent, *parent.parents):
        if p.exists() and not p.is_dir():
            raise OutputError(f"{path}: cannot write the {what}: {p} is a file, not a folder")
        if p.exists():
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".archsim-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the {what} into {parent}: "
                          f"{exc.strerror or exc}") from None
    return parent


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """Check that ``path`` can be written as a file (parents are created)."""
    path = Path(path)
    _check_name(path, what)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, cannot write the {what} there")
    _writable_parent(path, what)
    return path


def _is_hidden_tmp(name: str) -> bool:
    return name.startswith(".") and (".tmp" in name or name.endswith(".lock"))


def check_output_dir(path: str | Path, what: str = "run folder",
                     own_files: Iterable[str] | None = None) -> Path:
    """Check that ``path`` can be (re)written as a folder before any work starts.

    An existing folder is accepted when it is empty, is complete (holds
    :data:`COMPLETE_MARKER`) or holds only names in ``own_files`` (a previous, possibly
    interrupted, output of the same command); anything else would be deleted by the atomic
    replacement and is refused."""
    path = Path(path)
    _check_name(path, what)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder; choose another --out")
    if path.is_dir():
        try:
            names = [p.name for p in path.iterdir()]
        except OSError as exc:
            raise OutputError(f"{path}: cannot list the {what}: {exc.strerror or exc}") from None
        if names and COMPLETE_MARKER not in names:
            known = set(own_files or ())
            other = sorted(n for n in names if n not in known and not _is_hidden_tmp(n))
            if other:
                raise OutputError(
                    f"{path}: exists and holds files that are not a {what}'s "
                    f"({', '.join(short(n, 40) for n in other[:3])}"
                    f"{', ...' if len(other) > 3 else ''}); choose another --out or remove it")
    _writable_parent(path, what)
    return path


def is_complete(path: str | Path) -> bool:
    return (Path(path) / COMPLETE_MARKER).is_file()


def _lock_path(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str = "run folder") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (re-entrant within this process).

    Raises :class:`RunFolderError` at once if another process holds it."""
    folder = Path(folder)
    key = str(folder.resolve())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            reentrant = True
        else:
            reentrant = False
    if reentrant:
        try:
            yield folder
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, the atomic rename remains
        fcntl = None
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(folder)
    fd = -1
    if fcntl is not None:
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise RunFolderError(
                        f"{folder}: {what} is in use by another archsim process (lock "
                        f"{lock.name}); wait for it or choose another --out") from None
                raise
            try:  # the file we locked may have been unlinked by its previous holder
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    with _held_guard:
        _held[key] = 1
    try:
        yield folder
    finally:
        with _held_guard:
            _held.pop(key, None)
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.unlink(lock)
            os.close(fd)


def _remove_stale(folder: Path) -> None:
    """Temporary siblings left by killed runs (only called while holding the lock)."""
    prefix = f".{folder.name}."
    with contextlib.suppress(OSError):
        for p in folder.parent.iterdir():
            if p.name.startswith(prefix) and (".tmp-" in p.name or ".old-" in p.name):
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(folder: str | Path, marker_text: str = "complete\n",
                  what: str = "run folder") -> Iterator[Path]:
    """Yield a temporary sibling of ``folder`` to fill; then mark it complete and rename it
    into place (the previous folder is replaced as a whole).  Holds :func:`folder_lock`."""
    folder = Path(folder)
    with folder_lock(folder, what):
        _remove_stale(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        try:
            yield tmp
            (tmp / COMPLETE_MARKER).write_text(marker_text)
            old = None
            if folder.exists() or folder.is_symlink():
                old = folder.parent / f".{folder.name}.old-{os.getpid()}"
                shutil.rmtree(old, ignore_errors=True)
                os.rename(folder, old)
            os.rename(tmp, folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary sibling and a rename (never half a file)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:MAX_NAME_BYTES]}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
