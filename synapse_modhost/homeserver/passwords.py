"""Password hashing with bcrypt, as Synapse does (``bcrypt_rounds``, default 12)."""

from __future__ import annotations

import unicodedata

__all__ = ["DEFAULT_BCRYPT_ROUNDS", "check_password", "hash_password"]

DEFAULT_BCRYPT_ROUNDS = 12


def _prepare(password: str, pepper: str) -> bytes:
    # Synapse normalises with NFKC before hashing, so equivalent spellings match.
    return unicodedata.normalize("NFKC", password + pepper).encode("utf-8")


def hash_password(password: str, rounds: int = DEFAULT_BCRYPT_ROUNDS, pepper: str = "") -> str:
    """A bcrypt hash of ``password`` (blocking: run it on a thread in request paths)."""
    import bcrypt

    return bcrypt.hashpw(_prepare(password, pepper), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password: str, stored_hash: str, pepper: str = "") -> bool:
    """Whether ``password`` matches ``stored_hash``."""
    import bcrypt

    try:
        return bcrypt.checkpw(_prepare(password, pepper), stored_hash.encode("ascii"))
    except ValueError:
        return False
