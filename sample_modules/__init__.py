"""Sample Synapse modules, written for this project from the examples in Synapse's docs.

Each one is a plain Synapse module: it imports ``synapse.*`` and runs unchanged on
Synapse and on synapse-modhost. ``homeserver.yaml.example`` loads them all.
"""
