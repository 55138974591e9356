"""Matrix constants with the names and values of Synapse 1.163's ``synapse.api.constants``.

Served to modules as ``synapse.api.constants``; host code may use them too.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "APP_SERVICE_REGISTRATION_TYPE",
    "CANONICALJSON_MAX_INT",
    "CANONICALJSON_MIN_INT",
    "CREATOR_POWER_LEVEL",
    "MAIN_TIMELINE",
    "MAX_ALIAS_LENGTH",
    "MAX_DEPTH",
    "MAX_PDU_SIZE",
    "MAX_REQUEST_SIZE",
    "MAX_USERID_LENGTH",
    "AccountDataTypes",
    "ApprovalNoticeMedium",
    "DeviceKeyAlgorithms",
    "Direction",
    "EduTypes",
    "EventContentFields",
    "EventTypes",
    "EventUnsignedContentFields",
    "GuestAccess",
    "HistoryVisibility",
    "JoinRules",
    "LimitBlockingTypes",
    "LoginType",
    "MTextFields",
    "Membership",
    "PresenceState",
    "ProfileFields",
    "PublicRoomsFilterFields",
    "ReceiptTypes",
    "RejectedReason",
    "RelationTypes",
    "RestrictedJoinRuleTypes",
    "RoomCreationPreset",
    "RoomEncryptionAlgorithms",
    "RoomTypes",
    "ServerNoticeLimitReached",
    "ServerNoticeMsgType",
    "ThirdPartyEntityKind",
    "ToDeviceEventTypes",
    "UserTypes",
]

# Sizes and limits.
MAX_PDU_SIZE = 65536
MAX_REQUEST_SIZE = 200 * MAX_PDU_SIZE
CANONICALJSON_MAX_INT = (2**53) - 1
CANONICALJSON_MIN_INT = -CANONICALJSON_MAX_INT
MAX_DEPTH = CANONICALJSON_MAX_INT
MAX_ALIAS_LENGTH = 255
MAX_USERID_LENGTH = 255
MAIN_TIMELINE: Final = "main"
CREATOR_POWER_LEVEL = 2**53

#: ``type`` of an application service's ``/register`` call.
APP_SERVICE_REGISTRATION_TYPE: Final = "m.login.application_service"
ServerNoticeMsgType: Final = "m.server_notice"
ServerNoticeLimitReached: Final = "m.server_notice.usage_limit_reached"


class Membership:
    INVITE: Final = "invite"
    JOIN: Final = "join"
    KNOCK: Final = "knock"
    LEAVE: Final = "leave"
    BAN: Final = "ban"
    LIST: Final = frozenset((INVITE, JOIN, KNOCK, LEAVE, BAN))


class PresenceState:
    OFFLINE: Final = "offline"
    UNAVAILABLE: Final = "unavailable"
    ONLINE: Final = "online"
    BUSY: Final = "org.matrix.msc3026.busy"


class JoinRules:
    PUBLIC: Final = "public"
    KNOCK: Final = "knock"
    INVITE: Final = "invite"
    PRIVATE: Final = "private"
    RESTRICTED: Final = "restricted"
    KNOCK_RESTRICTED: Final = "knock_restricted"


class RestrictedJoinRuleTypes:
    ROOM_MEMBERSHIP: Final = "m.room_membership"


class LoginType:
    PASSWORD: Final = "m.login.password"
    EMAIL_IDENTITY: Final = "m.login.email.identity"
    MSISDN: Final = "m.login.msisdn"
    RECAPTCHA: Final = "m.login.recaptcha"
    TERMS: Final = "m.login.terms"
    SSO: Final = "m.login.sso"
    DUMMY: Final = "m.login.dummy"
    REGISTRATION_TOKEN: Final = "m.login.registration_token"


class EventTypes:
    Member: Final = "m.room.member"
    Create: Final = "m.room.create"
    Tombstone: Final = "m.room.tombstone"
    JoinRules: Final = "m.room.join_rules"
    PowerLevels: Final = "m.room.power_levels"
    Aliases: Final = "m.room.aliases"
    Redaction: Final = "m.room.redaction"
    ThirdPartyInvite: Final = "m.room.third_party_invite"
    RoomHistoryVisibility: Final = "m.room.history_visibility"
    CanonicalAlias: Final = "m.room.canonical_alias"
    Encrypted: Final = "m.room.encrypted"
    RoomAvatar: Final = "m.room.avatar"
    RoomEncryption: Final = "m.room.encryption"
    GuestAccess: Final = "m.room.guest_access"
    Message: Final = "m.room.message"
    Topic: Final = "m.room.topic"
    Name: Final = "m.room.name"
    ServerACL: Final = "m.room.server_acl"
    Pinned: Final = "m.room.pinned_events"
    Retention: Final = "m.room.retention"
    Dummy: Final = "org.matrix.dummy_event"
    SpaceChild: Final = "m.space.child"
    SpaceParent: Final = "m.space.parent"
    Reaction: Final = "m.reaction"
    Sticker: Final = "m.sticker"
    LiveLocationShareStart: Final = "m.beacon_info"
    CallInvite: Final = "m.call.invite"
    PollStart: Final = "m.poll.start"
    RoomPolicy: Final = "m.room.policy"


class ToDeviceEventTypes:
    RoomKeyRequest: Final = "m.room_key_request"


class DeviceKeyAlgorithms:
    ED25519: Final = "ed25519"
    CURVE25519: Final = "curve25519"
    SIGNED_CURVE25519: Final = "signed_curve25519"


class EduTypes:
    PRESENCE: Final = "m.presence"
    TYPING: Final = "m.typing"
    RECEIPT: Final = "m.receipt"
    DEVICE_LIST_UPDATE: Final = "m.device_list_update"
    SIGNING_KEY_UPDATE: Final = "m.signing_key_update"
    UNSTABLE_SIGNING_KEY_UPDATE: Final = "org.matrix.signing_key_update"
    DIRECT_TO_DEVICE: Final = "m.direct_to_device"


class RejectedReason:
    AUTH_ERROR: Final = "auth_error"
    OVERSIZED_EVENT: Final = "oversized_event"


class RoomCreationPreset:
    PRIVATE_CHAT: Final = "private_chat"
    PUBLIC_CHAT: Final = "public_chat"
    TRUSTED_PRIVATE_CHAT: Final = "trusted_private_chat"


class ThirdPartyEntityKind:
    USER: Final = "user"
    LOCATION: Final = "location"


class UserTypes:
    SUPPORT: Final = "support"
    BOT: Final = "bot"
    ALL_BUILTIN_USER_TYPES: Final = (SUPPORT, BOT)


class RelationTypes:
    ANNOTATION: Final = "m.annotation"
    REPLACE: Final = "m.replace"
    REFERENCE: Final = "m.reference"
    THREAD: Final = "m.thread"


class LimitBlockingTypes:
    MONTHLY_ACTIVE_USER: Final = "monthly_active_user"
    HS_DISABLED: Final = "hs_disabled"


class EventContentFields:
    LABELS: Final = "org.matrix.labels"
    SELF_DESTRUCT_AFTER: Final = "org.matrix.self_destruct_after"
    ROOM_TYPE: Final = "type"
    FEDERATE: Final = "m.federate"
    ROOM_CREATOR: Final = "creator"
    ADDITIONAL_CREATORS: Final = "additional_creators"
    ROOM_VERSION: Final = "room_version"
    ROOM_NAME: Final = "name"
    MEMBERSHIP: Final = "membership"
    MEMBERSHIP_DISPLAYNAME: Final = "displayname"
    MEMBERSHIP_AVATAR_URL: Final = "avatar_url"
    GUEST_ACCESS: Final = "guest_access"
    AUTHORISING_USER: Final = "join_authorised_via_users_server"
    MENTIONS: Final = "m.mentions"
    TO_DEVICE_MSGID: Final = "org.matrix.msgid"
    ENCRYPTION_ALGORITHM: Final = "algorithm"
    TOMBSTONE_SUCCESSOR_ROOM: Final = "replacement_room"
    TOPIC: Final = "topic"
    M_TOPIC: Final = "m.topic"
    M_TEXT: Final = "m.text"
    JOIN_RULE: Final = "join_rule"


class EventUnsignedContentFields:
    MEMBERSHIP: Final = "membership"
    STICKY_TTL: Final = "msc4354_sticky_duration_ttl_ms"


class MTextFields:
    BODY: Final = "body"
    MIMETYPE: Final = "mimetype"


class RoomTypes:
    SPACE: Final = "m.space"


class RoomEncryptionAlgorithms:
    MEGOLM_V1_AES_SHA2: Final = "m.megolm.v1.aes-sha2"
    DEFAULT: Final = MEGOLM_V1_AES_SHA2


class AccountDataTypes:
    DIRECT: Final = "m.direct"
    IGNORED_USER_LIST: Final = "m.ignored_user_list"
    TAG: Final = "m.tag"
    PUSH_RULES: Final = "m.push_rules"
    MSC4155_INVITE_PERMISSION_CONFIG: Final = "org.matrix.msc4155.invite_permission_config"
    INVITE_PERMISSION_CONFIG: Final = "m.invite_permission_config"
    SYNAPSE_ADMIN_CLIENT_CONFIG: Final = "io.element.synapse.admin_client_config"


class HistoryVisibility:
    INVITED: Final = "invited"
    JOINED: Final = "joined"
    SHARED: Final = "shared"
    WORLD_READABLE: Final = "world_readable"


class GuestAccess:
    CAN_JOIN: Final = "can_join"
    FORBIDDEN: Final = "forbidden"


class ReceiptTypes:
    READ: Final = "m.read"
    READ_PRIVATE: Final = "m.read.private"
    FULLY_READ: Final = "m.fully_read"


class PublicRoomsFilterFields:
    GENERIC_SEARCH_TERM: Final = "generic_search_term"
    ROOM_TYPES: Final = "room_types"


class ApprovalNoticeMedium:
    NONE = "org.matrix.msc3866.none"
    EMAIL = "org.matrix.msc3866.email"


class Direction(enum.Enum):
    BACKWARDS = "b"
    FORWARDS = "f"


class ProfileFields:
    DISPLAYNAME: Final = "displayname"
    AVATAR_URL: Final = "avatar_url"
