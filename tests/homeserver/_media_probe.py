"""A probe module for the media tests: records every media callback it sees, in order,
and answers as its config (or the test, through class attributes) says."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer

from synapse_modhost._codes import Codes
from synapse_modhost.module_api import ModuleApi
from synapse_modhost.types import NOT_SPAM, MediaUploadLimit

PROBE = "tests.homeserver._media_probe.MediaProbe"


class MediaProbe:
    """``config`` keys (all optional):

    - ``media_config``: what ``get_media_config_for_user`` returns (default ``None``);
    - ``deny_size``: a size ``is_user_allowed_to_upload_media_of_size`` refuses;
    - ``spam_marker``: bytes (as str) whose presence makes the file spam (``True``);
    - ``spam_result``: ``"code"`` returns ``(M_RESOURCE_LIMIT_EXCEEDED, {"extra": 1})`` for
      spam instead of ``True``;
    - ``limits``: ``[{max_bytes, time_period_ms, info_uri?, can_upgrade?}]`` returned by
      ``get_media_upload_limits_for_user`` (default ``None``: use the config);
    - ``raise_in``: the name of a callback that raises ``RuntimeError``.
    """

    #: ``(callback name, args)`` in call order, across all instances
    calls: List[Tuple[str, Tuple[Any, ...]]] = []
    #: what the spam checker saw: wrapper, file info, chunks, whether the file existed
    spam_seen: List[Dict[str, Any]] = []
    #: when set, the spam checker waits for it (to hold an upload in flight)
    gate: Optional["defer.Deferred[None]"] = None
    #: the instances, newest last
    instances: List["MediaProbe"] = []

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.config = config
        MediaProbe.instances.append(self)
        api.register_account_validity_callbacks(is_user_expired=self.is_user_expired)
        api.register_spam_checker_callbacks(
            check_media_file_for_spam=self.check_media_file_for_spam
        )
        api.register_media_repository_callbacks(
            get_media_config_for_user=self.get_media_config_for_user,
            is_user_allowed_to_upload_media_of_size=self.is_user_allowed_to_upload_media_of_size,
            get_media_upload_limits_for_user=self.get_media_upload_limits_for_user,
            on_media_upload_limit_exceeded=self.on_media_upload_limit_exceeded,
        )

    @staticmethod
    def parse_config(config: Dict[str, Any]) -> Dict[str, Any]:
        return config

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        cls.spam_seen = []
        cls.gate = None

    def _record(self, name: str, *args: Any) -> None:
        MediaProbe.calls.append((name, args))
        if self.config.get("raise_in") == name:
            raise RuntimeError("probe raised in " + name)

    async def is_user_expired(self, user_id: str) -> Optional[bool]:
        self._record("is_user_expired", user_id)
        return None

    async def get_media_config_for_user(self, user_id: str) -> Any:
        self._record("get_media_config_for_user", user_id)
        return self.config.get("media_config")

    async def is_user_allowed_to_upload_media_of_size(self, user_id: str, size: int) -> bool:
        self._record("is_user_allowed_to_upload_media_of_size", user_id, size)
        return size != self.config.get("deny_size")

    async def check_media_file_for_spam(self, file_wrapper: Any, file_info: Any) -> Any:
        existed = os.path.isfile(file_wrapper.path)
        chunks: List[bytes] = []
        await file_wrapper.write_chunks_to(chunks.append)
        MediaProbe.spam_seen.append(
            {"wrapper": file_wrapper, "file_info": file_info, "chunks": chunks, "existed": existed}
        )
        self._record("check_media_file_for_spam", file_wrapper, file_info)
        if MediaProbe.gate is not None:
            await MediaProbe.gate
        marker = self.config.get("spam_marker")
        if marker and marker.encode() in b"".join(chunks):
            if self.config.get("spam_result") == "code":
                return Codes.RESOURCE_LIMIT_EXCEEDED, {"extra": 1}
            return True
        return NOT_SPAM

    async def get_media_upload_limits_for_user(self, user_id: str) -> Any:
        self._record("get_media_upload_limits_for_user", user_id)
        limits = self.config.get("limits")
        if limits is None:
            return None
        return [MediaUploadLimit(**limit) for limit in limits]

    async def on_media_upload_limit_exceeded(
        self, user_id: str, limit: MediaUploadLimit, sent_bytes: int, attempted_bytes: int
    ) -> None:
        self._record("on_media_upload_limit_exceeded", user_id, limit, sent_bytes, attempted_bytes)


def names(calls: List[Tuple[str, Tuple[Any, ...]]]) -> List[str]:
    """The callback names of ``calls``."""
    return [name for name, _ in calls]
