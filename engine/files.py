"""A person's files, read and written safely: the kind of path checked before anything is opened, and
folders replaced in one step so that no crash leaves half of one.

Reading: `check_file` looks at what a path is (`os.stat`, which opens nothing) and refuses folders,
named pipes, sockets and devices with one line, before a FIFO could block the caller or /dev/zero fill
its memory; `open_file` then opens it once, without blocking, and checks the opened file again.

Writing a folder (`write_folder`): it is filled beside its final place and swapped in with one atomic
rename. On Linux a rename cannot replace a non-empty folder, so the swap is renameat2(RENAME_EXCHANGE)
(macOS: renamex_np(RENAME_SWAP)): the new folder and the old one trade places in one step, then the old
one (now at the temporary name) is deleted. A kill -9 at any moment leaves the old folder or the new
one at the path, never neither. Writers in one parent folder take turns (flock on the parent), and
the next writer deletes the temporary folders a killed one left. Where no exchange exists (Windows, some
network file systems) the old folder is renamed aside first and put back by the next writer if a crash
came between the two renames.

This module imports only the standard library and the engine's errors, so a test can run it in a bare
child process and kill it at any point.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import AdvLensError

TEMP_SUFFIX = ".advlens-tmp"  # a folder being written (or left by a killed writer)
OLD_SUFFIX = ".advlens-old"  # a replaced folder on its way out


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_file(path: str | os.PathLike, what: str, error: type[Exception] = AdvLensError,
               label: str | None = None, max_bytes: int | None = None) -> os.stat_result:
    """The stat of a regular file, else `error` with one line: '{label}: is a named pipe (FIFO), not {what}'.

    Nothing is opened. `max_bytes` refuses a file larger than that (a card, a labels list, a record).
    """
    label = str(path) if label is None else label
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise error(f"{label}: no such file") from exc
    except PermissionError as exc:
        raise error(f"{label}: permission denied") from exc
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a loop of links
        raise error(f"{label}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from exc
    kind = _kind(info.st_mode)
    if kind is not None:
        raise error(f"{label}: is {kind}, not {what}" if kind != "not a regular file" else f"{label}: is not {what}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(f"{label}: {info.st_size / 2**20:.1f} MB is more than a {what.removeprefix('a ').removeprefix('an ')}"
                    f" may be ({max_bytes / 2**20:.0f} MB)")
    return info


def open_file(path: str | os.PathLike, what: str, error: type[Exception] = AdvLensError,
              label: str | None = None, max_bytes: int | None = None) -> BinaryIO:
    """`check_file`, then the file opened once for reading, without blocking, and checked again as opened.

    The second check (fstat of the open file) closes the gap in which the path could become a FIFO.
    """
    label = str(path) if label is None else label
    check_file(path, what, error, label, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:
        raise error(f"{label}: permission denied") from exc
    except OSError as exc:
        raise error(f"{label}: cannot be read ({exc.strerror or exc})") from exc
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise error(f"{label}: is {kind}, not {what}")
        if max_bytes is not None and info.st_size > max_bytes:
            raise error(f"{label}: larger than a {what} may be ({max_bytes / 2**20:.0f} MB)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_file(path: str | os.PathLike, what: str, error: type[Exception] = AdvLensError,
              label: str | None = None, max_bytes: int = 64 << 20) -> bytes:
    """The whole of a regular file of at most `max_bytes`, opened once."""
    label = str(path) if label is None else label
    with open_file(path, what, error, label, max_bytes) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while being read
        raise error(f"{label}: larger than a {what} may be ({max_bytes / 2**20:.0f} MB)")
    return data


def check_folder(path: str | os.PathLike, what: str, error: type[Exception] = AdvLensError,
                 label: str | None = None) -> Path:
    """A path that is a folder (symlinks followed), else one line saying what it is."""
    label = str(path) if label is None else label
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise error(f"{label}: no such folder") from exc
    except (OSError, ValueError) as exc:
        raise error(f"{label}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from exc
    if not stat.S_ISDIR(info.st_mode):
        kind = _kind(info.st_mode) or "a file"
        raise error(f"{label}: is {kind}, not {what}")
    return Path(path)


# ---------------------------------------------------------------------------------------------- folder swap
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
_AT_FDCWD = -100
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "arm64": 276, "riscv64": 276, "ppc64le": 357, "s390x": 347}


def _libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where this system or file system cannot."""
    libc = _libc()
    if libc is None:
        return False
    fa, fb = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux"):
        function = getattr(libc, "renameat2", None)
        if function is not None:
            result = function(_AT_FDCWD, fa, _AT_FDCWD, fb, ctypes.c_uint(_RENAME_EXCHANGE))
        else:
            number = _SYS_RENAMEAT2.get(os.uname().machine)
            if number is None:
                return False
            result = libc.syscall(number, _AT_FDCWD, fa, _AT_FDCWD, fb, _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(fa, fb, ctypes.c_uint(_RENAME_SWAP))
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _parent_lock(parent: Path) -> Iterator[None]:
    """Writers in one folder take turns, so one never deletes another's folder in progress."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; writes there are not expected to race
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def clean_leftovers(final: Path) -> list[Path]:
    """Delete what killed writers left in `final`'s folder; put back an old folder a crash left aside.

    Called with the parent's lock held, so every temporary folder found is a dead writer's.
    """
    removed = []
    parent = final.parent
    olds = sorted(parent.glob(f".{final.name}.*{OLD_SUFFIX}"))
    if olds and not os.path.lexists(final):
        os.replace(olds[-1], final)  # the two-rename fallback died between its renames: the old record comes back
        olds = olds[:-1]
    stale = [p for p in parent.iterdir() if p.name.startswith(".") and p.name.endswith((TEMP_SUFFIX, OLD_SUFFIX))]
    stale += [p for p in parent.glob(f".{final.name}.*.tmp") if p.is_dir()]  # earlier AdvLens versions' leftovers
    legacy_old = parent / f".{final.name}.old"
    if legacy_old.is_dir():
        stale.append(legacy_old)
    for path in stale:
        _remove(path)
        removed.append(path)
    return removed


def write_folder(final: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Make `final` a folder whose content `fill(folder)` writes, replacing what was there in one step."""
    final = Path(final).absolute()
    parent = final.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _parent_lock(parent):
        clean_leftovers(final)
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{final.name}.", suffix=TEMP_SUFFIX))
        try:
            fill(tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)
            _fsync_folder(tmp)
            if not os.path.lexists(final):
                os.rename(tmp, final)
            elif exchange_paths(tmp, final):
                _remove(tmp)  # tmp now holds the old content
            else:
                aside = parent / f".{final.name}.{os.getpid()}-{os.urandom(4).hex()}{OLD_SUFFIX}"
                os.rename(final, aside)
                os.rename(tmp, final)
                _remove(aside)
            _fsync_folder(parent)
        except BaseException:
            _remove(tmp)
            raise
    return final


def folder_is_empty(path: Path) -> bool:
    try:
        return not any(os.scandir(path))
    except OSError:
        return False
