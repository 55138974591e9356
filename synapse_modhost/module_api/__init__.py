"""What modules get from the host: ``ModuleApi`` and the helpers ``synapse.module_api``
exports (MODULEAPI.md §1, §3, §5).

``synapse_modhost.compat`` re-exports these under Synapse's module names. Importing this
package stays light: treq is only imported when the first outbound request is made.
"""

from synapse_modhost.module_api._api import ModuleApi
from synapse_modhost.module_api._background import (
    make_deferred_yieldable,
    run_in_background,
    wrap_as_background_process,
)
from synapse_modhost.module_api._background import (
    module_run_as_background_process as run_as_background_process,
)
from synapse_modhost.module_api._cache import CachedFunction, cached
from synapse_modhost.module_api._http_client import SimpleHttpClient
from synapse_modhost.module_api._managers import AccountDataManager, PublicRoomListManager

__all__ = [
    "AccountDataManager",
    "CachedFunction",
    "ModuleApi",
    "PublicRoomListManager",
    "SimpleHttpClient",
    "cached",
    "make_deferred_yieldable",
    "run_as_background_process",
    "run_in_background",
    "wrap_as_background_process",
]
