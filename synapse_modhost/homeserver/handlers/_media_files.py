"""Media files on disk, and the ``ReadableFileWrapper`` spam checkers read them through.

Layout (Synapse's, so either server can use the other's ``media_store_path``)::

    <media_store_path>/local_content/<id[0:2]>/<id[2:4]>/<id[4:]>

Every path component is checked as Synapse checks it (letters, digits and ``_-.[]:``;
never empty, ``.`` or ``..``) and the result must lie inside the store, so no media id
can name a file outside it. A file is written to a temporary name in its final directory,
flushed and ``fsync``-ed, then renamed into place (and the directory ``fsync``-ed): a
reader sees the whole file or none of it, and a completed upload survives a crash.

File I/O runs on the reactor's thread pool when ``threaded`` (the host with a real
reactor), inline otherwise (the in-memory test kit).
"""

from __future__ import annotations

import hashlib
import os
import string
import tempfile
from typing import IO, Any, BinaryIO, Callable, Optional, Tuple, TypeVar

import attr
from twisted.internet import threads
from twisted.internet.task import deferLater

__all__ = ["MediaFiles", "ReadableFileWrapper"]

T = TypeVar("T")

_ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_-.[]:")
_FORBIDDEN_NAMES = frozenset(("", os.curdir, os.pardir))

#: bytes copied per read when storing an upload
_COPY_CHUNK = 1 << 20


def _validate_path_component(name: str) -> str:
    """``name`` if it is safe as one path component; ``ValueError`` otherwise."""
    if not _ALLOWED_CHARACTERS.issuperset(name) or name in _FORBIDDEN_NAMES:
        raise ValueError(f"Invalid path component: {name!r}")
    return name


async def _sleep0(clock: Any) -> None:
    """Yield to the reactor once: ``clock.sleep(0)`` or ``callLater(0)`` on a reactor."""
    sleep = getattr(clock, "sleep", None)
    if sleep is not None:
        await sleep(0)
    else:
        await deferLater(clock, 0)


@attr.s(slots=True, auto_attribs=True)
class ReadableFileWrapper:
    """A stored media file as ``check_media_file_for_spam`` receives it.

    :meth:`write_chunks_to` reads the file in 16 KiB chunks, calls ``callback`` with each
    and yields to the reactor (a zero-second sleep on ``clock``) between them.
    """

    CHUNK_SIZE = 2**14

    clock: Any
    path: str

    async def write_chunks_to(self, callback: Callable[[bytes], object]) -> None:
        """Call ``callback`` with each chunk of the file, in order."""
        with open(self.path, "rb") as file:
            while True:
                chunk = file.read(self.CHUNK_SIZE)
                if not chunk:
                    break
                callback(chunk)
                await _sleep0(self.clock)


def _write_atomically(final_path: str, source: IO[bytes]) -> str:
    """Copy ``source`` (from its start) to ``final_path`` through a temporary file, with
    ``fsync``; the SHA-256 hex digest of the bytes written."""
    directory = os.path.dirname(final_path)
    os.makedirs(directory, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            source.seek(0)
            while True:
                chunk = source.read(_COPY_CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_path, final_path)
    except BaseException:
        _remove(tmp_path)
        raise
    _fsync_directory(directory)
    return digest.hexdigest()


def _fsync_directory(directory: str) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _open_if_file(path: str) -> Optional[BinaryIO]:
    try:
        return open(path, "rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class MediaFiles:
    """The files of the local media store under ``base_directory``."""

    def __init__(self, base_directory: str, reactor: Any, threaded: bool) -> None:
        self.base_directory = os.path.abspath(base_directory)
        self._reactor = reactor
        self._threaded = threaded

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        if self._threaded:
            result: T = await threads.deferToThreadPool(
                self._reactor, self._reactor.getThreadPool(), func, *args
            )
            return result
        return func(*args)

    def local_media_path(self, media_id: str) -> str:
        """The absolute path of ``media_id``'s file; ``ValueError`` for an id that is not
        a safe path (too short, odd characters, ``.``/``..``)."""
        relative = os.path.join(
            "local_content",
            _validate_path_component(media_id[0:2]),
            _validate_path_component(media_id[2:4]),
            _validate_path_component(media_id[4:]),
        )
        path = os.path.normpath(os.path.join(self.base_directory, relative))
        if os.path.commonpath((self.base_directory, path)) != self.base_directory:
            raise ValueError(f"{media_id!r} is outside the media store")
        return path

    async def store(self, media_id: str, source: IO[bytes]) -> Tuple[str, str]:
        """Write ``source`` as ``media_id``'s file; ``(path, sha256 hex digest)``."""
        path = self.local_media_path(media_id)
        digest = await self._run(_write_atomically, path, source)
        return path, digest

    async def remove(self, path: str) -> None:
        """Delete ``path`` (no error if it is already gone)."""
        await self._run(_remove, path)

    async def open_local(self, media_id: str) -> Optional[BinaryIO]:
        """``media_id``'s file opened for reading, or ``None`` if there is none (or the id
        cannot name a file in the store)."""
        try:
            path = self.local_media_path(media_id)
        except ValueError:
            return None
        return await self._run(_open_if_file, path)
