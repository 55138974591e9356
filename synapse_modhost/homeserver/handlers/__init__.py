"""The stand-in's handlers: rules, callbacks in Synapse's order, then storage.

Handlers never touch HTTP objects; ``homeserver/rest`` parses requests and calls them,
and ``ModuleApi`` calls the same handlers.
"""
