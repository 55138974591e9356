"""The media store on disk: the path jail, atomic writes and ReadableFileWrapper."""

from __future__ import annotations

import io
import os
from typing import Any, List

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.homeserver.handlers._media_files import MediaFiles, ReadableFileWrapper


class _SleepClock:
    """A clock with Synapse's ``sleep``; records each sleep."""

    def __init__(self) -> None:
        self.sleeps: List[float] = []

    def sleep(self, seconds: float) -> "defer.Deferred[None]":
        self.sleeps.append(seconds)
        return defer.succeed(None)


class _FailingSource(io.BytesIO):
    def read(self, size: Any = -1) -> bytes:
        raise OSError("disk on fire")


class MediaFilesTests(SynchronousTestCase):
    """MediaFiles on a temporary directory, run inline."""

    def setUp(self) -> None:
        self.base = os.path.abspath(self.mktemp())
        self.files = MediaFiles(self.base, MemoryReactorClock(), threaded=False)

    def test_layout(self) -> None:
        """A media id maps to local_content/<2>/<2>/<rest> under the store."""
        path = self.files.local_media_path("abcdEFGHijklMNOPqrstUVWX")
        self.assertEqual(
            path, os.path.join(self.base, "local_content", "ab", "cd", "EFGHijklMNOPqrstUVWX")
        )

    def test_unsafe_ids_rejected(self) -> None:
        """Ids that are too short, contain separators or dot segments raise ValueError."""
        for media_id in (
            "",
            "abcd",
            "../../etc",
            "ab/cdefgh",
            "....x",
            "ab..cd",
            "abc d",
            "ab%2Fcd",
            "abcd\x00x",
        ):
            self.assertRaises(ValueError, self.files.local_media_path, media_id)

    def test_store_is_atomic_and_hashed(self) -> None:
        """store() leaves the file and no temporary; returns the SHA-256."""
        path, digest = self.successResultOf(
            defer.ensureDeferred(self.files.store("abcdefgh", io.BytesIO(b"abc")))
        )
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"abc")
        self.assertEqual(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        self.assertEqual(os.listdir(os.path.dirname(path)), ["efgh"])

    def test_failed_write_leaves_nothing(self) -> None:
        """A source that fails mid-copy leaves neither the file nor a temporary."""
        failure = self.failureResultOf(
            defer.ensureDeferred(self.files.store("abcdefgh", _FailingSource(b"x"))), OSError
        )
        self.assertEqual(str(failure.value), "disk on fire")
        self.assertEqual(os.listdir(os.path.join(self.base, "local_content", "ab", "cd")), [])

    def test_open_missing(self) -> None:
        """open_local() is None for a missing file or an unsafe id."""
        for media_id in ("abcdefgh", "../x/y/z"):
            self.assertIsNone(
                self.successResultOf(defer.ensureDeferred(self.files.open_local(media_id)))
            )


class ReadableFileWrapperTests(SynchronousTestCase):
    """ReadableFileWrapper, as check_media_file_for_spam receives it."""

    def test_chunks_and_sleeps(self) -> None:
        """16 KiB chunks in order, with a zero-second sleep after each."""
        path = self.mktemp()
        data = os.urandom(2**14 * 2 + 5)
        with open(path, "wb") as f:
            f.write(data)
        clock = _SleepClock()
        chunks: List[bytes] = []
        self.successResultOf(
            defer.ensureDeferred(ReadableFileWrapper(clock, path).write_chunks_to(chunks.append))
        )
        self.assertEqual(([len(c) for c in chunks], clock.sleeps), ([16384, 16384, 5], [0, 0, 0]))
        self.assertEqual(b"".join(chunks), data)

    def test_reactor_clock(self) -> None:
        """With a reactor as clock, each chunk waits for the reactor to turn."""
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"x" * (2**14 + 1))
        reactor = MemoryReactorClock()
        chunks: List[bytes] = []
        d = defer.ensureDeferred(ReadableFileWrapper(reactor, path).write_chunks_to(chunks.append))
        self.assertNoResult(d)
        self.assertEqual(len(chunks), 1)
        reactor.advance(0)
        self.successResultOf(d)
        self.assertEqual(len(chunks), 2)

    def test_repr_and_fields(self) -> None:
        """An attrs class with Synapse's fields and CHUNK_SIZE."""
        wrapper = ReadableFileWrapper(clock="c", path="/p")
        self.assertEqual(
            (repr(wrapper), ReadableFileWrapper.CHUNK_SIZE),
            ("ReadableFileWrapper(clock='c', path='/p')", 16384),
        )
