"""The homeserver stand-in: the Matrix APIs that real clients call and that fire callbacks.

Today it serves the resource groups a listener names (``client``, ``media``, ...) with the
endpoints the host itself needs; the Client-Server, media and admin APIs grow here.
"""

from synapse_modhost.homeserver._resources import named_resources

__all__ = ["named_resources"]
