"""``Linearizer``: one holder at a time per key (Synapse's ``member_linearizer``)."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator, Dict, Hashable, List

from twisted.internet import defer

__all__ = ["Linearizer"]


class Linearizer:
    """``async with linearizer.queue(key):`` runs holders of the same key one by one, in
    arrival order; different keys do not wait for each other."""

    def __init__(self) -> None:
        self._waiters: Dict[Hashable, List["defer.Deferred[None]"]] = {}

    @contextlib.asynccontextmanager
    async def queue(self, key: Hashable) -> AsyncIterator[None]:
        waiters = self._waiters.get(key)
        if waiters is None:
            self._waiters[key] = []
        else:
            d: "defer.Deferred[None]" = defer.Deferred()
            waiters.append(d)
            await d
        try:
            yield
        finally:
            pending = self._waiters[key]
            if pending:
                pending.pop(0).callback(None)
            else:
                del self._waiters[key]
