"""Atomic writing: a reader never sees a half-written file or folder.

Every writer in the toolbox fills a hidden temporary next to its target and
renames it into place, so a target is either the old version or the new one.
Temporaries are named ``.<name>.<random>.fgsb-tmp``: hidden, in the same
folder (a rename never crosses file systems), and ending neither in the
target's suffix nor in ``.nii``/``.nii.gz``, so that no folder scan mistakes
one for data. While a temporary is being written its writer holds an
``flock`` on it; the kernel drops that lock when the writer dies, which is
how ``remove_stale_temporaries`` tells a killed run's leftovers from a live
writer's work.

Files and folders are created with modes 0o666 and 0o777, which the umask
narrows as for any file a user writes (0644 and 0755 under umask 022).
"""
import contextlib
import fcntl
import json
import os
import secrets
import shutil
from pathlib import Path

_MARKER = '.fgsb-tmp'


def _temporary_name(target):
    return f'.{target.name}.{secrets.token_hex(4)}{_MARKER}'


def _is_temporary(name):
    return name.startswith('.') and name.endswith(_MARKER)


def _try_lock(fd):
    """True once ``fd`` is locked, False if another process holds the lock,
    None on a file system without locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return None


def _same_file(path, fd):
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _create_locked(target, make):
    """Create a fresh temporary beside ``target`` with ``make(path)``; return
    ``(path, fd)`` with the temporary locked through ``fd``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = target.with_name(_temporary_name(target))
        try:
            fd = make(tmp)
        except FileExistsError:
            continue
        # a cleaner in another process may have taken it before the lock did
        if _try_lock(fd) is not False and _same_file(tmp, fd):
            return tmp, fd
        os.close(fd)


def _new_file(path):
    return os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)


def _new_folder(path):
    os.mkdir(path, 0o777)
    return os.open(path, os.O_RDONLY)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a hidden temporary path beside ``path``; on success it is renamed
    onto ``path``, on any failure it is removed.

    For writers that need a file name (nibabel, ``torch.save``, matplotlib).
    The temporary name does not end in ``path``'s suffix: a writer that picks
    its format from the name needs the format given (matplotlib ``format=``,
    ``np.save`` an open file).
    """
    path = Path(path)
    tmp, fd = _create_locked(path, _new_file)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_folder(path, replace=True):
    """Yield a hidden temporary folder beside ``path``; on success it becomes
    ``path``, on any failure it is removed (and an old ``path`` kept).

    An existing ``path`` is replaced only once the new folder is complete;
    with ``replace=False`` the rename fails instead (``OSError``), for
    writers whose first result wins, such as a cache shared by processes.
    """
    path = Path(path)
    tmp, fd = _create_locked(path, _new_folder)
    old = old_fd = None
    try:
        yield tmp
        if replace and path.is_dir():
            old_fd = os.open(path, os.O_RDONLY)
            _try_lock(old_fd)
            old = path.with_name(_temporary_name(path))
            os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            if old is not None:
                os.rename(old, path)
                old = None
            raise
    except BaseException:
        _remove(tmp)
        raise
    finally:
        os.close(fd)
        if old is not None:
            _remove(old)
        if old_fd is not None:
            os.close(old_fd)


def write_text_atomic(text, path):
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
        f.write(text)


def write_json_atomic(data, path):
    """Write ``data`` as indented JSON, atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(json.dumps(data, indent=2), path)


def remove_stale_temporaries(folder):
    """Remove the temporaries that killed runs left in ``folder``; returns their names.

    Only this module's names are touched, and only those no live writer
    holds locked (on a file system without locks, none). A missing folder
    holds none.
    """
    removed = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if not _is_temporary(entry.name):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue  # renamed or removed meanwhile
        try:
            # unlocked: its writer died; still named so: not renamed away meanwhile
            if _try_lock(fd) and _same_file(entry.path, fd):
                _remove(Path(entry.path))
                removed.append(entry.name)
        finally:
            os.close(fd)
    return removed
