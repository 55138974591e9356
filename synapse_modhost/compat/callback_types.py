"""The callback type aliases Synapse 1.163 defines in ``synapse.module_api.callbacks.*``.

Modules import them for type hints only; here each is ``Callable[..., Awaitable[Any]]``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Tuple

_Callback = Callable[..., Awaitable[Any]]

#: Synapse module (under ``synapse.module_api.callbacks``) -> the aliases it defines.
CALLBACK_ALIASES: Dict[str, Tuple[str, ...]] = {
    "account_validity_callbacks": (
        "IS_USER_EXPIRED_CALLBACK",
        "ON_USER_REGISTRATION_CALLBACK",
        "ON_USER_LOGIN_CALLBACK",
        "ON_LEGACY_SEND_MAIL_CALLBACK",
        "ON_LEGACY_RENEW_CALLBACK",
        "ON_LEGACY_ADMIN_REQUEST",
    ),
    "federation": ("ON_EVENT_DELIVERED_OVER_FEDERATION_CALLBACK",),
    "media_repository_callbacks": (
        "GET_MEDIA_CONFIG_FOR_USER_CALLBACK",
        "IS_USER_ALLOWED_TO_UPLOAD_MEDIA_OF_SIZE_CALLBACK",
        "GET_MEDIA_UPLOAD_LIMITS_FOR_USER_CALLBACK",
        "ON_MEDIA_UPLOAD_LIMIT_EXCEEDED_CALLBACK",
    ),
    "ratelimit_callbacks": ("GET_RATELIMIT_OVERRIDE_FOR_USER_CALLBACK",),
    "spamchecker_callbacks": (
        "CHECK_EVENT_FOR_SPAM_CALLBACK",
        "SHOULD_DROP_FEDERATED_EVENT_CALLBACK",
        "USER_MAY_JOIN_ROOM_CALLBACK",
        "USER_MAY_INVITE_CALLBACK",
        "FEDERATED_USER_MAY_INVITE_CALLBACK",
        "USER_MAY_SEND_3PID_INVITE_CALLBACK",
        "USER_MAY_CREATE_ROOM_CALLBACK",
        "USER_MAY_CREATE_ROOM_ALIAS_CALLBACK",
        "USER_MAY_PUBLISH_ROOM_CALLBACK",
        "USER_MAY_SEND_STATE_EVENT_CALLBACK",
        "CHECK_USERNAME_FOR_SPAM_CALLBACK",
        "LEGACY_CHECK_REGISTRATION_FOR_SPAM_CALLBACK",
        "CHECK_REGISTRATION_FOR_SPAM_CALLBACK",
        "CHECK_MEDIA_FILE_FOR_SPAM_CALLBACK",
        "CHECK_LOGIN_FOR_SPAM_CALLBACK",
    ),
    "third_party_event_rules_callbacks": (
        "CHECK_EVENT_ALLOWED_CALLBACK",
        "ON_CREATE_ROOM_CALLBACK",
        "CHECK_THREEPID_CAN_BE_INVITED_CALLBACK",
        "CHECK_VISIBILITY_CAN_BE_MODIFIED_CALLBACK",
        "ON_NEW_EVENT_CALLBACK",
        "CHECK_CAN_SHUTDOWN_ROOM_CALLBACK",
        "CHECK_CAN_DEACTIVATE_USER_CALLBACK",
        "ON_PROFILE_UPDATE_CALLBACK",
        "ON_USER_DEACTIVATION_STATUS_CHANGED_CALLBACK",
        "ON_THREEPID_BIND_CALLBACK",
        "ON_ADD_USER_THIRD_PARTY_IDENTIFIER_CALLBACK",
        "ON_REMOVE_USER_THIRD_PARTY_IDENTIFIER_CALLBACK",
    ),
}

globals().update({name: _Callback for names in CALLBACK_ALIASES.values() for name in names})

#: Not a callback: the value a ``user_may_create_room`` callback may return.
USER_MAY_CREATE_ROOM_CALLBACK_RETURN_VALUE = Any
