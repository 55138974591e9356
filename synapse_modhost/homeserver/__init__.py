"""The homeserver stand-in: the Matrix APIs real clients call, firing module callbacks.

``HomeServer`` holds the stores and handlers; ``rest`` turns requests into handler
calls; ``named_resources`` gives a listener the resources its ``resources:`` names.
"""

from synapse_modhost.homeserver._hs import HomeServer
from synapse_modhost.homeserver._resources import named_resources

__all__ = ["HomeServer", "named_resources"]
