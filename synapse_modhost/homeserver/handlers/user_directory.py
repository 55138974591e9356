"""User directory search (``POST /user_directory/search``, TRIGGERS.md §4).

With Synapse's default ``user_directory.search_all_users: false`` a searcher finds the
local users who share a room with them (both joined) and the users joined to a public
room (join rule ``public`` or history ``world_readable``; the searcher too, then).
Deactivated and locked users never appear. The search itself follows Synapse's SQLite
index: the text is ``"<user_id> <display name>"`` lower-cased and NFKC-normalised, and
every word of the search term must be a prefix of one of its words (words are runs of
letters and digits; ``@`` and ``:`` separate them). Results are ordered by how many
words matched exactly, then users with a display name, then with an avatar, then by
user ID (Synapse ranks with SQLite FTS ``matchinfo``; ties there follow insertion).

``limited`` says there were more than ``limit`` matches; then every result goes through
``check_username_for_spam({"user_id", "display_name", "avatar_url"}, searcher)`` and
spammy users are silently removed (so fewer than ``limit`` results may remain), as on
Synapse.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

from synapse_modhost.types import UserProfile

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["UserDirectoryHandler"]

JsonDict = Dict[str, Any]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: how many candidate users a search looks at (the store's substring scan is bounded)
_CANDIDATE_LIMIT = 10_000


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text.lower())


def _words(text: str) -> List[str]:
    return _WORD.findall(_normalise(text))


class UserDirectoryHandler:
    """Searches the users visible to a searcher."""

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs

    async def search_users(self, user_id: str, search_term: str, limit: int) -> JsonDict:
        """``{"limited": bool, "results": [{"user_id", "display_name", "avatar_url"}]}``."""
        terms = _words(search_term)
        if not terms:
            return {"limited": False, "results": []}
        matches = await self._matching_users(terms)
        visible = await self._visible_users(user_id, [m[0] for m in matches])
        ranked = sorted(
            (m for m in matches if m[0] in visible),
            key=lambda m: (-m[3], m[1] is None, m[2] is None, m[0]),
        )
        results: List[UserProfile] = [
            {"user_id": uid, "display_name": name, "avatar_url": avatar}
            for uid, name, avatar, _ in ranked[:limit]
        ]
        limited = len(ranked) > limit
        spam_checker = self._hs.callbacks.spam_checker
        kept: List[UserProfile] = []
        for result in results:
            if not await spam_checker.check_username_for_spam(result, user_id):
                kept.append(result)
        return {"limited": limited, "results": kept}

    async def _matching_users(
        self, terms: List[str]
    ) -> List[Tuple[str, Optional[str], Optional[str], int]]:
        """``(user_id, display_name, avatar_url, exact word matches)`` of every active
        local user whose index text matches all ``terms``."""
        store = self._hs.user_store
        # The store's scan narrows on the longest word; the prefix rule is applied here.
        longest = max(terms, key=len)
        entries = await store.search_users(longest, _CANDIDATE_LIMIT)
        out = []
        for entry in entries:
            words = _words(entry.user_id) + _words(entry.displayname or "")
            if not all(any(w.startswith(t) for w in words) for t in terms):
                continue
            user = await store.get_user(entry.user_id)
            if user is None or user.deactivated or user.locked:
                continue
            exact = sum(1 for t in terms if t in words)
            out.append((entry.user_id, entry.displayname, entry.avatar_url, exact))
        return out

    async def _visible_users(self, searcher: str, candidates: List[str]) -> Set[str]:
        """Those of ``candidates`` who share a room with ``searcher`` or are joined to a
        public room."""
        events = self._hs.event_store
        searcher_rooms = _joined(await events.get_rooms_for_user_with_membership(searcher))
        public_cache: Dict[str, bool] = {}
        visible: Set[str] = set()
        for candidate in candidates:
            rooms = _joined(await events.get_rooms_for_user_with_membership(candidate))
            if candidate != searcher and rooms & searcher_rooms:
                visible.add(candidate)
                continue
            for room_id in rooms:
                if room_id not in public_cache:
                    public_cache[room_id] = await self._is_public(room_id)
                if public_cache[room_id]:
                    visible.add(candidate)
                    break
        return visible

    async def _is_public(self, room_id: str) -> bool:
        state = await self._hs.event_store.get_current_state(room_id)
        join_rules = state.get(("m.room.join_rules", ""))
        if join_rules is not None and join_rules.content.get("join_rule") == "public":
            return True
        history = state.get(("m.room.history_visibility", ""))
        return history is not None and history.content.get("history_visibility") == "world_readable"


def _joined(rooms: Dict[str, Any]) -> Set[str]:
    return {room_id for room_id, entry in rooms.items() if entry[0] == "join"}
