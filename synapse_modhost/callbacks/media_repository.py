"""Media-repository callbacks (``register_media_repository_callbacks``, Synapse 1.132+).

Rules are Synapse 1.163's (CALLBACKS.md §4).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks._dispatch import CallbackRef, delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.errors import SynapseError

if TYPE_CHECKING:
    from synapse_modhost.types import MediaUploadLimit

__all__ = ["MediaRepositoryCallbacks"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]


class MediaRepositoryCallbacks(CallbackCategory):
    """``media_repository`` callbacks, run in registration order, each under
    ``delay_cancellation``. Every exception **propagates** (a 500 unless it is a
    ``SynapseError``), including the ``TypeError`` of a non-async callback.

    * ``get_media_config_for_user``: the first truthy result (the whole ``/config``
      response); ``None``/``{}`` fall through; ``None`` when none answered (the caller
      then answers ``{"m.upload.size": max_upload_size}``).
    * ``is_user_allowed_to_upload_media_of_size``: the first falsy result denies
      (``False``); ``True`` when all allow or none are registered.
    * ``get_media_upload_limits_for_user``: the first non-``None`` list, sorted **in
      place** by ``time_period_ms`` descending (``[]`` = no limits); ``None`` when all
      returned ``None`` (the caller then uses ``media_upload_limits``).
    * ``on_media_upload_limit_exceeded``: all run, each with its own copy of the limit.
    """

    category = "media_repository"

    def register_callbacks(
        self,
        module: str,
        *,
        get_media_config_for_user: Any | None = None,
        is_user_allowed_to_upload_media_of_size: Any | None = None,
        get_media_upload_limits_for_user: Any | None = None,
        on_media_upload_limit_exceeded: Any | None = None,
    ) -> None:
        """Append each given callback; ``None`` is ignored; no de-duplication."""
        self._add(module, "get_media_config_for_user", get_media_config_for_user)
        self._add(
            module,
            "is_user_allowed_to_upload_media_of_size",
            is_user_allowed_to_upload_media_of_size,
        )
        self._add(module, "get_media_upload_limits_for_user", get_media_upload_limits_for_user)
        self._add(module, "on_media_upload_limit_exceeded", on_media_upload_limit_exceeded)

    async def _decide(self, cb: CallbackRef, *args: Any) -> Any:
        return await delay_cancellation(self._dispatcher.call(cb, *args))

    async def get_media_config_for_user(self, user_id: str) -> JsonDict | None:
        """The first truthy result, else ``None``."""
        for cb in self.callbacks("get_media_config_for_user"):
            res = await self._decide(cb, user_id)
            if res:
                return res
        return None

    async def is_user_allowed_to_upload_media_of_size(self, user_id: str, size: int) -> bool:
        """``False`` at the first falsy result, else ``True``."""
        for cb in self.callbacks("is_user_allowed_to_upload_media_of_size"):
            if not await self._decide(cb, user_id, size):
                return False
        return True

    async def get_media_upload_limits_for_user(self, user_id: str) -> List[MediaUploadLimit] | None:
        """The first non-``None`` result, sorted in place (longest period first)."""
        for cb in self.callbacks("get_media_upload_limits_for_user"):
            res = await self._decide(cb, user_id)
            if res is not None:
                res.sort(key=lambda limit: limit.time_period_ms, reverse=True)
                return res
        return None

    async def on_media_upload_limit_exceeded(
        self, user_id: str, limit: MediaUploadLimit, sent_bytes: int, attempted_bytes: int
    ) -> None:
        """Run every callback, each with a fresh copy of ``limit``."""
        from synapse_modhost.types import MediaUploadLimit  # an attrs class: built on first use

        for cb in self.callbacks("on_media_upload_limit_exceeded"):
            limit_copy = MediaUploadLimit(
                max_bytes=limit.max_bytes,
                time_period_ms=limit.time_period_ms,
                info_uri=limit.info_uri,
                can_upgrade=limit.can_upgrade,
            )
            await self._decide(cb, user_id, limit_copy, sent_bytes, attempted_bytes)

    @staticmethod
    def upload_too_large_error() -> SynapseError:
        """413 ``M_TOO_LARGE`` "Upload request body is too large" (a falsy
        ``is_user_allowed_to_upload_media_of_size``, or ``Content-Length`` over the max)."""
        return SynapseError(413, "Upload request body is too large", Codes.TOO_LARGE)
