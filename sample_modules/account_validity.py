"""Accounts that expire a fixed time after registration, unless renewed.

Config::

    period: 30d            # how long an account stays valid (ms as an int, or 1h, 7d, ...)
    expired_users: []      # users who count as expired from the start

Serves ``GET /_synapse/client/account_validity/status?user=@x:y`` →
``{"user_id": ..., "expires_at": ms|null, "expired": bool}``.
"""

from typing import Any, Dict, List, Optional, Tuple

from synapse.config._base import Config
from synapse.http.server import DirectServeJsonResource
from synapse.http.servlet import parse_string
from synapse.http.site import SynapseRequest
from synapse.module_api import ModuleApi


class StatusResource(DirectServeJsonResource):
    def __init__(self, module: "AccountValidity"):
        super().__init__()
        self.module = module

    async def _async_render_GET(self, request: SynapseRequest) -> Tuple[int, Dict[str, Any]]:
        user_id = parse_string(request, "user", required=True)
        assert user_id is not None
        return 200, {
            "user_id": user_id,
            "expires_at": self.module.expires_at.get(user_id),
            "expired": bool(await self.module.is_user_expired(user_id)),
        }


class AccountValidity:
    def __init__(self, config: Dict[str, Any], api: ModuleApi):
        self.api = api
        self.period_ms: int = config["period_ms"]
        self.expired_users: List[str] = config["expired_users"]
        self.expires_at: Dict[str, int] = {}
        api.register_account_validity_callbacks(
            is_user_expired=self.is_user_expired,
            on_user_registration=self.on_user_registration,
        )
        api.register_web_resource(
            path="/_synapse/client/account_validity/status", resource=StatusResource(self)
        )

    @staticmethod
    def parse_config(config: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "period_ms": Config.parse_duration(config.get("period", "30d")),
            "expired_users": list(config.get("expired_users") or []),
        }

    async def is_user_expired(self, user_id: str) -> Optional[bool]:
        if user_id in self.expired_users:
            return True
        expires_at = self.expires_at.get(user_id)
        if expires_at is None:
            return None  # not ours to decide: let other modules or the server answer
        return self.api.get_current_time_msec() >= expires_at

    async def on_user_registration(self, user_id: str) -> None:
        self.expires_at[user_id] = self.api.get_current_time_msec() + self.period_ms
