"""The helper managers ModuleApi exposes (MODULEAPI.md §2), one file each."""

from synapse_modhost.module_api._account_data_manager import AccountDataManager
from synapse_modhost.module_api._public_rooms_manager import PublicRoomListManager

__all__ = ["AccountDataManager", "PublicRoomListManager"]
