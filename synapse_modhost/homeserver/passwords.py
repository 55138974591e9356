"""Password hashing with bcrypt, as Synapse does.

The password is NFKC-normalised, the pepper (``password_config.pepper``) appended and the
result cut to bcrypt's 72 bytes; ``bcrypt_rounds`` (default 12) sets the cost. Hashing is
slow on purpose, so :class:`PasswordHasher` runs it off the reactor thread when the host
has threads (``deferToThread``), and inline otherwise (tests on a ``MemoryReactorClock``).
"""

from __future__ import annotations

import unicodedata
from typing import Any, Callable, TypeVar

from twisted.internet import defer

__all__ = ["DEFAULT_BCRYPT_ROUNDS", "PasswordHasher", "check_password", "hash_password"]

DEFAULT_BCRYPT_ROUNDS = 12
#: bcrypt only looks at this many bytes (bcrypt >= 5 refuses longer input)
_BCRYPT_MAX_BYTES = 72

T = TypeVar("T")


def _prepare(password: str, pepper: str) -> bytes:
    data = unicodedata.normalize("NFKC", password).encode("utf-8") + pepper.encode("utf-8")
    return data[:_BCRYPT_MAX_BYTES]


def hash_password(password: str, rounds: int = DEFAULT_BCRYPT_ROUNDS, pepper: str = "") -> str:
    """A bcrypt hash of ``password`` (blocking: run it on a thread in request paths)."""
    import bcrypt

    return bcrypt.hashpw(_prepare(password, pepper), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password: str, stored_hash: str, pepper: str = "") -> bool:
    """Whether ``password`` matches ``stored_hash`` (``False`` for a malformed hash)."""
    import bcrypt

    try:
        return bcrypt.checkpw(_prepare(password, pepper), stored_hash.encode("ascii"))
    except ValueError:
        return False


class PasswordHasher:
    """Hashes and checks passwords with the configured cost and pepper.

    ``threaded``: run bcrypt with ``deferToThread`` on ``reactor`` (the host does when its
    database runs on a thread, i.e. on a real reactor); otherwise inline.
    """

    def __init__(
        self, reactor: Any, *, rounds: int = DEFAULT_BCRYPT_ROUNDS, pepper: str = "",
        threaded: bool = False,
    ) -> None:  # fmt: skip
        self._reactor = reactor
        self.rounds = rounds
        self.pepper = pepper
        self.threaded = threaded

    def _run(self, func: Callable[..., T], *args: Any) -> "defer.Deferred[T]":
        if self.threaded:
            from twisted.internet.threads import deferToThreadPool

            return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), func, *args)
        try:
            return defer.succeed(func(*args))
        except Exception:
            return defer.fail()

    def hash(self, password: str) -> "defer.Deferred[str]":
        """The bcrypt hash of ``password``."""
        return self._run(hash_password, password, self.rounds, self.pepper)

    def check(self, password: str, stored_hash: str) -> "defer.Deferred[bool]":
        """Whether ``password`` matches ``stored_hash``."""
        return self._run(check_password, password, stored_hash, self.pepper)
