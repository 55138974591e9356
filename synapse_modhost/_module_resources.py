"""The web resources modules register, with Synapse's first-wins and too-late rules."""

from __future__ import annotations

import logging
from typing import Dict, List, Tuple

from twisted.web.resource import IResource

__all__ = ["ModuleWebResources", "UNREACHABLE_PREFIXES"]

logger = logging.getLogger("synapse_modhost.web_resources")

#: Synapse serves these prefixes with leaf JSON resources: a module path below one of
#: them is never reached (LOADING.md §4.4).
UNREACHABLE_PREFIXES = (
    "/_matrix/client/",
    "/_synapse/admin/",
    "/_matrix/media/r0/",
    "/_matrix/media/v3/",
    "/_matrix/media/v1/",
    "/_matrix/federation/",
    "/_matrix/key/",
)


class ModuleWebResources:
    """Paths registered by modules, in registration order; consumed once listeners exist."""

    def __init__(self) -> None:
        self._resources: Dict[str, Tuple[IResource, str]] = {}
        self._consumed = False
        #: module-misuse warnings, for ``--strict`` and the startup summary
        self.problems: List[str] = []

    def register(self, path: str, resource: IResource, module: str) -> None:
        """Record ``resource`` at ``path`` for ``module``.

        Raises ``RuntimeError`` once listeners are built. A path registered twice keeps
        the first resource and logs a warning naming both modules, as Synapse keeps the
        first (its warning names neither).
        """
        if self._consumed:
            raise RuntimeError("Tried to register a web resource from a module after startup")
        if path in self._resources:
            first = self._resources[path][1]
            problem = (
                "Module %s tried to register a web resource for path %s but module %s has "
                "already registered a resource for this path; the first registration is kept."
                % (module, path, first)
            )
            logger.warning(
                "Module tried to register a web resource for path %s but another module "
                "has already registered a resource for this path. (%s)",
                path,
                problem,
            )
            self.problems.append(problem)
            return
        for prefix in UNREACHABLE_PREFIXES:
            if path.startswith(prefix) and (path + "/").startswith(prefix):
                problem = (
                    "Module %s registered a web resource at %s, below %s, which Synapse "
                    "serves with a leaf resource: requests there never reach the module "
                    "(mount it under /_synapse/client/ instead)." % (module, path, prefix.rstrip("/"))
                )
                logger.warning("%s", problem)
                self.problems.append(problem)
                break
        self._resources[path] = (resource, module)

    def items(self) -> List[Tuple[str, IResource, str]]:
        """(path, resource, module) in registration order."""
        return [(p, r, m) for p, (r, m) in self._resources.items()]

    def consume(self) -> Dict[str, IResource]:
        """The path → resource mapping; later registrations raise ``RuntimeError``."""
        self._consumed = True
        return {p: r for p, (r, _) in self._resources.items()}

    @property
    def consumed(self) -> bool:
        return self._consumed
