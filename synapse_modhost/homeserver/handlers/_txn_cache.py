"""``HttpTransactionCache``: idempotent ``PUT …/{txnId}`` requests (Synapse's
``rest/client/transactions.py``).

A retried request (same path, same device — or access token for device-less tokens,
user for guests, appservice for appservices) gets the first request's response without
running anything again; a failed attempt is forgotten so a retry runs afresh. Entries
live at least 30 minutes (pruned on use).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Hashable, List, Optional, Tuple

from twisted.internet import defer
from twisted.python.failure import Failure

from synapse_modhost.types import Requester

__all__ = ["HttpTransactionCache"]

CLEANUP_PERIOD_MS = 30 * 60 * 1000
Response = Tuple[int, Any]


class _Entry:
    __slots__ = ("result", "waiters", "ts")

    def __init__(self, ts: int) -> None:
        self.result: Optional[Response] = None
        self.waiters: List["defer.Deferred[Response]"] = []
        self.ts = ts


class HttpTransactionCache:
    """Responses of transaction-ID requests, keyed by path and requester."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._entries: Dict[Hashable, _Entry] = {}
        self._last_cleanup = 0

    def _now_ms(self) -> int:
        return int(self._clock.seconds() * 1000)

    @staticmethod
    def transaction_key(path: str, requester: Requester) -> Hashable:
        if requester.is_guest:
            return (path, "guest", requester.user_id)
        if requester.app_service_id is not None:
            return (path, "appservice", requester.app_service_id)
        if requester.device_id:
            return (path, "user", requester.user_id, requester.device_id)
        return (path, "user_admin", requester.access_token_id)

    async def fetch_or_execute(
        self, path: str, requester: Requester, fn: Callable[..., Awaitable[Response]], *args: Any
    ) -> Response:
        """The cached response for this transaction, or ``fn(*args)``'s (then cached)."""
        now = self._now_ms()
        if now - self._last_cleanup > CLEANUP_PERIOD_MS:
            self._last_cleanup = now
            for key in [k for k, e in self._entries.items() if now > e.ts + CLEANUP_PERIOD_MS]:
                if self._entries[key].result is not None:
                    del self._entries[key]
        key = self.transaction_key(path, requester)
        entry = self._entries.get(key)
        if entry is not None:
            if entry.result is not None:
                return entry.result
            waiter: "defer.Deferred[Response]" = defer.Deferred()
            entry.waiters.append(waiter)
            return await waiter
        entry = self._entries[key] = _Entry(now)
        try:
            result = await fn(*args)
        except BaseException:
            failure = Failure()
            self._entries.pop(key, None)
            for waiter in entry.waiters:
                waiter.errback(failure)
            raise
        entry.result = result
        for waiter in entry.waiters:
            waiter.callback(result)
        entry.waiters = []
        return result
