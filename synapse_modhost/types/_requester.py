"""Who made a request: ``Requester`` and ``create_requester``."""

from __future__ import annotations

from typing import Any, Collection, Dict, FrozenSet, Mapping, Optional, Union

import attr

from synapse_modhost.types._ids import UserID

__all__ = ["Requester", "create_requester"]


@attr.s(frozen=True, slots=True, auto_attribs=True, repr=False)
class Requester:
    """Who made a request; read-only, as Synapse's."""

    user: UserID
    access_token_id: Optional[int] = None
    is_guest: bool = False
    scope: FrozenSet[str] = frozenset()
    shadow_banned: bool = False
    device_id: Optional[str] = None
    app_service_id: Optional[str] = None
    authenticated_entity: str = ""

    @property
    def user_id(self) -> str:
        return self.user.to_string()

    def serialize(self) -> Dict[str, Any]:
        return {
            "user_id": self.user.to_string(),
            "access_token_id": self.access_token_id,
            "is_guest": self.is_guest,
            "scope": sorted(self.scope),
            "shadow_banned": self.shadow_banned,
            "device_id": self.device_id,
            "app_server_id": self.app_service_id,
            "authenticated_entity": self.authenticated_entity,
        }

    @staticmethod
    def deserialize(input: Mapping[str, Any]) -> "Requester":
        return create_requester(
            input["user_id"],
            access_token_id=input.get("access_token_id"),
            is_guest=input.get("is_guest", False),
            scope=input.get("scope", ()),
            shadow_banned=input.get("shadow_banned", False),
            device_id=input.get("device_id"),
            authenticated_entity=input.get("authenticated_entity"),
        )

    def __repr__(self) -> str:
        def opt(v: Any) -> str:
            return "None" if v is None else "Some(%s)" % (
                '"%s"' % v if isinstance(v, str) else v
            )

        return (
            "Requester(user_id=%s, access_token_id=%s, is_guest=%s, scope={%s}, "
            "shadow_banned=%s, device_id=%s, app_service_id=%s, authenticated_entity=%s)"
            % (
                self.user_id,
                opt(self.access_token_id),
                str(self.is_guest).lower(),
                ", ".join('"%s"' % x for x in sorted(self.scope)),
                str(self.shadow_banned).lower(),
                opt(self.device_id),
                opt(self.app_service_id),
                self.authenticated_entity,
            )
        )


def create_requester(
    user_id: Union[str, UserID],
    access_token_id: Optional[int] = None,
    is_guest: bool = False,
    scope: Collection[str] = (),
    shadow_banned: bool = False,
    device_id: Optional[str] = None,
    app_service: Any = None,
    authenticated_entity: Optional[str] = None,
) -> Requester:
    """Build a ``Requester``; ``authenticated_entity`` defaults to the user id."""
    if not isinstance(user_id, UserID):
        user_id = UserID.from_string(user_id)
    return Requester(
        user=user_id,
        access_token_id=access_token_id,
        is_guest=is_guest,
        scope=frozenset(scope),
        shadow_banned=shadow_banned,
        device_id=device_id,
        app_service_id=getattr(app_service, "id", None),
        authenticated_entity=(
            user_id.to_string() if authenticated_entity is None else authenticated_entity
        ),
    )
