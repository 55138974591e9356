"""Per-user media rules: a smaller upload size for some users and a daily quota.

Config::

    small_uploaders: ["@guest:example.com"]   # these users may upload at most small_size
    small_size: 1048576
    daily_quota: 10485760                     # bytes per user per day (0: no quota)
    upgrade_uri: https://example.com/upgrade

Serves ``GET /_synapse/client/media_limits/exceeded`` listing who hit their quota.
"""

from typing import Any, Dict, List, Optional, Tuple

from synapse.http.server import DirectServeJsonResource
from synapse.http.site import SynapseRequest
from synapse.module_api import MediaUploadLimit, ModuleApi

DAY_MS = 24 * 60 * 60 * 1000


class ExceededResource(DirectServeJsonResource):
    def __init__(self, module: "MediaLimits"):
        super().__init__()
        self.module = module

    async def _async_render_GET(self, request: SynapseRequest) -> Tuple[int, Dict[str, Any]]:
        return 200, {"exceeded": self.module.exceeded}


class MediaLimits:
    def __init__(self, config: Dict[str, Any], api: ModuleApi):
        self.api = api
        self.small_uploaders: List[str] = list(config.get("small_uploaders") or [])
        self.small_size = int(config.get("small_size", 1024 * 1024))
        self.daily_quota = int(config.get("daily_quota", 0))
        self.upgrade_uri: Optional[str] = config.get("upgrade_uri")
        self.exceeded: List[Dict[str, Any]] = []
        api.register_media_repository_callbacks(
            get_media_config_for_user=self.get_media_config_for_user,
            is_user_allowed_to_upload_media_of_size=self.is_user_allowed_to_upload_media_of_size,
            get_media_upload_limits_for_user=self.get_media_upload_limits_for_user,
            on_media_upload_limit_exceeded=self.on_media_upload_limit_exceeded,
        )
        api.register_web_resource(
            path="/_synapse/client/media_limits/exceeded", resource=ExceededResource(self)
        )

    async def get_media_config_for_user(self, user_id: str) -> Optional[Dict[str, Any]]:
        if user_id in self.small_uploaders:
            return {"m.upload.size": self.small_size}
        return None  # the server's default

    async def is_user_allowed_to_upload_media_of_size(self, user_id: str, size: int) -> bool:
        return user_id not in self.small_uploaders or size <= self.small_size

    async def get_media_upload_limits_for_user(
        self, user_id: str
    ) -> Optional[List[MediaUploadLimit]]:
        if not self.daily_quota:
            return None  # the server's media_upload_limits
        return [
            MediaUploadLimit(
                max_bytes=self.daily_quota,
                time_period_ms=DAY_MS,
                info_uri=self.upgrade_uri,
                can_upgrade=self.upgrade_uri is not None,
            )
        ]

    async def on_media_upload_limit_exceeded(
        self, user_id: str, limit: MediaUploadLimit, sent_bytes: int, attempted_bytes: int
    ) -> None:
        self.exceeded.append(
            {
                "user_id": user_id,
                "max_bytes": limit.max_bytes,
                "sent_bytes": sent_bytes,
                "attempted_bytes": attempted_bytes,
            }
        )
